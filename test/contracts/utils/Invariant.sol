// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @notice The part of forge-std's StdInvariant that Hardhat 3's runner (EDR) reads: it calls
/// `targetContracts()` and `targetSelectors()` on the test contract to decide what to fuzz.
abstract contract Invariant {
    /// @notice Same layout as forge-std's FuzzSelector (the runner decodes this ABI).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}
