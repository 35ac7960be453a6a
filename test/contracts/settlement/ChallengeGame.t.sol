// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SettlementFixture} from "./SettlementFixture.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {IChallengeGame} from "../../../contracts/interfaces/IChallengeGame.sol";
import {IDisputeResolver} from "../../../contracts/interfaces/IDisputeResolver.sol";
import {IProtocolAccess} from "../../../contracts/interfaces/IProtocolAccess.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";
import {PositionalMerkle} from "../../../contracts/libraries/PositionalMerkle.sol";

contract ChallengeGameTest is SettlementFixture {
    Encodings.Leaf[] internal _ls;

    function _batch(uint256 n) internal returns (uint256 batchId, IBatchSettlement.BatchHeader memory h) {
        Encodings.Leaf[] memory ls = _leaves(n, n / 2);
        delete _ls;
        for (uint256 i = 0; i < n; ++i) _ls.push(ls[i]);
        (batchId, h) = _commit(ls);
    }

    function _mem() internal view returns (Encodings.Leaf[] memory ls) {
        ls = new Encodings.Leaf[](_ls.length);
        for (uint256 i = 0; i < _ls.length; ++i) ls[i] = _ls[i];
    }

    // ------------------------------------------------------------------ commit batch

    function test_commitBatch_locksLockFactorTimesPayout() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        assertEq(batchId, 1, "first id");
        assertEq(staking.lockedOf(node), h.lock, "locked");
        assertEq(h.lock, uint256(h.payout) * 2, "2x payout");
        assertEq(
            settlement.headerHashOf(batchId),
            keccak256(abi.encode(h)) & ~bytes32(uint256(type(uint64).max)),
            "header hash stored (top 192 bits)"
        );
    }

    function test_commitBatch_unregistered_reverts() public {
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementNotRegistered.selector, validator));
        settlement.commitBatch(bytes32(uint256(1)), 1, 1);
    }

    function test_commitBatch_badLeafCount_reverts() public {
        vm.startPrank(node);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementBadLeafCount.selector, 0, 1 << 16));
        settlement.commitBatch(bytes32(uint256(1)), 0, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IBatchSettlement.SettlementBadLeafCount.selector, (1 << 16) + 1, 1 << 16)
        );
        settlement.commitBatch(bytes32(uint256(1)), uint32((1 << 16) + 1), 1);
        vm.stopPrank();
    }

    function test_commitBatch_moreThanFreeStake_reverts() public {
        vm.prank(node);
        vm.expectRevert();
        settlement.commitBatch(bytes32(uint256(1)), 1, 6_000e18); // lock 12,000 > 10,000 staked
    }

    function test_commitBatch_paused_reverts() public {
        vm.prank(admin);
        settlement.pause();
        vm.prank(node);
        vm.expectRevert();
        settlement.commitBatch(bytes32(uint256(1)), 1, 1);
    }

    // ------------------------------------------------------------------ data challenges

    function test_dataChallenge_answered_clearsAndBondPaysNode() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        _challenge(batchId, h, 2, Encodings.CHALLENGE_DATA);
        assertEq(uint256(settlement.leafStatusOf(batchId, 2)), uint256(IBatchSettlement.LeafStatus.Held), "held");
        assertEq(settlement.stateOf(batchId).openChallenges, 1, "open");
        Encodings.Leaf[] memory ls = _mem();
        game.respondToChallenge(chId[batchId][2], batchId, h, ls[2], _proof(ls, 2), _data(2));
        assertEq(
            uint256(game.challengeOf(chId[batchId][2]).status),
            uint256(IChallengeGame.ChallengeStatus.Cleared),
            "cleared"
        );
        assertEq(uint256(settlement.leafStatusOf(batchId, 2)), uint256(IBatchSettlement.LeafStatus.Cleared), "leaf");
        assertEq(game.creditOf(node), BOND, "bond compensates the node");
        assertEq(settlement.stateOf(batchId).openChallenges, 0, "closed");
        assertEq(game.bondsHeld(), 0, "no bond left (the slot's one bond went to the node)");
        assertEq(game.challengeOf(chId[batchId][2]).balance, 0, "slot emptied");
        vm.prank(node);
        game.withdrawCredits();
        assertEq(game.creditOf(node), 0, "withdrawn");
    }

    function test_dataChallenge_answeredWithAnotherLeaf_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        _challenge(batchId, h, 2, Encodings.CHALLENGE_DATA);
        Encodings.Leaf[] memory ls = _mem();
        bytes32[] memory p1 = _proof(ls, 1);
        bytes32[] memory p2 = _proof(ls, 2);
        // Leaf 1's data and proof for the challenge on leaf 2: the challenge names leaf 2.
        uint256 id2 = chId[batchId][2];
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeWrongLeaf.selector, id2, batchId, 1));
        game.respondToChallenge(id2, batchId, h, ls[1], p1, _data(1));
        // A slot with no challenge in it.
        uint256 none = game.challengeIdOf(validator, 77);
        vm.expectRevert(
            abi.encodeWithSelector(
                IChallengeGame.ChallengeWrongStatus.selector,
                none,
                IChallengeGame.ChallengeStatus.None
            )
        );
        game.respondToChallenge(none, batchId, h, ls[1], p1, _data(1));
        // Leaf 2 relabelled with leaf 1's contents fails the proof.
        Encodings.Leaf memory forged = ls[1];
        forged.index = 2;
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeLeafProofInvalid.selector, batchId, 2));
        game.respondToChallenge(chId[batchId][2], batchId, h, forged, p2, _data(1));
        // The right leaf with another leaf's data fails the input hash.
        vm.expectRevert();
        game.respondToChallenge(chId[batchId][2], batchId, h, ls[2], p2, _data(1));
    }

    function test_dataChallenge_silentNode_slashedAtLeastPayoutAndVoided() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        _challenge(batchId, h, 0, Encodings.CHALLENGE_DATA);
        (uint256 freeBefore, uint256 lockedBefore, , ) = staking.stakeOf(node);
        vm.expectRevert();
        game.slashSilent(chId[batchId][0], batchId, h); // not late yet
        vm.warp(block.timestamp + RESPONSE_WINDOW + 1);
        game.slashSilent(chId[batchId][0], batchId, h);
        (uint256 freeAfter, uint256 lockedAfter, , ) = staking.stakeOf(node);
        uint256 lost = (freeBefore + lockedBefore) - (freeAfter + lockedAfter);
        uint256 expected = h.payout > 0 && uint256(h.payout) >= 10e18 ? h.payout : 10e18; // minSlash 10e18
        assertEq(lost, expected, "slashed max(payout, minSlash)");
        assertGe(lost, h.payout, "at least the payout");
        assertEq(lockedAfter, 0, "this batch's lock is gone");
        assertTrue(settlement.stateOf(batchId).voided, "voided");
        assertEq(game.challengeOf(chId[batchId][0]).balance, BOND, "bond returned to the slot");
        assertEq(game.bondsHeld(), BOND, "still held for the validator");
        assertEq(staking.creditOf(validator), (lost * SHARE_BPS) / 10_000, "challenger share");
        // The batch can no longer settle and cannot be voided twice.
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementBatchVoided.selector, batchId));
        vm.prank(address(game));
        settlement.voidBatch(batchId, h, validator, 0);
    }

    function test_reveal_copiedCommitment_cannotBeUsedByAnother() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        bytes32 salt = keccak256("s");
        bytes32 commitment = Encodings.challengeCommitment(batchId, 1, 0, validator, salt);
        _fundSlot(validator, 0);
        vm.prank(validator);
        game.commitChallenge(0, commitment);
        // A copier who saw the commitment and the reveal's salt: its own slot can hold the copied
        // commitment, but the reveal recomputes it with the copier's address.
        address copier = makeAddr("copier");
        uint256 copierId = game.challengeIdOf(copier, 0);
        bytes32 asCopier = Encodings.challengeCommitment(batchId, 1, 0, copier, salt);
        _fundSlot(copier, 0);
        _stake(copier, 1_000e18);
        vm.prank(copier);
        game.commitChallenge(0, commitment);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeUnknownCommitment.selector, copierId, asCopier));
        game.revealChallenge(0, batchId, h, 1, 0, salt);
    }

    function test_reveal_unstaked_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        address nobody = makeAddr("nobody");
        bytes32 salt = keccak256("s");
        _fundSlot(nobody, 0);
        vm.prank(nobody);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 1, 0, nobody, salt));
        vm.prank(nobody);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeGame.ChallengeNotStakedValidator.selector, nobody, 0, MIN_VALIDATOR_STAKE)
        );
        game.revealChallenge(0, batchId, h, 1, 0, salt);
    }

    function test_reveal_unfundedSlot_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        bytes32 salt = keccak256("s");
        uint256 id = game.challengeIdOf(validator, 9);
        vm.prank(validator);
        game.commitChallenge(9, Encodings.challengeCommitment(batchId, 1, 0, validator, salt));
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeBondNotFunded.selector, id, 0, BOND));
        game.revealChallenge(9, batchId, h, 1, 0, salt);
    }

    function test_commitChallenge_busySlot_reverts_closedSlot_reused() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        uint256 id = _challenge(batchId, h, 1, Encodings.CHALLENGE_DATA);
        uint96 slot = uint96(id);
        vm.prank(validator);
        vm.expectRevert(
            abi.encodeWithSelector(IChallengeGame.ChallengeSlotBusy.selector, id, IChallengeGame.ChallengeStatus.Open)
        );
        game.commitChallenge(slot, bytes32(uint256(7)));
        Encodings.Leaf[] memory ls = _mem();
        game.respondToChallenge(id, batchId, h, ls[1], _proof(ls, 1), _data(1));
        // Closed: the slot takes the next challenge once it is funded again.
        bytes32 salt = keccak256("next");
        _fundSlot(validator, slot);
        vm.prank(validator);
        game.commitChallenge(slot, Encodings.challengeCommitment(batchId, 2, 0, validator, salt));
        vm.prank(validator);
        game.revealChallenge(slot, batchId, h, 2, 0, salt);
        IChallengeGame.Challenge memory c = game.challengeOf(id);
        assertEq(c.leafIndex, 2, "slot now holds the leaf-2 challenge");
        assertEq(uint256(c.status), uint256(IChallengeGame.ChallengeStatus.Open), "open");
        assertEq(c.bond, BOND, "bond held");
        assertEq(c.balance, 0, "balance spent");
        // The old leaf-1 answer cannot be replayed against the reused slot.
        bytes32[] memory p1 = _proof(ls, 1);
        IChallengeGame.LeafData memory d1 = _data(1);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeWrongLeaf.selector, id, batchId, 1));
        game.respondToChallenge(id, batchId, h, ls[1], p1, d1);
    }

    function test_withdrawSlot_returnsPrepaidBalanceOnly() public {
        _fundSlot(validator, 3);
        uint256 id = game.challengeIdOf(validator, 3);
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeSlotBalanceTooLow.selector, id, BOND, BOND + 1));
        game.withdrawSlot(3, BOND + 1);
        uint256 before = token.balanceOf(validator);
        vm.prank(validator);
        game.withdrawSlot(3, BOND);
        assertEq(token.balanceOf(validator) - before, BOND, "paid out");
        assertEq(game.bondsHeld(), 0, "nothing held");
        vm.prank(validator);
        vm.expectRevert(IChallengeGame.ChallengeZeroAmount.selector);
        game.fundSlot(3, 0);
    }

    function test_reveal_afterRevealPeriod_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        bytes32 salt = keccak256("s");
        _fundSlot(validator, 0);
        vm.prank(validator);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 1, 0, validator, salt));
        vm.warp(uint256(h.committedAt) + CHALLENGE_WINDOW + REVEAL_PERIOD + 1);
        vm.prank(validator);
        vm.expectRevert();
        game.revealChallenge(0, batchId, h, 1, 0, salt);
    }

    function test_reveal_commitAfterWindow_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        vm.warp(uint256(h.committedAt) + CHALLENGE_WINDOW + 1);
        bytes32 salt = keccak256("s");
        _fundSlot(validator, 0);
        vm.prank(validator);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 1, 0, validator, salt));
        vm.prank(validator);
        vm.expectRevert();
        game.revealChallenge(0, batchId, h, 1, 0, salt);
    }

    function test_reveal_selfChallenge_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        _stake(node, 1_000e18);
        token.faucet(node, BOND);
        vm.prank(node);
        token.approve(address(game), BOND);
        bytes32 salt = keccak256("s");
        _fundSlot(node, 0);
        vm.prank(node);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 0, 0, node, salt));
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeSelfChallenge.selector, node));
        game.revealChallenge(0, batchId, h, 0, 0, salt);
    }

    function test_reveal_sameLeafTwice_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        _challenge(batchId, h, 1, 0);
        bytes32 salt = keccak256("other");
        _fundSlot(validator, 0);
        vm.prank(validator);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 1, 1, validator, salt));
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementLeafAlreadyChallenged.selector, batchId, 1));
        game.revealChallenge(0, batchId, h, 1, 1, salt);
    }

    function test_reveal_badKindAndIndex_revert() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeBadKind.selector, 2));
        game.revealChallenge(0, batchId, h, 0, 2, bytes32(0));
        bytes32 salt = keccak256("s");
        _fundSlot(validator, 0);
        vm.prank(validator);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 5, 0, validator, salt));
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(PositionalMerkle.PositionalMerkleIndexOutOfRange.selector, 5, 2));
        game.revealChallenge(0, batchId, h, 5, 0, salt);
    }

    function test_reveal_wrongHeader_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        bytes32 salt = keccak256("s");
        _fundSlot(validator, 0);
        vm.prank(validator);
        game.commitChallenge(0, Encodings.challengeCommitment(batchId, 0, 0, validator, salt));
        h.payout += 1;
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementHeaderMismatch.selector, batchId));
        game.revealChallenge(0, batchId, h, 0, 0, salt);
    }

    // ------------------------------------------------------------------ wrong-output disputes

    function test_wrongOutput_guilty_slashesAndVoids() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        _challenge(batchId, h, 3, Encodings.CHALLENGE_WRONG_OUTPUT);
        Encodings.Leaf[] memory ls = _mem();
        game.respondToChallenge(chId[batchId][3], batchId, h, ls[3], _proof(ls, 3), _data(3));
        assertEq(
            uint256(game.challengeOf(chId[batchId][3]).status),
            uint256(IChallengeGame.ChallengeStatus.Disputed),
            "disputed"
        );
        assertEq(resolver.count(), 1, "dispute opened");
        uint256 before = staking.activeStakeOf(node);
        resolver.decide(0, true);
        uint256 lost = before - staking.activeStakeOf(node);
        assertGe(lost, h.payout, "slashed at least the payout");
        assertEq(staking.creditOf(address(resolver)), (lost * COMMITTEE_BPS) / 10_000, "committee share of the slash");
        assertTrue(settlement.stateOf(batchId).voided, "voided");
        assertEq(game.challengeOf(chId[batchId][3]).balance, BOND, "bond back to the challenger's slot");
        assertEq(game.wrongOutputChallengerOf(batchId, 3), validator, "remembered for canaries");
    }

    function test_wrongOutput_notGuilty_bondToNodeAndLeafPayable() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        _challenge(batchId, h, 3, Encodings.CHALLENGE_WRONG_OUTPUT);
        Encodings.Leaf[] memory ls = _mem();
        game.respondToChallenge(chId[batchId][3], batchId, h, ls[3], _proof(ls, 3), _data(3));
        uint256 before = staking.activeStakeOf(node);
        resolver.decide(0, false);
        assertEq(staking.activeStakeOf(node), before, "no slash");
        assertEq(game.creditOf(node), BOND - (BOND * COMMITTEE_BPS) / 10_000, "challenger's bond to the node");
        assertEq(game.creditOf(address(resolver)), (BOND * COMMITTEE_BPS) / 10_000, "committee share of the bond");
        assertEq(uint256(settlement.leafStatusOf(batchId, 3)), uint256(IBatchSettlement.LeafStatus.Cleared), "payable");
        vm.expectRevert();
        resolver.decide(0, true); // decided once only
    }

    function test_resolveDispute_onlyResolver() public {
        vm.expectRevert();
        game.resolveDispute(1, true);
    }

    function test_wrongOutput_noResolver_reverts() public {
        vm.prank(admin);
        game.setResolver(IDisputeResolver(address(0)));
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        _challenge(batchId, h, 0, Encodings.CHALLENGE_WRONG_OUTPUT);
        Encodings.Leaf[] memory ls = _mem();
        bytes32[] memory p0 = _proof(ls, 0);
        vm.expectRevert(IChallengeGame.ChallengeNoResolver.selector);
        game.respondToChallenge(chId[batchId][0], batchId, h, ls[0], p0, _data(0));
    }

    // ------------------------------------------------------------------ committee-free proofs

    function test_equivocation_receiptContradictsLeaf_slashes() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        Encodings.Leaf[] memory ls = _mem();
        Encodings.Receipt memory r = Encodings.Receipt({
            ticket: ls[1].ref,
            output: keccak256("other"),
            tokens: ls[1].tokens
        });
        bytes memory sig = _signReceipt(NODE_KEY, r);
        uint256 before = staking.activeStakeOf(node);
        address reporterX = makeAddr("reporterX");
        bytes32[] memory p1 = _proof(ls, 1);
        vm.prank(reporterX);
        game.proveEquivocation(batchId, h, ls[1], p1, r, sig);
        assertGe(before - staking.activeStakeOf(node), h.payout, "slashed");
        assertTrue(settlement.stateOf(batchId).voided, "voided");
        assertGt(staking.creditOf(reporterX), 0, "reporter share");
    }

    function test_equivocation_matchingReceipt_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        Encodings.Leaf[] memory ls = _mem();
        Encodings.Receipt memory r = Encodings.Receipt({ticket: ls[1].ref, output: ls[1].output, tokens: ls[1].tokens});
        bytes memory sig = _signReceipt(NODE_KEY, r);
        bytes32[] memory p1 = _proof(ls, 1);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeNotEquivocation.selector, batchId, 1));
        game.proveEquivocation(batchId, h, ls[1], p1, r, sig);
    }

    function test_equivocation_foreignSigner_reverts() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        Encodings.Leaf[] memory ls = _mem();
        Encodings.Receipt memory r = Encodings.Receipt({ticket: ls[1].ref, output: bytes32(0), tokens: 1});
        bytes memory sig = _signReceipt(REQUESTER_KEY, r);
        bytes32[] memory p1 = _proof(ls, 1);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeBadReceiptSigner.selector, requester));
        game.proveEquivocation(batchId, h, ls[1], p1, r, sig);
    }

    function test_ticketMismatch_leafMisstatesTicket_slashes() public {
        // The node commits a leaf whose input differs from the signed ticket's.
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        Encodings.Ticket memory t = _ticket(0, requester);
        ls[0].input = keccak256("not the ticket's input");
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        game.proveTicketMismatch(batchId, h, ls[0], _proof(ls, 0), t, sig);
        assertTrue(settlement.stateOf(batchId).voided, "voided");
    }

    function test_ticketMismatch_faithfulLeaf_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        Encodings.Ticket memory t = _ticket(0, requester);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        bytes32[] memory p0 = _proof(ls, 0);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeNotEquivocation.selector, batchId, 0));
        game.proveTicketMismatch(batchId, h, ls[0], p0, t, sig);
        // A forged requester signature is rejected.
        ls[0].input = bytes32(0);
        bytes memory bad = _signTicket(REQUESTER2_KEY, t);
        (uint256 b2, IBatchSettlement.BatchHeader memory h2) = _commit(ls);
        bytes32[] memory q0 = _proof(ls, 0);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeBadTicketSignature.selector, requester));
        game.proveTicketMismatch(b2, h2, ls[0], q0, t, bad);
    }

    // ------------------------------------------------------------------ parameters

    function test_setParameter_bounds() public {
        vm.startPrank(admin);
        game.setParameter("challengeBond", 7e18);
        assertEq(game.challengeBond(), 7e18, "bond");
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("responseWindow"),
                1,
                5,
                30 days
            )
        );
        game.setParameter("responseWindow", 1);
        vm.expectRevert(abi.encodeWithSelector(IChallengeGame.ChallengeUnknownParameter.selector, bytes32("nope")));
        game.setParameter("nope", 1);
        vm.stopPrank();
        vm.expectRevert();
        game.setParameter("challengeBond", 1);
    }

    function test_settlementHooks_onlyChallengeRole() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(2);
        vm.expectRevert();
        settlement.openChallenge(batchId, h, 0, block.timestamp);
        vm.expectRevert();
        settlement.closeChallenge(batchId, h, 0, true, validator, address(0), 0, 0);
        vm.expectRevert();
        settlement.voidBatch(batchId, h, validator, 0);
    }

    function test_slash_unstakingNodeCannotEscape() public {
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _batch(4);
        _challenge(batchId, h, 0, Encodings.CHALLENGE_DATA);
        (uint256 free, , , ) = staking.stakeOf(node);
        vm.prank(node);
        staking.requestUnstake(free); // tries to run with its free stake
        vm.warp(block.timestamp + RESPONSE_WINDOW + 1);
        uint256 before = _total(node);
        game.slashSilent(chId[batchId][0], batchId, h);
        assertGe(before - _total(node), h.payout, "unbonding stake is slashable too");
    }

    function _total(address a) internal view returns (uint256) {
        (uint256 f, uint256 l, uint256 u, ) = staking.stakeOf(a);
        return f + l + u;
    }
}
