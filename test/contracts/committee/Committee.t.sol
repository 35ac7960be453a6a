// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {CommitteeFixture} from "./CommitteeFixture.sol";
import {Committee} from "../../../contracts/committee/Committee.sol";
import {ICommittee} from "../../../contracts/interfaces/ICommittee.sol";
import {IChallengeGame} from "../../../contracts/interfaces/IChallengeGame.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {IProtocolAccess} from "../../../contracts/interfaces/IProtocolAccess.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

interface VmBlockhash {
    function setBlockhash(uint256 blockNumber, bytes32 blockHash) external;
}

contract CommitteeTest is CommitteeFixture {
    // ------------------------------------------------------------------ deployment and randomness

    function test_constructor_zeroPrevrandao_reverts() public {
        vm.prevrandao(bytes32(0));
        vm.expectRevert();
        new Committee(admin, token, game, staking, treasury, _defaultParams());
    }

    function test_constructor_constantBlockhash_reverts() public {
        VmBlockhash(address(vm)).setBlockhash(block.number - 1, bytes32(uint256(7)));
        VmBlockhash(address(vm)).setBlockhash(block.number - 2, bytes32(uint256(7)));
        vm.expectRevert(
            abi.encodeWithSelector(
                ICommittee.CommitteeWeakRandomness.selector,
                bytes32(uint256(7)),
                bytes32(uint256(7)),
                block.prevrandao
            )
        );
        new Committee(admin, token, game, staking, treasury, _defaultParams());
    }

    function test_constructor_genesisBlock_reverts() public {
        vm.roll(1);
        vm.expectRevert();
        new Committee(admin, token, game, staking, treasury, _defaultParams());
    }

    function test_constructor_simulatorHasVaryingBlockhashes() public view {
        // Hardhat's simulator: consecutive blockhashes differ and are non-zero (what the check needs).
        assertTrue(blockhash(block.number - 1) != blockhash(block.number - 2), "vary");
        assertTrue(blockhash(block.number - 1) != 0, "non-zero");
        assertEq(address(committee.game()), address(game), "deployed in setUp");
    }

    function test_constructor_evenSize_reverts() public {
        ICommittee.Params memory p = _defaultParams();
        p.committeeSize = 4;
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeSizeNotOdd.selector, bytes32("committeeSize"), 4));
        new Committee(admin, token, game, staking, treasury, p);
    }

    // ------------------------------------------------------------------ open and draw

    function test_openDispute_onlyGame_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeOnlyGame.selector, address(this)));
        committee.openDispute(1, 1, 0, node, validator, MODEL_A, bytes32(0), PROFILE);
    }

    function test_openDispute_fixesTargetAndFee() public {
        uint256 id = _open();
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(d.node, node, "node");
        assertEq(d.challenger, validator, "challenger");
        assertEq(d.fee, FEE, "fee = committee share of the bond");
        assertEq(d.maxRound, MAX_APPEALS, "max round");
        ICommittee.Round memory rd = committee.roundOf(id, 0);
        assertEq(rd.targetBlock, block.number + DELAY_BLOCKS, "target");
        assertEq(rd.nominalSize, SIZE, "size");
        assertEq(rd.bond, VOTE_BOND, "bond");
        assertEq(rd.weightAtTarget, staking.totalValidatorWeight(MODEL_A), "weight recorded");
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Drawing), "drawing");
    }

    function test_draw_beforeTarget_reverts() public {
        uint256 id = _open();
        uint256 target = committee.roundOf(id, 0).targetBlock;
        vm.roll(target);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeTargetNotReached.selector, id, target, target));
        committee.draw(id);
    }

    function test_draw_seatsDistinctEligibleMembersAndLocksBonds() public {
        uint256 id = _open();
        address[] memory members = _draw(id);
        assertEq(members.length, SIZE, "size");
        for (uint256 i; i < members.length; ++i) {
            assertTrue(members[i] != node && members[i] != validator, "parties excluded");
            assertTrue(staking.isValidatorFor(members[i], MODEL_A), "declared the model");
            assertEq(staking.lockedOf(members[i]), VOTE_BOND, "bond locked");
            for (uint256 j; j < i; ++j) assertTrue(members[i] != members[j], "no duplicates");
        }
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Commit), "commit phase");
        vm.expectRevert();
        committee.draw(id); // drawn once
    }

    function testFuzz_draw_anySeed_neverSeatsParties(bytes32 seed) public {
        uint256 id = _open();
        uint256 target = committee.roundOf(id, 0).targetBlock;
        vm.roll(target + 1);
        VmBlockhash(address(vm)).setBlockhash(target, seed == 0 ? bytes32(uint256(1)) : seed);
        committee.draw(id);
        address[] memory members = committee.membersOf(id, 0);
        assertEq(members.length % 2, 1, "odd");
        for (uint256 i; i < members.length; ++i) {
            assertTrue(members[i] != node && members[i] != validator, "parties excluded");
            for (uint256 j; j < i; ++j) assertTrue(members[i] != members[j], "no duplicates");
        }
    }

    function test_draw_after256Blocks_retargets() public {
        uint256 id = _open();
        uint256 oldTarget = committee.roundOf(id, 0).targetBlock;
        vm.roll(oldTarget + 300); // blockhash(oldTarget) is gone
        vm.recordLogs();
        committee.draw(id);
        ICommittee.Round memory rd = committee.roundOf(id, 0);
        assertEq(rd.targetBlock, block.number + DELAY_BLOCKS, "new future target");
        assertEq(rd.size, 0, "nothing drawn");
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Drawing), "still drawing");
        assertEq(committee.disputeOf(id).redraws, 0, "a stale seed is not a redraw");
        address[] memory members = _draw(id);
        assertEq(members.length, SIZE, "drawn from the new target");
    }

    function test_draw_paused_reverts() public {
        uint256 id = _open();
        vm.prank(admin);
        committee.pause();
        _rollPastTarget(id);
        vm.expectRevert();
        committee.draw(id);
    }

    function test_draw_tooFewValidators_retargetsThenNeutral() public {
        // Only two validators besides the parties remain: fewer than MIN_SIZE.
        for (uint256 i = 2; i < validators.length; ++i) {
            vm.prank(validators[i]);
            staking.undeclareModel(MODEL_A);
        }
        uint256 id = _open();
        _rollPastTarget(id);
        committee.draw(id);
        assertEq(committee.disputeOf(id).redraws, 1, "one redraw");
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Drawing), "retargeted");
        uint256 nodeStake = staking.activeStakeOf(node);
        _rollPastTarget(id);
        committee.draw(id);
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(uint256(d.outcome), uint256(ICommittee.Outcome.Neutral), "neutral");
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Resolved), "resolved");
        // Neutral: the node is not slashed, keeps the bond less the committee share, and the
        // challenger gets the committee share back: the dispute cost it what a data challenge costs.
        assertEq(staking.activeStakeOf(node), nodeStake, "no slash");
        assertEq(game.creditOf(node), BOND - FEE, "node compensated for its response");
        assertEq(committee.creditOf(validator), FEE, "committee share refunded to the challenger");
        assertEq(
            uint256(game.challengeOf(d.challengeId).status),
            uint256(IChallengeGame.ChallengeStatus.Cleared),
            "cleared"
        );
        _assertCommitteeBooks();
        vm.prank(validator);
        committee.withdrawCredits();
        _assertCommitteeBooks();
    }

    function test_draw_noValidatorsAtAll_neutral() public {
        for (uint256 i; i < validators.length; ++i) {
            vm.prank(validators[i]);
            staking.undeclareModel(MODEL_A);
        }
        vm.prank(node);
        staking.undeclareModel(MODEL_A);
        vm.prank(validator);
        staking.undeclareModel(MODEL_A);
        uint256 id = _open();
        _rollPastTarget(id);
        committee.draw(id);
        _rollPastTarget(id);
        committee.draw(id);
        assertEq(uint256(committee.disputeOf(id).outcome), uint256(ICommittee.Outcome.Neutral), "neutral");
    }

    function test_draw_fourEligible_seatsThree() public {
        for (uint256 i = 4; i < validators.length; ++i) {
            vm.prank(validators[i]);
            staking.undeclareModel(MODEL_A);
        }
        // Several seeds: a committee of 3 (odd) whenever 3 or 4 distinct members were found.
        uint256 id = _open();
        address[] memory members = _draw(id);
        ICommittee.Round memory rd = committee.roundOf(id, 0);
        if (rd.size == 0) {
            members = _draw(id); // the one redraw
        }
        assertEq(members.length, 3, "largest odd number found");
    }

    function test_draw_memberWithoutFreeStake_skipped() public {
        // Lock all stake of members 0..9 elsewhere: they cannot post a vote bond, so they never sit.
        for (uint256 i; i < 10; ++i) _lock(validators[i], VALIDATOR_STAKE);
        uint256 id = _open();
        address[] memory members = _draw(id);
        if (members.length == 0) members = _draw(id); // the one redraw
        assertEq(members.length, 3, "the four with free stake fill three seats");
        for (uint256 i; i < members.length; ++i) {
            for (uint256 j; j < 10; ++j) assertTrue(members[i] != validators[j], "no bond, no seat");
        }
    }

    function test_draw_everyoneLeftAfterOpen_neutral() public {
        uint256 id = _open();
        for (uint256 i; i < validators.length; ++i) {
            vm.prank(validators[i]);
            staking.undeclareModel(MODEL_A);
        }
        vm.prank(node);
        staking.undeclareModel(MODEL_A);
        vm.prank(validator);
        staking.undeclareModel(MODEL_A);
        _rollPastTarget(id);
        committee.draw(id);
        _rollPastTarget(id);
        committee.draw(id);
        assertEq(uint256(committee.disputeOf(id).outcome), uint256(ICommittee.Outcome.Neutral), "neutral");
        _assertCommitteeBooks();
    }

    // ------------------------------------------------------------------ votes

    function test_commitVote_nonMember_reverts() public {
        uint256 id = _open();
        _draw(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNotMember.selector, id, 0, alice));
        committee.commitVote(id, bytes32(uint256(1)));
    }

    function test_commitVote_twice_reverts() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        _commitVote(id, m[0], true);
        vm.prank(m[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeAlreadyCommitted.selector, id, m[0]));
        committee.commitVote(id, bytes32(uint256(1)));
    }

    function test_revealVote_wrongPhaseOrSalt_reverts() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        _commitVote(id, m[0], true);
        vm.prank(m[0]);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICommittee.CommitteeWrongPhase.selector,
                id,
                ICommittee.Phase.Commit,
                ICommittee.Phase.Reveal
            )
        );
        committee.revealVote(id, true, _salt(m[0], true));
        vm.warp(committee.roundOf(id, 0).commitEnd + 1);
        vm.prank(m[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeBadReveal.selector, id, m[0]));
        committee.revealVote(id, false, _salt(m[0], true)); // the other vote
        _revealVote(id, m[0], true);
        vm.prank(m[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeBadReveal.selector, id, m[0]));
        committee.revealVote(id, true, _salt(m[0], true)); // twice
        vm.prank(m[1]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeBadReveal.selector, id, m[1]));
        committee.revealVote(id, true, bytes32(0)); // never committed
    }

    function test_commitVote_copiedCommitment_cannotBeRevealedByAnother() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        bytes32 c = Encodings.voteCommitment(id, m[0], true, _salt(m[0], true));
        vm.prank(m[0]);
        committee.commitVote(id, c);
        vm.prank(m[1]);
        committee.commitVote(id, c); // copied
        vm.warp(committee.roundOf(id, 0).commitEnd + 1);
        vm.prank(m[1]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeBadReveal.selector, id, m[1]));
        committee.revealVote(id, true, _salt(m[0], true));
    }

    // ------------------------------------------------------------------ verdicts

    function test_guilty_cheatingNodeSlashed_majorityPaid() public {
        (uint256 id, uint256 batchId, IBatchSettlement.BatchHeader memory h) = _openOn(1);
        address[] memory m = _draw(id);
        uint256 nodeStake = staking.activeStakeOf(node);
        _vote(id, m, 5, 0);
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Appealable), "appealable");
        vm.expectRevert();
        committee.finalize(id);
        _toFinal(id);
        committee.finalize(id);
        uint256 slashed = nodeStake - staking.activeStakeOf(node);
        assertGe(slashed, h.payout, "slashed at least the payout");
        assertTrue(settlement.stateOf(batchId).voided, "batch voided");
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(game.challengeOf(d.challengeId).balance, BOND, "challenger's bond back in its slot");
        assertEq(uint256(d.outcome), uint256(ICommittee.Outcome.Guilty), "guilty");
        assertEq(d.pot, FEE, "pot = fixed fee");
        assertEq(d.coherentWeight, 5, "five coherent votes");
        // The committee's share of the slash went to the reserve, which paid the fee.
        assertEq(committee.reserve(), (slashed * COMMITTEE_BPS) / 10_000 - FEE, "surplus in reserve");
        assertEq(_lockedByMembers(), 0, "every bond ended");
        for (uint256 i; i < 5; ++i) {
            vm.prank(m[i]);
            assertEq(committee.claimReward(id, 0), FEE / 5, "equal share");
        }
        vm.prank(m[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeAlreadyClaimed.selector, id, 0, m[0]));
        committee.claimReward(id, 0);
        _assertCommitteeBooks();
        vm.prank(m[0]);
        committee.withdrawCredits();
        assertEq(token.balanceOf(m[0]), FEE / 5, "paid out");
        _assertCommitteeBooks();
        vm.prank(m[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNoCredits.selector, m[0]));
        committee.withdrawCredits();
    }

    function test_notGuilty_falseChallengerLosesBond() public {
        (uint256 id, uint256 batchId, ) = _openOn(2);
        address[] memory m = _draw(id);
        uint256 nodeStake = staking.activeStakeOf(node);
        _vote(id, m, 0, 5);
        _toFinal(id);
        committee.finalize(id);
        assertEq(staking.activeStakeOf(node), nodeStake, "no slash");
        assertEq(game.creditOf(node), BOND - FEE, "bond to the node less the committee share");
        assertEq(game.creditOf(validator), 0, "challenger lost its bond");
        assertEq(uint256(settlement.leafStatusOf(batchId, 2)), uint256(IBatchSettlement.LeafStatus.Cleared), "payable");
        assertEq(committee.disputeOf(id).pot, FEE, "same pot as a guilty verdict");
        assertEq(committee.reserve(), 0, "the bond share paid exactly the fee");
        vm.prank(m[0]);
        committee.claimReward(id, 0);
        _assertCommitteeBooks();
        vm.prank(m[0]);
        committee.withdrawCredits(); // pulls from the game
        assertEq(token.balanceOf(m[0]), FEE / 5, "paid");
        _assertCommitteeBooks();
    }

    function test_pot_sameWhateverTheVerdict() public {
        uint256 snap = vm.snapshotState();
        uint256 id = _open();
        address[] memory m = _draw(id);
        _vote(id, m, 4, 0);
        _toFinal(id);
        committee.finalize(id);
        uint256 potGuilty = committee.disputeOf(id).pot;
        vm.revertToState(snap);
        id = _open();
        m = _draw(id);
        _vote(id, m, 0, 4);
        _toFinal(id);
        committee.finalize(id);
        assertEq(committee.disputeOf(id).pot, potGuilty, "members' pay does not depend on the verdict");
    }

    function test_split_majorityPaidMinorityNot() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        _vote(id, m, 3, 2);
        _toFinal(id);
        committee.finalize(id);
        assertEq(uint256(committee.disputeOf(id).outcome), uint256(ICommittee.Outcome.Guilty), "3-2 guilty");
        for (uint256 i; i < 3; ++i) {
            vm.prank(m[i]);
            assertEq(committee.claimReward(id, 0), FEE / 3, "a third each");
        }
        for (uint256 i = 3; i < 5; ++i) {
            vm.prank(m[i]);
            vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNotCoherent.selector, id, 0, m[i]));
            committee.claimReward(id, 0);
            // The minority is not penalized: its bond is back in full.
            assertEq(staking.activeStakeOf(m[i]), VALIDATOR_STAKE, "minority keeps its stake");
            assertEq(staking.lockedOf(m[i]), 0, "unlocked");
        }
        _assertCommitteeBooks();
    }

    function test_nonVoters_penalized_potGrows() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        uint256 burnedBefore = staking.totalBurned();
        _vote(id, m, 3, 0); // m[3], m[4] abstain
        _toFinal(id);
        committee.finalize(id);
        uint256 penalty = (VOTE_BOND * PENALTY_BPS) / 10_000;
        uint256 toPot = (penalty * PENALTY_POT_BPS) / 10_000;
        for (uint256 i = 3; i < 5; ++i) {
            assertEq(staking.activeStakeOf(m[i]), VALIDATOR_STAKE - penalty, "lost the penalty");
            assertEq(staking.lockedOf(m[i]), 0, "rest of the bond unlocked");
        }
        for (uint256 i; i < 3; ++i) assertEq(staking.activeStakeOf(m[i]), VALIDATOR_STAKE, "voters keep stake");
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(d.pot, FEE + 2 * toPot, "fee plus the pot's part of the penalties");
        assertGe(staking.totalBurned() - burnedBefore, 2 * (penalty - toPot), "rest burned");
        vm.prank(m[0]);
        assertEq(committee.claimReward(id, 0), (FEE + 2 * toPot) / 3, "voters share the penalties");
        _assertCommitteeBooks();
    }

    function test_tie_noAppeal_neutral() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        _vote(id, m, 2, 2); // one abstains
        assertEq(uint256(committee.roundOutcome(id, 0)), uint256(ICommittee.Outcome.Neutral), "tie");
        _toFinal(id);
        uint256 nodeStake = staking.activeStakeOf(node);
        committee.finalize(id);
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(uint256(d.outcome), uint256(ICommittee.Outcome.Neutral), "neutral");
        assertEq(staking.activeStakeOf(node), nodeStake, "no slash on a tie");
        assertEq(committee.creditOf(validator), FEE, "challenger refunded the committee share");
        uint256 penalty = (VOTE_BOND * PENALTY_BPS) / 10_000;
        assertEq(committee.reserve(), (penalty * PENALTY_POT_BPS) / 10_000, "penalty to the reserve");
        vm.prank(m[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNotCoherent.selector, id, 0, m[0]));
        committee.claimReward(id, 0);
        _assertCommitteeBooks();
    }

    function test_tie_eitherPartyMayAppeal() public {
        uint256 id = _open();
        address[] memory m = _draw(id);
        _vote(id, m, 2, 2);
        vm.prank(validator);
        committee.appeal(id);
        assertEq(committee.disputeOf(id).round, 1, "challenger appealed a tie");
    }

    // ------------------------------------------------------------------ appeals

    function test_appeal_reversesVerdict_onlyFinalCallsGame() public {
        (uint256 id, uint256 batchId, ) = _openOn(1);
        address[] memory m0 = _draw(id);
        _vote(id, m0, 3, 2); // a captured first committee: guilty 3-2
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNotAppellant.selector, id, validator));
        committee.appeal(id); // the winner cannot appeal
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNotAppellant.selector, id, alice));
        committee.appeal(id);
        uint256 nodeTokens = token.balanceOf(node);
        vm.prank(node);
        committee.appeal(id);
        assertEq(nodeTokens - token.balanceOf(node), APPEAL_FEE, "appeal fee paid");
        assertEq(
            uint256(game.challengeOf(chId[batchId][1]).status),
            uint256(IChallengeGame.ChallengeStatus.Disputed),
            "game not called yet"
        );
        assertEq(_lockedByMembers(), 0, "round 0 bonds ended at the appeal");
        ICommittee.Round memory r1 = committee.roundOf(id, 1);
        assertEq(r1.nominalSize, 2 * SIZE + 1, "doubled (odd)");
        assertEq(r1.bond, 2 * VOTE_BOND, "doubled bond");
        address[] memory m1 = _draw(id);
        assertEq(m1.length, 11, "eleven seats");
        assertEq(staking.lockedOf(m1[0]), 2 * VOTE_BOND, "doubled bond locked");
        _vote(id, m1, 3, 8);
        _toFinal(id);
        committee.finalize(id);
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(uint256(d.outcome), uint256(ICommittee.Outcome.NotGuilty), "reversed");
        assertEq(
            uint256(game.challengeOf(chId[batchId][1]).status),
            uint256(IChallengeGame.ChallengeStatus.Cleared),
            "cleared"
        );
        // Coherent: round 0's two not-guilty votes (weight 1) and round 1's eight (weight 2).
        assertEq(d.coherentWeight, 2 + 16, "weights");
        assertEq(d.pot, FEE + APPEAL_FEE, "fee plus appeal fee");
        vm.prank(m0[3]);
        assertEq(committee.claimReward(id, 0), (uint256(d.pot) * 1) / 18, "round-0 dissenter paid");
        vm.prank(m1[3]);
        assertEq(committee.claimReward(id, 1), (uint256(d.pot) * 2) / 18, "round-1 majority paid double");
        vm.prank(m0[0]);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeNotCoherent.selector, id, 0, m0[0]));
        committee.claimReward(id, 0);
        _assertCommitteeBooks();
        vm.prank(node);
        vm.expectRevert();
        committee.appeal(id); // resolved
    }

    function test_appeal_boundedNumberOfTimes() public {
        uint256 id = _open();
        _vote(id, _draw(id), 3, 0);
        vm.prank(node);
        committee.appeal(id);
        _vote(id, _draw(id), 6, 0);
        vm.prank(node);
        committee.appeal(id); // second and last
        ICommittee.Round memory r2 = committee.roundOf(id, 2);
        assertEq(r2.nominalSize, 23, "5 -> 11 -> 23");
        // Fourteen validators cannot fill 23 seats: the draw finds at most 14 -> 13 seats.
        address[] memory m2 = _draw(id);
        assertEq(m2.length % 2, 1, "odd");
        _vote(id, m2, m2.length, 0);
        assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Finalizable), "no appeal after the last round");
        vm.prank(node);
        vm.expectRevert();
        committee.appeal(id);
        committee.finalize(id);
        assertEq(uint256(committee.disputeOf(id).outcome), uint256(ICommittee.Outcome.Guilty), "guilty");
        assertEq(_lockedByMembers(), 0, "every bond ended");
        _assertCommitteeBooks();
    }

    function test_appeal_roundUnformed_refundsFeeAndVerdictStands() public {
        uint256 id = _open();
        address[] memory m0 = _draw(id);
        _vote(id, m0, 3, 0);
        vm.prank(node);
        committee.appeal(id);
        // Everyone leaves the model: the appeal round cannot be formed.
        for (uint256 i; i < validators.length; ++i) {
            vm.prank(validators[i]);
            staking.undeclareModel(MODEL_A);
        }
        _rollPastTarget(id);
        committee.draw(id); // redraw
        _rollPastTarget(id);
        committee.draw(id); // unformed
        ICommittee.Dispute memory d = committee.disputeOf(id);
        assertEq(uint256(d.outcome), uint256(ICommittee.Outcome.Guilty), "round 0 verdict stands");
        assertEq(committee.creditOf(node), APPEAL_FEE, "appeal fee refunded");
        uint256 toPot = (((VOTE_BOND * PENALTY_BPS) / 10_000) * PENALTY_POT_BPS) / 10_000;
        assertEq(d.pot, FEE + 2 * toPot, "fee and round-0 penalties, without the refunded appeal fee");
        _assertCommitteeBooks();
    }

    // ------------------------------------------------------------------ money corners

    function test_guiltyOnVoidedBatch_reservePaysFee() public {
        // Two disputes on one batch; the first guilty verdict voids it, so the second brings no slash.
        Encodings.Leaf[] memory ls = _leaves(4, 2);
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _challenge(batchId, h, 0, Encodings.CHALLENGE_WRONG_OUTPUT);
        game.respondToChallenge(chId[batchId][0], batchId, h, ls[0], _proof(ls, 0), _data(0));
        _challenge(batchId, h, 1, Encodings.CHALLENGE_WRONG_OUTPUT);
        game.respondToChallenge(chId[batchId][1], batchId, h, ls[1], _proof(ls, 1), _data(1));
        uint256 a = committee.disputeCount() - 1;
        uint256 b = a + 1;
        _vote(a, _draw(a), 5, 0);
        _vote(b, _draw(b), 5, 0);
        _toFinal(b);
        committee.finalize(a);
        uint256 reserveAfterA = committee.reserve();
        committee.finalize(b);
        assertEq(committee.disputeOf(b).pot, FEE, "fee paid from the reserve");
        assertEq(committee.reserve(), reserveAfterA - FEE, "reserve paid it");
        _assertCommitteeBooks();
    }

    function test_guiltyWithEmptyReserveAndNoShare_payAsMuchAsThereIs() public {
        uint256 id = _open();
        // Governance sets the committee share to zero while the dispute runs: the verdict brings
        // nothing and the reserve is empty, so the pot holds only the penalties.
        vm.prank(admin);
        game.setParameter("committeeShareBps", 0);
        _vote(id, _draw(id), 5, 0);
        _toFinal(id);
        committee.finalize(id);
        assertEq(committee.disputeOf(id).pot, 0, "nothing to pay");
        assertEq(committee.reserve(), 0, "reserve empty");
        _assertCommitteeBooks();
    }

    function test_reserve_fundAndSweep() public {
        token.faucet(alice, 10e18);
        vm.startPrank(alice);
        token.approve(address(committee), 10e18);
        committee.fundReserve(10e18);
        vm.stopPrank();
        assertEq(committee.reserve(), 10e18, "funded");
        vm.prank(alice);
        vm.expectRevert();
        committee.sweepReserve(1);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeReserveTooLow.selector, 10e18, 11e18));
        committee.sweepReserve(11e18);
        vm.prank(admin);
        committee.sweepReserve(4e18);
        assertEq(committee.creditOf(treasury), 4e18, "to the treasury");
        assertEq(committee.reserve(), 6e18, "rest");
        _assertCommitteeBooks();
    }

    function test_collect_pullsCredits() public {
        uint256 id = _open();
        _vote(id, _draw(id), 0, 5);
        _toFinal(id);
        committee.finalize(id);
        assertEq(game.creditOf(address(committee)), FEE, "owed by the game");
        committee.collect();
        assertEq(token.balanceOf(address(committee)), FEE, "pulled");
        committee.collect(); // nothing to pull: no revert
        _assertCommitteeBooks();
    }

    // ------------------------------------------------------------------ parameters

    function test_setParameter_boundsAndRoles() public {
        vm.startPrank(admin);
        committee.setParameter("committeeSize", 7);
        assertEq(committee.params().committeeSize, 7, "set");
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeSizeNotOdd.selector, bytes32("committeeSize"), 8));
        committee.setParameter("committeeSize", 8);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("committeeSize"),
                17,
                3,
                15
            )
        );
        committee.setParameter("committeeSize", 17);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("minCommitteeSize"),
                9,
                1,
                7
            )
        );
        committee.setParameter("minCommitteeSize", 9);
        committee.setParameter("minCommitteeSize", 5);
        committee.setParameter("maxAppeals", 3);
        committee.setParameter("drawDelayBlocks", 10);
        committee.setParameter("maxRedraws", 2);
        committee.setParameter("commitSeconds", 100);
        committee.setParameter("revealSeconds", 100);
        committee.setParameter("appealSeconds", 100);
        committee.setParameter("voteBond", 1e18);
        committee.setParameter("nonVoterPenaltyBps", 10_000);
        committee.setParameter("penaltyToPotBps", 0);
        committee.setParameter("appealFee", 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("commitSeconds"),
                1,
                5,
                30 days
            )
        );
        committee.setParameter("commitSeconds", 1);
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeUnknownParameter.selector, bytes32("nope")));
        committee.setParameter("nope", 1);
        vm.stopPrank();
        vm.expectRevert();
        committee.setParameter("voteBond", 1);
        ICommittee.Params memory p = committee.params();
        assertEq(p.minCommitteeSize, 5, "min");
        assertEq(p.appealFee, 0, "fee");
    }

    function test_zeroBondZeroFee_flowStillEnds() public {
        vm.startPrank(admin);
        committee.setParameter("voteBond", 0);
        committee.setParameter("appealFee", 0);
        vm.stopPrank();
        uint256 id = _open();
        _vote(id, _draw(id), 1, 0);
        vm.prank(node);
        committee.appeal(id);
        _vote(id, _draw(id), 0, 0); // nobody votes: a tie, round 0 stands
        vm.prank(node);
        committee.appeal(id);
        _vote(id, _draw(id), 0, 0);
        committee.finalize(id);
        assertEq(uint256(committee.disputeOf(id).outcome), uint256(ICommittee.Outcome.Guilty), "round 0 stands");
        assertEq(_lockedByMembers(), 0, "nothing locked");
        _assertCommitteeBooks();
    }

    function test_views_unknownDispute() public {
        assertEq(uint256(committee.phase(99)), uint256(ICommittee.Phase.None), "none");
        vm.expectRevert(abi.encodeWithSelector(ICommittee.CommitteeUnknownDispute.selector, 99));
        committee.draw(99);
        assertEq(uint256(committee.roundOutcome(99, 0)), uint256(ICommittee.Outcome.Pending), "pending");
        assertFalse(committee.seatOf(99, 0, alice).seated, "no seat");
    }
}
