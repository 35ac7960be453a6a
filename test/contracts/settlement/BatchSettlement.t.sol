// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SettlementFixture} from "./SettlementFixture.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {IChallengeGame} from "../../../contracts/interfaces/IChallengeGame.sol";
import {IPairEscrow} from "../../../contracts/interfaces/IPairEscrow.sol";
import {IProtocolAccess} from "../../../contracts/interfaces/IProtocolAccess.sol";
import {IAuctionSettlement} from "../../../contracts/interfaces/IAuctionSettlement.sol";
import {IRewardPool} from "../../../contracts/interfaces/IRewardPool.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";
import {PositionalMerkle} from "../../../contracts/libraries/PositionalMerkle.sol";

contract BatchSettlementTest is SettlementFixture {
    // ------------------------------------------------------------------ helpers

    function _packed(Encodings.Leaf memory l) internal pure returns (uint256) {
        return (l.amount << 128) | (uint256(l.expiry) << 32) | l.tokens;
    }

    /// @dev One leaf group per run of leaves with the same requester (leaves are pre-sorted).
    function _groups(Encodings.Leaf[] memory ls) internal pure returns (IBatchSettlement.LeafGroup[] memory out) {
        uint256 n;
        for (uint256 i = 0; i < ls.length; ++i) if (i == 0 || ls[i].requester != ls[i - 1].requester) ++n;
        out = new IBatchSettlement.LeafGroup[](n);
        uint256 g;
        uint256 start;
        for (uint256 i = 0; i <= ls.length; ++i) {
            if (i == ls.length || (i > 0 && ls[i].requester != ls[i - 1].requester)) {
                IBatchSettlement.CompactLeaf[] memory cl = new IBatchSettlement.CompactLeaf[](i - start);
                for (uint256 k = start; k < i; ++k) {
                    cl[k - start] = IBatchSettlement.CompactLeaf(ls[k].ref, ls[k].input, ls[k].output, _packed(ls[k]));
                }
                Encodings.Leaf memory f = ls[start];
                out[g++] = IBatchSettlement.LeafGroup(f.kind, f.requester, f.model, f.adapter, f.profile, cl);
                start = i;
            }
        }
    }

    function _payment(
        uint256 key,
        address who,
        uint256 cumulative,
        uint64 through
    ) internal view returns (IBatchSettlement.PairPayment memory) {
        Encodings.Voucher memory v = _voucher(who, cumulative, through);
        return IBatchSettlement.PairPayment(v, _signVoucher(key, v));
    }

    function _sum(Encodings.Leaf[] memory ls, address who) internal pure returns (uint256 s) {
        for (uint256 i = 0; i < ls.length; ++i) if (ls[i].requester == who) s += ls[i].amount;
    }

    function _chunk(Encodings.Leaf[] memory ls) internal view returns (IBatchSettlement.Chunk memory c) {
        c.index = 0;
        c.groups = _groups(ls);
        c.proof = new bytes32[](0);
        c.payments = new IBatchSettlement.PairPayment[](2);
        c.payments[0] = _payment(REQUESTER_KEY, requester, _sum(ls, requester), 64);
        c.payments[1] = _payment(REQUESTER2_KEY, requester2, _sum(ls, requester2), 64);
        c.tickets = new IBatchSettlement.TicketPayment[](0);
    }

    function _open(IBatchSettlement.BatchHeader memory h) internal {
        vm.warp(uint256(h.committedAt) + CHALLENGE_WINDOW + REVEAL_PERIOD + 1);
    }

    // ------------------------------------------------------------------ settleChunk

    function test_settleChunk_vouchers_paysSplitsAndReleases() public {
        Encodings.Leaf[] memory ls = _leaves(4, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _open(h);
        uint256 tokens = 0;
        for (uint256 i = 0; i < 4; ++i) tokens += ls[i].tokens;
        vm.prank(node);
        settlement.settleChunk(id, h, _chunk(ls));
        IBatchSettlement.BatchState memory st = settlement.stateOf(id);
        assertEq(st.paid, h.payout, "paid all");
        assertTrue(st.released, "released");
        assertEq(staking.lockedOf(node), 0, "lock released");
        uint256 fee =
            (uint256(_sum(ls, requester)) * FEE_BPS) / 10_000 + (uint256(_sum(ls, requester2)) * FEE_BPS) / 10_000;
        assertEq(settlement.creditOf(treasury), fee, "fee");
        assertEq(settlement.creditOf(modelOwner), tokens * 1e12, "royalty");
        assertEq(settlement.creditOf(node), h.payout - fee - tokens * 1e12, "node");
        assertTrue(settlement.chunkSettled(id, 0), "chunk flag");
        assertEq(escrow.pairOf(requester, node).paid, _sum(ls, requester), "escrow debited");
        // The node withdraws: the settlement pulls its collected credits from the escrow.
        uint256 before = token.balanceOf(node);
        vm.prank(node);
        settlement.withdrawCredits();
        assertEq(token.balanceOf(node) - before, h.payout - fee - tokens * 1e12, "withdrawn");
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementNoCredits.selector, node));
        settlement.withdrawCredits();
    }

    function test_settleChunk_phaseAndShapeErrors_revert() public {
        Encodings.Leaf[] memory ls = _leaves(4, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        IBatchSettlement.Chunk memory c = _chunk(ls);
        vm.expectRevert();
        settlement.settleChunk(id, h, c); // window still open
        _open(h);
        c.index = 1;
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementChunkOutOfRange.selector, 1, 1));
        settlement.settleChunk(id, h, c);
        c.index = 0;
        // One leaf too few.
        IBatchSettlement.Chunk memory shortChunk = _chunk(ls);
        shortChunk.groups[1].leaves = new IBatchSettlement.CompactLeaf[](1);
        shortChunk.groups[1].leaves[0] = c.groups[1].leaves[0];
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementWrongLeafCount.selector, 3, 4));
        settlement.settleChunk(id, h, shortChunk);
        // A changed amount breaks the root.
        IBatchSettlement.Chunk memory forged = _chunk(ls);
        forged.groups[0].leaves[0].packed += 1 << 128;
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementChunkProofInvalid.selector, id, 0));
        settlement.settleChunk(id, h, forged);
        // Non-canonical packing.
        IBatchSettlement.Chunk memory dirty = _chunk(ls);
        dirty.groups[0].leaves[0].packed |= 1 << 100;
        vm.expectRevert();
        settlement.settleChunk(id, h, dirty);
        // Wrong header.
        IBatchSettlement.BatchHeader memory h2 = IBatchSettlement.BatchHeader(
            h.node,
            h.leafCount,
            h.committedAt,
            h.payout + 1,
            h.lock,
            h.root
        );
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementHeaderMismatch.selector, id));
        settlement.settleChunk(id, h2, c);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementUnknownBatch.selector, 99));
        settlement.settleChunk(99, h, c);
        settlement.settleChunk(id, h, c);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementChunkAlreadySettled.selector, id, 0));
        settlement.settleChunk(id, h, c);
    }

    function test_settleChunk_withoutVouchers_leavesUnpaid() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _open(h);
        IBatchSettlement.Chunk memory c = _chunk(ls);
        c.payments = new IBatchSettlement.PairPayment[](0);
        vm.recordLogs();
        settlement.settleChunk(id, h, c);
        assertEq(settlement.stateOf(id).paid, 0, "nothing paid");
        assertTrue(settlement.stateOf(id).released, "lock released anyway");
    }

    function test_settleChunk_voucherForOtherNode_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _open(h);
        IBatchSettlement.Chunk memory c = _chunk(ls);
        c.payments[0].voucher.node = validator;
        vm.expectRevert(
            abi.encodeWithSelector(IBatchSettlement.SettlementVoucherForOtherNode.selector, validator, node)
        );
        settlement.settleChunk(id, h, c);
    }

    function test_settleChunk_ticketFallback_paysOnceAndChecksTheTicket() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        IBatchSettlement.Chunk memory c = _chunk(ls);
        c.payments = new IBatchSettlement.PairPayment[](0);
        c.tickets = new IBatchSettlement.TicketPayment[](2);
        for (uint256 i = 0; i < 2; ++i) {
            Encodings.Ticket memory t = _ticket(i, requester); // same block as the leaves: same expiry
            c.tickets[i] = IBatchSettlement.TicketPayment(uint32(i), t, _signTicket(REQUESTER_KEY, t));
        }
        // A ticket of another requester for this leaf is refused.
        IBatchSettlement.Chunk memory bad = _chunk(ls);
        bad.payments = new IBatchSettlement.PairPayment[](0);
        bad.tickets = new IBatchSettlement.TicketPayment[](1);
        Encodings.Ticket memory other = _ticket(0, requester2);
        bad.tickets[0] = IBatchSettlement.TicketPayment(0, other, _signTicket(REQUESTER2_KEY, other));
        _open(h);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementTicketMismatch.selector, 0));
        settlement.settleChunk(id, h, bad);
        settlement.settleChunk(id, h, c);
        assertEq(settlement.stateOf(id).paid, h.payout, "paid by tickets");
        assertTrue(escrow.ticketRedeemed(ls[0].ref), "ticket used");
    }

    function test_settleChunk_ticketCommittedLate_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(1, 1);
        vm.warp(block.timestamp + 3 hours); // past expiry (1 h) + commit lag (1 h)
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _open(h);
        IBatchSettlement.Chunk memory c = _chunk(ls);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBatchSettlement.SettlementTicketCommittedLate.selector,
                0,
                ls[0].expiry,
                h.committedAt
            )
        );
        settlement.settleChunk(id, h, c);
    }

    function test_settleChunk_auctionLeafWithoutMarket_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(1, 1);
        ls[0].kind = Encodings.LEAF_AUCTION;
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _open(h);
        IBatchSettlement.Chunk memory c = _chunk(ls);
        vm.expectRevert(IBatchSettlement.SettlementNoAuctionMarket.selector);
        settlement.settleChunk(id, h, c);
    }

    function test_heldLeaf_clearedLater_paidOnce() public {
        Encodings.Leaf[] memory ls = _leaves(4, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        vm.prank(admin);
        game.setParameter("responseWindow", CHALLENGE_WINDOW * 2);
        _challenge(id, h, 3, Encodings.CHALLENGE_DATA);
        _open(h);
        settlement.settleChunk(id, h, _chunk(ls));
        IBatchSettlement.BatchState memory st = settlement.stateOf(id);
        assertEq(st.paid, h.payout - ls[3].amount, "held leaf not paid");
        assertFalse(st.released, "lock kept while a challenge is open");
        bytes32[] memory p3 = _proof(ls, 3);
        IBatchSettlement.PairPayment[] memory pay = new IBatchSettlement.PairPayment[](1);
        pay[0] = _payment(REQUESTER2_KEY, requester2, _sum(ls, requester2), 64);
        IBatchSettlement.TicketPayment[] memory none = new IBatchSettlement.TicketPayment[](0);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementLeafNotHeld.selector, id, 3));
        settlement.settleHeldLeaf(id, h, ls[3], p3, pay, none);
        game.respondToChallenge(chId[id][3], id, h, ls[3], p3, _data(3));
        assertTrue(settlement.stateOf(id).released, "released once cleared");
        settlement.settleHeldLeaf(id, h, ls[3], p3, pay, none);
        assertEq(settlement.stateOf(id).paid, h.payout, "paid in full");
        assertEq(uint256(settlement.leafStatusOf(id, 3)), uint256(IBatchSettlement.LeafStatus.Paid), "paid status");
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementLeafNotHeld.selector, id, 3));
        settlement.settleHeldLeaf(id, h, ls[3], p3, pay, none);
    }

    function test_clearedBeforeSettlement_paidWithChunkNotAgain() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _challenge(id, h, 1, Encodings.CHALLENGE_DATA);
        game.respondToChallenge(chId[id][1], id, h, ls[1], _proof(ls, 1), _data(1));
        _open(h);
        settlement.settleChunk(id, h, _chunk(ls));
        assertEq(settlement.stateOf(id).paid, h.payout, "paid with the chunk");
        assertEq(uint256(settlement.leafStatusOf(id, 1)), uint256(IBatchSettlement.LeafStatus.Paid), "marked paid");
    }

    function test_settleHeldLeaf_voidedBatch_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _challenge(id, h, 0, Encodings.CHALLENGE_DATA);
        vm.warp(block.timestamp + RESPONSE_WINDOW + 1);
        game.slashSilent(chId[id][0], id, h);
        bytes32[] memory p = _proof(ls, 1);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementBatchVoided.selector, id));
        settlement.settleHeldLeaf(
            id,
            h,
            ls[1],
            p,
            new IBatchSettlement.PairPayment[](0),
            new IBatchSettlement.TicketPayment[](0)
        );
    }

    function test_closeChallenge_notHeld_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        vm.prank(address(game));
        vm.expectRevert(
            abi.encodeWithSelector(
                IBatchSettlement.SettlementLeafNotChallenged.selector,
                id,
                0,
                IBatchSettlement.LeafStatus.None
            )
        );
        settlement.closeChallenge(id, h, 0, true, validator, address(0), 0, 0);
    }

    function test_paused_settleChunk_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _open(h);
        vm.prank(admin);
        settlement.pause();
        IBatchSettlement.Chunk memory c = _chunk(ls);
        vm.expectRevert();
        settlement.settleChunk(id, h, c);
    }

    // ------------------------------------------------------------------ parameters and wiring

    function test_setParameter_boundsAndNames() public {
        bytes32[8] memory names = [
            bytes32("lockFactorBps"),
            "challengeWindow",
            "revealPeriod",
            "protocolFeeBps",
            "challengerShareBps",
            "slashFactorBps",
            "minSlash",
            "batchCommitLag"
        ];
        uint256[8] memory ok = [uint256(30_000), 600, 60, 100, 500, 20_000, 1e18, 600];
        vm.startPrank(admin);
        for (uint256 i = 0; i < 8; ++i) settlement.setParameter(names[i], ok[i]);
        IBatchSettlement.Params memory p = settlement.params();
        assertEq(p.lockFactorBps, 30_000, "lockFactor");
        assertEq(p.minSlash, 1e18, "minSlash");
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("lockFactorBps"),
                1,
                10_000,
                200_000
            )
        );
        settlement.setParameter("lockFactorBps", 1);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementUnknownParameter.selector, bytes32("nope")));
        settlement.setParameter("nope", 1);
        vm.stopPrank();
        vm.expectRevert();
        settlement.setParameter("minSlash", 1);
    }

    function test_wiring_onlyAdmin() public {
        vm.expectRevert();
        settlement.setAuctionMarket(IAuctionSettlement(address(1)));
        vm.expectRevert();
        settlement.setRewardPool(IRewardPool(address(1)));
        vm.startPrank(admin);
        settlement.setAuctionMarket(IAuctionSettlement(address(1)));
        settlement.setRewardPool(IRewardPool(address(0)));
        vm.stopPrank();
        assertEq(address(settlement.auctionMarket()), address(1), "market set");
        assertEq(settlement.batchCount(), 0, "no batch yet");
    }

    function test_commitBatch_payoutTooLarge_reverts() public {
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IBatchSettlement.SettlementPayoutTooLarge.selector, type(uint128).max));
        settlement.commitBatch(bytes32(uint256(1)), 1, type(uint128).max);
    }

    function test_checkHeader_views() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        settlement.checkHeader(id, h);
        assertEq(settlement.settleOpensAt(h), uint256(h.committedAt) + CHALLENGE_WINDOW + REVEAL_PERIOD, "opens at");
        assertFalse(settlement.chunkSettled(id, 0), "not settled");
    }

    // ------------------------------------------------------------------ escrow hooks

    function test_collectVoucher_onlySettler_capsAndStaleReturnsZero() public {
        Encodings.Voucher memory v = _voucher(requester, 10e18, 5);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.expectRevert();
        escrow.collectVoucher(v, sig, 1e18);
        vm.startPrank(address(settlement));
        assertEq(escrow.collectVoucher(v, sig, 4e18), 4e18, "capped");
        assertEq(escrow.pairOf(requester, node).voucherSequence, 0, "partial payment keeps tickets redeemable");
        assertEq(escrow.collectVoucher(v, sig, 100e18), 6e18, "rest");
        assertEq(escrow.pairOf(requester, node).voucherSequence, 5, "sequence recorded when paid in full");
        assertEq(escrow.collectVoucher(v, sig, 100e18), 0, "nothing owed");
        Encodings.Voucher memory stale = _voucher(requester, 20e18, 4);
        assertEq(escrow.collectVoucher(stale, _signVoucher(REQUESTER_KEY, stale), 100e18), 0, "stale");
        vm.stopPrank();
        assertEq(escrow.creditOf(address(settlement)), 10e18, "credited to the settlement");
    }

    function test_collectTicket_errors() public {
        Encodings.Ticket memory t = _ticket(0, requester);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        vm.startPrank(address(settlement));
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTooManyTokens.selector, 65, 64));
        escrow.collectTicket(t, sig, 65);
        (uint256 paid, bytes32 id) = escrow.collectTicket(t, sig, 10);
        assertEq(paid, 10 * PRICE, "paid");
        assertEq(id, escrow.ticketId(t), "id");
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTicketAlreadyRedeemed.selector, id));
        escrow.collectTicket(t, sig, 10);
        Encodings.Ticket memory big = _ticket(1, requester);
        big.pricePerToken = 1e30;
        bytes memory bigSig = _signTicket(REQUESTER_KEY, big);
        vm.expectRevert();
        escrow.collectTicket(big, bigSig, 64);
        vm.stopPrank();
        Encodings.Ticket memory late = _ticket(2, requester);
        bytes memory lateSig = _signTicket(REQUESTER_KEY, late);
        vm.warp(block.timestamp + 10 days);
        vm.prank(address(settlement));
        vm.expectRevert();
        escrow.collectTicket(late, lateSig, 1);
    }

    function test_nodeRedeem_switch() public {
        Encodings.Voucher memory v = _voucher(requester, 1e18, 1);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(admin);
        escrow.setNodeRedeemEnabled(false);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowUnauthorizedRedeemer.selector, node, node));
        escrow.redeemVoucher(v, sig);
        vm.prank(admin);
        escrow.setNodeRedeemEnabled(true);
        vm.prank(node);
        assertEq(escrow.redeemVoucher(v, sig), 1e18, "redeemed");
        vm.expectRevert();
        escrow.setNodeRedeemEnabled(false);
    }

    // ------------------------------------------------------------------ challenge game leftovers

    function test_respond_lateOrWrongTokens_reverts() public {
        Encodings.Leaf[] memory ls = _leaves(2, 2);
        (uint256 id, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _challenge(id, h, 0, Encodings.CHALLENGE_DATA);
        bytes32[] memory p0 = _proof(ls, 0);
        IChallengeGame.LeafData memory d = _data(0);
        d.tokens[0] += 1;
        vm.expectRevert();
        game.respondToChallenge(chId[id][0], id, h, ls[0], p0, d);
        vm.warp(block.timestamp + RESPONSE_WINDOW + 1);
        IChallengeGame.LeafData memory good = _data(0);
        vm.expectRevert();
        game.respondToChallenge(chId[id][0], id, h, ls[0], p0, good);
        IChallengeGame.Challenge memory c = game.challengeOf(chId[id][0]);
        assertEq(c.challenger, validator, "challenger");
        assertEq(c.bond, BOND, "bond view");
        assertEq(c.batchId, id, "batch view");
        vm.expectRevert(); // not the resolver
        game.resolveDispute(chId[id][0], true);
    }
}
