// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC20 that, once armed, calls `target` with `data` in the middle of every
/// transfer (before balances move), recording whether the reentrant call succeeded.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public data;
    bool public armed;
    bool public lastCallSucceeded;
    bytes public lastReturnData;
    uint256 public reentries;

    constructor() ERC20("Reentrant", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
        armed = true;
    }

    function disarm() external {
        armed = false;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (armed && from != address(0) && to != address(0)) {
            armed = false;
            ++reentries;
            // solhint-disable-next-line avoid-low-level-calls
            (lastCallSucceeded, lastReturnData) = target.call(data);
        }
        super._update(from, to, value);
    }
}
