// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {CoreFixture} from "../helpers/CoreFixture.sol";

contract ProtocolAccessTest is CoreFixture {
    function test_pause_pauser_pauses() public {
        address pauser = makeAddr("pauser");
        vm.startPrank(admin);
        staking.grantRole(staking.PAUSER_ROLE(), pauser);
        vm.stopPrank();
        vm.prank(pauser);
        staking.pause();
        assertTrue(staking.paused(), "paused");
    }

    function test_pause_notPauser_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, staking.PAUSER_ROLE())
        );
        vm.prank(bob);
        staking.pause();
    }

    function test_unpause_pauserOnly_reverts() public {
        address pauser = makeAddr("pauser");
        vm.startPrank(admin);
        staking.grantRole(staking.PAUSER_ROLE(), pauser);
        staking.pause();
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                pauser,
                staking.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(pauser);
        staking.unpause();
    }

    function test_unpause_admin_resumes() public {
        vm.startPrank(admin);
        staking.pause();
        staking.unpause();
        vm.stopPrank();
        assertFalse(staking.paused(), "resumed");
        _stake(alice, 1e18);
    }

    function test_unpause_notPaused_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Pausable.ExpectedPause.selector));
        vm.prank(admin);
        staking.unpause();
    }

    function test_defaultAdmin_twoStepWithDelay_transfers() public {
        vm.prank(admin);
        staking.beginDefaultAdminTransfer(bob);
        vm.warp(block.timestamp + staking.ADMIN_TRANSFER_DELAY_SECONDS() + 1);
        vm.prank(bob);
        staking.acceptDefaultAdminTransfer();
        assertEq(staking.defaultAdmin(), bob, "new admin");
        assertEq(staking.owner(), bob, "owner view");
    }

    function test_defaultAdmin_acceptBeforeDelay_reverts() public {
        vm.prank(admin);
        staking.beginDefaultAdminTransfer(bob);
        vm.expectRevert();
        vm.prank(bob);
        staking.acceptDefaultAdminTransfer();
    }
}
