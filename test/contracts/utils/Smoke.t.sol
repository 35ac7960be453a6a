// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./Test.sol";

contract CheatcodeSmokeTest is Test {
    error Boom(uint256 x);

    function boom(uint256 x) external pure {
        revert Boom(x);
    }

    function test_cheatcodes_warpPrankExpectRevert_work() public {
        vm.warp(1000);
        assertEq(block.timestamp, 1000, "warp");
        address alice = makeAddr("alice");
        vm.prank(alice);
        (bool ok, ) = address(this).call(abi.encodeCall(this.whoami, ()));
        assertTrue(ok, "call");
        vm.expectRevert(abi.encodeWithSelector(Boom.selector, 7));
        this.boom(7);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(1, keccak256("x"));
        assertEq(ecrecover(keccak256("x"), v, r, s), vm.addr(1), "sign");
    }

    function whoami() external view returns (address) {
        return msg.sender;
    }

    function test_bound_staysInRange(uint256 x, uint256 lo, uint256 span) public pure {
        lo = lo % 1e30;
        span = span % 1e30;
        uint256 b = bound(x, lo, lo + span);
        assertGe(b, lo, "lo");
        assertLe(b, lo + span, "hi");
    }
}
