// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {CommitteeFixture} from "./CommitteeFixture.sol";
import {ValidatorRewards} from "../../../contracts/committee/ValidatorRewards.sol";
import {IValidatorRewards} from "../../../contracts/interfaces/IValidatorRewards.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

/// @notice Canary leaves audit validators: a diligent one (checks every leaf it samples) and a
/// lazy one (challenges nothing) over 8 canaries.
contract ValidatorRewardsTest is CommitteeFixture {
    uint256 internal constant EPOCH = 1 days;
    ValidatorRewards internal rewards;
    address internal canaryOp;
    address internal depositor;
    address internal diligent;
    address internal lazy;

    function setUp() public override {
        super.setUp();
        canaryOp = makeAddr("canaryOp");
        depositor = makeAddr("depositor");
        diligent = validators[0];
        lazy = validators[1];
        vm.startPrank(admin);
        rewards = new ValidatorRewards(admin, token, game, EPOCH, 4, 5, 1 hours);
        rewards.grantRole(rewards.CANARY_ROLE(), canaryOp);
        rewards.grantRole(rewards.FEE_DEPOSITOR_ROLE(), depositor);
        vm.stopPrank();
        token.faucet(depositor, 1_000e18);
        vm.prank(depositor);
        token.approve(address(rewards), type(uint256).max);
        token.faucet(diligent, 100e18);
        vm.prank(diligent);
        token.approve(address(game), type(uint256).max);
    }

    function _challengeAs(
        address who,
        uint256 batchId,
        IBatchSettlement.BatchHeader memory h,
        uint32 i,
        uint8 kind,
        Encodings.Leaf[] memory ls
    ) internal {
        bytes32 salt = keccak256(abi.encode(who, batchId, i));
        uint96 slot = _nextSlot++;
        _fundSlot(who, slot);
        vm.prank(who);
        game.commitChallenge(slot, Encodings.challengeCommitment(batchId, i, kind, who, salt));
        vm.prank(who);
        game.revealChallenge(slot, batchId, h, i, kind, salt);
        // The canary operator's node answers, which records a wrong-output challenger per leaf.
        game.respondToChallenge(game.challengeIdOf(who, slot), batchId, h, ls[i], _proof(ls, i), _data(i));
    }

    function test_canaries_catchLazyValidator() public {
        vm.prank(depositor);
        rewards.fund(0, 80e18);
        // 8 canary batches (leaf 1 of each is the canary) plus 8 decoy commitments.
        bytes32[] memory cs = new bytes32[](16);
        uint256[] memory ids = new uint256[](8);
        IBatchSettlement.BatchHeader[] memory hs = new IBatchSettlement.BatchHeader[](8);
        Encodings.Leaf[][] memory lss = new Encodings.Leaf[][](8);
        for (uint256 k; k < 8; ++k) {
            lss[k] = _leaves(4, 2);
            (ids[k], hs[k]) = _commit(lss[k]);
            cs[2 * k] = rewards.canaryCommitment(ids[k], 1, bytes32(k));
            cs[2 * k + 1] = keccak256(abi.encode("decoy", k));
        }
        vm.prank(canaryOp);
        rewards.plantCanaries(cs);
        // The diligent validator samples and catches 6 of 8; the lazy one never checks.
        for (uint256 k; k < 6; ++k) _challengeAs(diligent, ids[k], hs[k], 1, Encodings.CHALLENGE_WRONG_OUTPUT, lss[k]);
        // A data challenge does not prove the output was checked.
        _challengeAs(diligent, ids[6], hs[6], 1, Encodings.CHALLENGE_DATA, lss[6]);
        vm.prank(canaryOp);
        vm.expectRevert(
            abi.encodeWithSelector(
                IValidatorRewards.ValidatorRewardsCanaryTooEarly.selector,
                cs[0],
                block.timestamp + 1 hours
            )
        );
        rewards.revealCanary(ids[0], 1, bytes32(uint256(0)));
        vm.warp(block.timestamp + 1 hours);
        for (uint256 k; k < 8; ++k) {
            vm.prank(canaryOp);
            address catcher = rewards.revealCanary(ids[k], 1, bytes32(k));
            assertEq(catcher, k < 6 ? diligent : address(0), "catcher");
        }
        (uint256 revealed, uint256 caught, uint256 missed) = rewards.canaryStats();
        assertEq(revealed, 8, "revealed");
        assertEq(caught, 6, "caught");
        assertEq(missed, 2, "missed");
        assertTrue(rewards.isLapsed(lazy), "the lazy validator is visible");
        assertFalse(rewards.isLapsed(diligent), "the diligent one is not");
        (uint256 catches, uint256 lastAt) = rewards.catchesOf(diligent);
        assertEq(catches, 6, "catches");
        assertEq(lastAt, 6, "last catch at canary 6");
        vm.warp(block.timestamp + EPOCH);
        vm.prank(lazy);
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsNothingToClaim.selector, 0, lazy));
        rewards.claim(0);
        vm.prank(diligent);
        assertEq(rewards.claim(0), 80e18, "the whole stream goes to verified work");
        vm.prank(diligent);
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsAlreadyClaimed.selector, 0, diligent));
        rewards.claim(0);
        // A decoy or a repeat reveal is unknown.
        vm.prank(canaryOp);
        vm.expectRevert();
        rewards.revealCanary(ids[0], 1, bytes32(uint256(0)));
    }

    function test_stream_sharedByCatches() public {
        address other = validators[2];
        token.faucet(other, 100e18);
        vm.prank(other);
        token.approve(address(game), type(uint256).max);
        vm.prank(depositor);
        rewards.fund(0, 30e18);
        bytes32[] memory cs = new bytes32[](3);
        uint256[] memory ids = new uint256[](3);
        for (uint256 k; k < 3; ++k) {
            IBatchSettlement.BatchHeader memory h;
            Encodings.Leaf[] memory ls = _leaves(2, 1);
            (ids[k], h) = _commit(ls);
            cs[k] = rewards.canaryCommitment(ids[k], 0, bytes32(k));
            _challengeAs(k < 2 ? diligent : other, ids[k], h, 0, Encodings.CHALLENGE_WRONG_OUTPUT, ls);
        }
        vm.startPrank(canaryOp);
        rewards.plantCanaries(cs);
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsCanaryExists.selector, cs[0]));
        rewards.plantCanaries(cs);
        vm.warp(block.timestamp + 1 hours);
        for (uint256 k; k < 3; ++k) rewards.revealCanary(ids[k], 0, bytes32(k));
        vm.stopPrank();
        assertEq(rewards.pointsOf(0, diligent), 2, "points");
        vm.prank(diligent);
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsEpochNotEnded.selector, 0, 0));
        rewards.claim(0);
        vm.warp(block.timestamp + EPOCH);
        vm.prank(diligent);
        assertEq(rewards.claim(0), 20e18, "two thirds");
        vm.warp(block.timestamp + 4 * EPOCH);
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsClaimExpired.selector, 0, 4));
        rewards.claim(0);
        assertEq(rewards.sweep(0), 10e18, "unclaimed swept forward");
        assertEq(rewards.epochOf(rewards.currentEpoch()).pool, 10e18, "into the current epoch");
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsNotSweepable.selector, 0));
        rewards.sweep(0);
    }

    function test_fund_sweepEmpty_params() public {
        vm.prank(depositor);
        vm.expectRevert(IValidatorRewards.ValidatorRewardsZeroAmount.selector);
        rewards.fund(0, 0);
        vm.prank(depositor);
        rewards.fund(0, 5e18);
        vm.warp(block.timestamp + EPOCH);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsPastEpoch.selector, 0, 1));
        rewards.fund(0, 1);
        assertEq(rewards.sweep(0), 5e18, "no catches: swept at once");
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsNotSweepable.selector, 1));
        rewards.sweep(1);
        vm.startPrank(admin);
        rewards.setParameter("lapseCanaries", 10);
        rewards.setParameter("claimWindowEpochs", 2);
        rewards.setParameter("minRevealDelay", 0);
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsUnknownParameter.selector, bytes32("x"))
        );
        rewards.setParameter("x", 1);
        vm.stopPrank();
        assertEq(rewards.lapseCanaries(), 10, "set");
        assertEq(rewards.canaryOf(bytes32(0)).plantedAt, 0, "none");
        vm.expectRevert(abi.encodeWithSelector(IValidatorRewards.ValidatorRewardsBadEpochLength.selector, 0));
        new ValidatorRewards(admin, token, game, 0, 4, 5, 0);
    }
}
