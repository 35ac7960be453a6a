// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Vm} from "./Vm.sol";

/// @notice Minimal test base: the cheatcode handle, assertions that revert with the values that
/// explain them, and `bound` (the forge-std algorithm, so fuzz inputs keep their spread).
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what);
    error AssertionEqUint(uint256 left, uint256 right, string what);
    error AssertionEqInt(int256 left, int256 right, string what);
    error AssertionEqAddress(address left, address right, string what);
    error AssertionEqBytes32(bytes32 left, bytes32 right, string what);
    error AssertionEqBytes(bytes left, bytes right, string what);
    error AssertionCmp(uint256 left, uint256 right, string op, string what);
    error AssertionApprox(uint256 left, uint256 right, uint256 maxDelta, string what);

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }

    function assertFalse(bool condition, string memory what) internal pure {
        if (condition) revert AssertionFailed(what);
    }

    function assertEq(uint256 left, uint256 right, string memory what) internal pure {
        if (left != right) revert AssertionEqUint(left, right, what);
    }

    function assertEq(int256 left, int256 right, string memory what) internal pure {
        if (left != right) revert AssertionEqInt(left, right, what);
    }

    function assertEq(address left, address right, string memory what) internal pure {
        if (left != right) revert AssertionEqAddress(left, right, what);
    }

    function assertEq(bytes32 left, bytes32 right, string memory what) internal pure {
        if (left != right) revert AssertionEqBytes32(left, right, what);
    }

    function assertEq(bool left, bool right, string memory what) internal pure {
        if (left != right) revert AssertionFailed(what);
    }

    function assertEq(bytes memory left, bytes memory right, string memory what) internal pure {
        if (keccak256(left) != keccak256(right)) revert AssertionEqBytes(left, right, what);
    }

    function assertEq(string memory left, string memory right, string memory what) internal pure {
        if (keccak256(bytes(left)) != keccak256(bytes(right))) {
            revert AssertionEqBytes(bytes(left), bytes(right), what);
        }
    }

    function assertLe(uint256 left, uint256 right, string memory what) internal pure {
        if (left > right) revert AssertionCmp(left, right, "<=", what);
    }

    function assertLt(uint256 left, uint256 right, string memory what) internal pure {
        if (left >= right) revert AssertionCmp(left, right, "<", what);
    }

    function assertGe(uint256 left, uint256 right, string memory what) internal pure {
        if (left < right) revert AssertionCmp(left, right, ">=", what);
    }

    function assertGt(uint256 left, uint256 right, string memory what) internal pure {
        if (left <= right) revert AssertionCmp(left, right, ">", what);
    }

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string memory what) internal pure {
        uint256 delta = left > right ? left - right : right - left;
        if (delta > maxDelta) revert AssertionApprox(left, right, maxDelta, what);
    }

    /// @dev forge-std's `bound`: maps x into [min, max] keeping small values and edges likely.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256 result) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (x <= 3 && size > x) return min + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return max - (type(uint256).max - x);
        if (x > max) {
            uint256 diff = x - max;
            uint256 rem = diff % size;
            if (rem == 0) return max;
            result = min + rem - 1;
        } else {
            uint256 diff = min - x;
            uint256 rem = diff % size;
            if (rem == 0) return min;
            result = max - rem + 1;
        }
    }

    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }
}
