// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MarketFixture} from "./MarketFixture.sol";
import {PairEscrow} from "../../../contracts/market/PairEscrow.sol";
import {IPairEscrow} from "../../../contracts/interfaces/IPairEscrow.sol";
import {IProtocolAccess} from "../../../contracts/interfaces/IProtocolAccess.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";
import {ERC1271Wallet} from "../../../contracts/test/market/ERC1271Wallet.sol";
import {ReentrantToken} from "../../../contracts/test/market/ReentrantToken.sol";
import {FeeOnTransferToken} from "../../../contracts/test/FeeOnTransferToken.sol";

contract PairEscrowTest is MarketFixture {
    uint256 internal constant PRICE = 1e12;

    // ------------------------------------------------------------ constructor and timing

    function test_constructor_thawTooShort_reverts() public {
        IPairEscrow.Timing memory t = _timing();
        t.thawPeriod = 6 days + 1 hours; // equals the sum: must exceed it
        vm.expectRevert(
            abi.encodeWithSelector(IPairEscrow.EscrowThawTooShort.selector, t.thawPeriod, 6 days + 1 hours)
        );
        new PairEscrow(admin, token, t);
    }

    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidNode.selector, address(0)));
        new PairEscrow(admin, IERC20(address(0)), _timing());
    }

    function test_setTiming_eachName_updatesAndChecksRelation() public {
        vm.startPrank(admin);
        escrow.setTiming("thawPeriod", 20 days);
        escrow.setTiming("ticketMaxLifetime", 2 days);
        escrow.setTiming("batchCommitLag", 2 hours);
        escrow.setTiming("challengeWindow", 2 days);
        escrow.setTiming("disputeTime", 4 days);
        escrow.setTiming("grace", 2 days);
        vm.stopPrank();
        IPairEscrow.Timing memory t = escrow.timing();
        assertEq(t.thawPeriod, 20 days, "thaw");
        assertEq(t.ticketMaxLifetime, 2 days, "lifetime");
        assertEq(t.batchCommitLag, 2 hours, "lag");
        assertEq(t.challengeWindow, 2 days, "challenge");
        assertEq(t.disputeTime, 4 days, "dispute");
        assertEq(t.grace, 2 days, "grace");
        assertEq(escrow.redeemDeadline(100), 100 + 2 hours + 2 days + 4 days, "deadline");
    }

    function test_setTiming_breaksRelation_revertsWithBothSides() public {
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IPairEscrow.EscrowThawTooShort.selector, THAW_SECONDS, 10 days + 1 hours)
        );
        escrow.setTiming("disputeTime", 7 days);
    }

    function test_setTiming_outOfRange_reverts() public {
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("thawPeriod"),
                1,
                1 hours,
                365 days
            )
        );
        escrow.setTiming("thawPeriod", 1);
    }

    function test_setTiming_unknownName_reverts() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowUnknownParameter.selector, bytes32("nope")));
        escrow.setTiming("nope", 1);
    }

    function test_setTiming_notParamsRole_reverts() public {
        bytes32 role = escrow.PARAMS_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        escrow.setTiming("grace", 1);
    }

    // ------------------------------------------------------------ deposit

    function test_deposit_valid_updatesPairAndTotalsAndEmits() public {
        vm.expectEmit(address(escrow));
        emit IPairEscrow.Deposited(requester, node1, 100e18, 100e18);
        _deposit(requester, node1, 100e18);
        assertEq(escrow.pairOf(requester, node1).balance, 100e18, "balance");
        (uint256 escrowed, uint256 credits) = escrow.totals();
        assertEq(escrowed, 100e18, "escrowed");
        assertEq(credits, 0, "credits");
        assertEq(token.balanceOf(address(escrow)), 100e18, "held");
    }

    function test_deposit_zeroAmountOrNode_reverts() public {
        vm.startPrank(requester);
        vm.expectRevert(IPairEscrow.EscrowZeroAmount.selector);
        escrow.deposit(node1, 0);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidNode.selector, address(0)));
        escrow.deposit(address(0), 1);
        vm.stopPrank();
    }

    function test_deposit_paused_reverts() public {
        vm.prank(admin);
        escrow.pause();
        vm.prank(requester);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        escrow.deposit(node1, 1);
    }

    function test_deposit_feeOnTransferToken_reverts() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        PairEscrow e = new PairEscrow(admin, fee, _timing());
        fee.approve(address(e), 1000);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTransferAmountMismatch.selector, 1000, 990));
        e.deposit(node1, 1000);
    }

    // ------------------------------------------------------------ thaw

    function test_withdraw_afterThaw_paysRequester() public {
        _deposit(requester, node1, 100e18);
        vm.prank(requester);
        vm.expectEmit(address(escrow));
        emit IPairEscrow.ThawRequested(requester, node1, address(0), 40e18, block.timestamp + THAW_SECONDS);
        escrow.requestWithdraw(node1, 40e18);
        vm.warp(block.timestamp + THAW_SECONDS - 1);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(IPairEscrow.EscrowThawNotOver.selector, block.timestamp + 1, block.timestamp)
        );
        escrow.completeWithdraw(node1);
        vm.warp(block.timestamp + 1);
        uint256 before = token.balanceOf(requester);
        vm.prank(requester);
        assertEq(escrow.completeWithdraw(node1), 40e18, "amount");
        assertEq(token.balanceOf(requester) - before, 40e18, "paid out");
        assertEq(escrow.pairOf(requester, node1).balance, 60e18, "left");
        assertEq(escrow.thawOf(requester, node1).amount, 0, "thaw cleared");
    }

    function test_requestWithdraw_moreThanNonThawing_reverts() public {
        _deposit(requester, node1, 100e18);
        vm.startPrank(requester);
        escrow.requestWithdraw(node1, 70e18);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInsufficientBalance.selector, 30e18, 31e18));
        escrow.requestWithdraw(node1, 31e18);
        vm.expectRevert(IPairEscrow.EscrowZeroAmount.selector);
        escrow.requestWithdraw(node1, 0);
        // Adding restarts the clock for the whole amount.
        vm.warp(block.timestamp + 5 days);
        escrow.requestWithdraw(node1, 30e18);
        vm.stopPrank();
        IPairEscrow.Thaw memory thaw = escrow.thawOf(requester, node1);
        assertEq(thaw.amount, 100e18, "thawing");
        assertEq(thaw.endsAt, block.timestamp + THAW_SECONDS, "restarted");
    }

    function test_thaw_stillSpendable_nodeRedeemsBeforeCompletion() public {
        _deposit(requester, node1, 100e18);
        vm.prank(requester);
        escrow.requestWithdraw(node1, 100e18);
        // The node redeems during the thaw: the thawing amount stays spendable.
        Encodings.Voucher memory v = _voucher(node1, 70e18, 3);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(node1);
        escrow.redeemVoucher(v, sig);
        vm.warp(block.timestamp + THAW_SECONDS);
        vm.prank(requester);
        assertEq(escrow.completeWithdraw(node1), 30e18, "only what is left leaves");
        // Requesting a thaw when more is already thawing than the balance holds reports 0 available.
        _deposit(requester, node1, 10e18);
        vm.startPrank(requester);
        escrow.requestWithdraw(node1, 10e18);
        vm.stopPrank();
        v = _voucher(node1, 75e18, 4);
        sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(node1);
        escrow.redeemVoucher(v, sig);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInsufficientBalance.selector, 0, 1));
        escrow.requestWithdraw(node1, 1);
    }

    function test_move_afterThaw_movesBetweenPairs() public {
        _deposit(requester, node1, 100e18);
        vm.startPrank(requester);
        escrow.requestMove(node1, node2, 25e18);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowThawDestinationMismatch.selector, node2, address(0)));
        escrow.requestWithdraw(node1, 1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowNoThaw.selector, requester, node1));
        escrow.completeWithdraw(node1);
        vm.warp(block.timestamp + THAW_SECONDS);
        vm.expectEmit(address(escrow));
        emit IPairEscrow.Moved(requester, node1, node2, 25e18, 75e18, 25e18);
        escrow.completeMove(node1);
        vm.stopPrank();
        assertEq(escrow.pairOf(requester, node2).balance, 25e18, "moved");
        (uint256 escrowed, ) = escrow.totals();
        assertEq(escrowed, 100e18, "total unchanged");
    }

    function test_requestMove_invalidTarget_reverts() public {
        _deposit(requester, node1, 1e18);
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidNode.selector, node1));
        escrow.requestMove(node1, node1, 1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidNode.selector, address(0)));
        escrow.requestMove(node1, address(0), 1);
        vm.stopPrank();
    }

    function test_cancelThaw_clearsAndEmits() public {
        _deposit(requester, node1, 1e18);
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowNoThaw.selector, requester, node1));
        escrow.cancelThaw(node1);
        escrow.requestWithdraw(node1, 1e18);
        vm.expectEmit(address(escrow));
        emit IPairEscrow.ThawCancelled(requester, node1, 1e18);
        escrow.cancelThaw(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowNoThaw.selector, requester, node1));
        escrow.completeMove(node1);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ vouchers

    function test_redeemVoucher_node_paysDifferenceAndCredits() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.expectEmit(address(escrow));
        emit IPairEscrow.VoucherRedeemed(requester, node1, 30e18, 5, 30e18, 30e18, 70e18);
        vm.prank(node1);
        assertEq(escrow.redeemVoucher(v, sig), 30e18, "first");
        v = _voucher(node1, 45e18, 9);
        sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(node1);
        assertEq(escrow.redeemVoucher(v, sig), 15e18, "difference only");
        IPairEscrow.Pair memory p = escrow.pairOf(requester, node1);
        assertEq(p.paid, 45e18, "paid");
        assertEq(p.voucherSequence, 9, "sequence");
        assertEq(escrow.creditOf(node1), 45e18, "credits");
        uint256 before = token.balanceOf(node1);
        vm.prank(node1);
        escrow.withdrawCredits();
        assertEq(token.balanceOf(node1) - before, 45e18, "withdrawn");
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowNoCredits.selector, node1));
        escrow.withdrawCredits();
    }

    function test_redeemVoucher_replay_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.startPrank(node1);
        escrow.redeemVoucher(v, sig);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowNothingOwed.selector, 30e18, 30e18));
        escrow.redeemVoucher(v, sig);
        vm.stopPrank();
    }

    function test_redeemVoucher_stale_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory newer = _voucher(node1, 30e18, 5);
        Encodings.Voucher memory older = _voucher(node1, 40e18, 4);
        bytes memory sigNew = _signVoucher(REQUESTER_KEY, newer);
        bytes memory sigOld = _signVoucher(REQUESTER_KEY, older);
        vm.startPrank(node1);
        escrow.redeemVoucher(newer, sigNew);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowStaleVoucher.selector, 4, 5));
        escrow.redeemVoucher(older, sigOld);
        vm.stopPrank();
    }

    function test_redeemVoucher_settler_paysNode() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(settler);
        escrow.redeemVoucher(v, sig);
        assertEq(escrow.creditOf(node1), 30e18, "node credited");
        assertEq(escrow.creditOf(settler), 0, "settler not");
    }

    function test_redeemVoucher_requesterOrStranger_reverts() public {
        _deposit(requester, node1, 100e18);
        // A requester-signed voucher with a huge throughSequence and a low amount would void the
        // node's unvouchered tickets: only the node (or the settlement for it) may redeem.
        Encodings.Voucher memory v = _voucher(node1, 1, type(uint64).max);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowUnauthorizedRedeemer.selector, requester, node1));
        escrow.redeemVoucher(v, sig);
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowUnauthorizedRedeemer.selector, node2, node1));
        escrow.redeemVoucher(v, sig);
    }

    function test_redeemVoucher_wrongKey_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _signVoucher(OTHER_KEY, v);
        bytes32 digest = escrow.voucherDigest(v);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, requester, digest));
        escrow.redeemVoucher(v, sig);
    }

    function test_redeemVoucher_wrongChain_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.chainId(1);
        bytes32 digestHere = escrow.voucherDigest(v);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, requester, digestHere));
        escrow.redeemVoucher(v, sig);
    }

    function test_redeemVoucher_otherContract_reverts() public {
        // Same chain, another escrow deployment: the domain's verifyingContract differs.
        PairEscrow other = new PairEscrow(admin, token, _timing());
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _sig(REQUESTER_KEY, other.voucherDigest(v));
        bytes32 digest = escrow.voucherDigest(v);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, requester, digest));
        escrow.redeemVoucher(v, sig);
    }

    function test_redeemVoucher_lowBalance_paysPartThenRest() public {
        _deposit(requester, node1, 10e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 5);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(node1);
        assertEq(escrow.redeemVoucher(v, sig), 10e18, "capped by balance");
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInsufficientBalance.selector, 0, 20e18));
        escrow.redeemVoucher(v, sig);
        _deposit(requester, node1, 50e18);
        vm.prank(node1);
        assertEq(escrow.redeemVoucher(v, sig), 20e18, "rest after top-up");
    }

    function test_redeemVoucher_erc1271Wallet_validThenRevoked() public {
        address owner = vm.addr(OTHER_KEY);
        ERC1271Wallet wallet = new ERC1271Wallet(owner);
        token.faucet(address(wallet), 100e18);
        vm.prank(owner);
        wallet.deposit(escrow, node1, 100e18);

        Encodings.Voucher memory v = Encodings.Voucher(address(wallet), node1, 10e18, 1);
        bytes memory sig = _sig(OTHER_KEY, escrow.voucherDigest(v));
        vm.prank(node1);
        assertEq(escrow.redeemVoucher(v, sig), 10e18, "1271 ok");

        Encodings.Voucher memory v2 = Encodings.Voucher(address(wallet), node1, 20e18, 2);
        bytes32 d2 = escrow.voucherDigest(v2);
        bytes memory sig2 = _sig(OTHER_KEY, d2);
        vm.prank(owner);
        wallet.revoke(d2);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, address(wallet), d2));
        escrow.redeemVoucher(v2, sig2);
    }

    // ------------------------------------------------------------ tickets

    function test_redeemTicket_settler_paysTokensTimesPrice() public {
        _deposit(requester, node1, 100e18);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        bytes32 id = escrow.ticketId(t);
        vm.expectEmit(address(escrow));
        emit IPairEscrow.TicketRedeemed(id, requester, node1, 1, 60, 60 * PRICE, 100e18 - 60 * PRICE);
        vm.prank(settler);
        assertEq(escrow.redeemTicket(t, sig, 60), 60 * PRICE, "amount");
        assertTrue(escrow.ticketRedeemed(id), "used");
        assertEq(escrow.creditOf(node1), 60 * PRICE, "credit");
    }

    function test_redeemTicket_notSettler_reverts() public {
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        bytes32 role = escrow.SETTLER_ROLE();
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, node1, role));
        escrow.redeemTicket(t, sig, 1);
    }

    function test_redeemTicket_tooManyTokens_reverts() public {
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTooManyTokens.selector, 101, 100));
        escrow.redeemTicket(t, sig, 101);
    }

    function test_redeemTicket_pastDeadline_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        uint256 deadline = escrow.redeemDeadline(t.expiry);
        vm.warp(deadline);
        vm.prank(settler);
        escrow.redeemTicket(t, sig, 1); // the last second still counts
        t.sequence = 2;
        sig = _signTicket(REQUESTER_KEY, t);
        vm.warp(deadline + 1);
        vm.prank(settler);
        vm.expectRevert(
            abi.encodeWithSelector(IPairEscrow.EscrowTicketExpired.selector, t.expiry, deadline, deadline + 1)
        );
        escrow.redeemTicket(t, sig, 1);
    }

    function test_redeemTicket_replay_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        bytes32 id = escrow.ticketId(t);
        vm.startPrank(settler);
        escrow.redeemTicket(t, sig, 10);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTicketAlreadyRedeemed.selector, id));
        escrow.redeemTicket(t, sig, 10);
        vm.stopPrank();
    }

    function test_redeemTicket_wrongKey_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(OTHER_KEY, t);
        bytes32 id = escrow.ticketId(t);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, requester, id));
        escrow.redeemTicket(t, sig, 1);
    }

    function test_redeemTicket_malformedSignature_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes32 id = escrow.ticketId(t);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, requester, id));
        escrow.redeemTicket(t, hex"1234", 1);
    }

    function test_redeemTicket_insufficientBalance_reverts() public {
        _deposit(requester, node1, 1e12);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        bytes memory sig = _signTicket(REQUESTER_KEY, t);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInsufficientBalance.selector, 1e12, 2e12));
        escrow.redeemTicket(t, sig, 2);
    }

    function test_redeemTicket_erc1271Revoked_reverts() public {
        address owner = vm.addr(OTHER_KEY);
        ERC1271Wallet wallet = new ERC1271Wallet(owner);
        token.faucet(address(wallet), 100e18);
        vm.prank(owner);
        wallet.deposit(escrow, node1, 100e18);
        Encodings.Ticket memory t = _ticket(node1, 1, 100, PRICE);
        t.requester = address(wallet);
        bytes32 id = escrow.ticketId(t);
        bytes memory sig = _sig(OTHER_KEY, id);
        vm.prank(owner);
        wallet.revokeAll();
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowInvalidSignature.selector, address(wallet), id));
        escrow.redeemTicket(t, sig, 1);
    }

    // ------------------------------------------------------------ both paths (no double payment)

    function test_ticketThenVoucher_voucherPaysOnlyTheDifference() public {
        _deposit(requester, node1, 100e18);
        // Tickets 1..3 at 10e18 each; ticket 3 is redeemed alone first.
        Encodings.Ticket memory t3 = _ticket(node1, 3, 10, 1e18);
        bytes memory sig3 = _signTicket(REQUESTER_KEY, t3);
        vm.prank(settler);
        escrow.redeemTicket(t3, sig3, 10);
        // The requester's voucher through 3 owes 30e18 in total: only 20e18 more is paid.
        Encodings.Voucher memory v = _voucher(node1, 30e18, 3);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(node1);
        assertEq(escrow.redeemVoucher(v, sig), 20e18, "difference");
        assertEq(escrow.pairOf(requester, node1).paid, 30e18, "total = voucher");
    }

    function test_voucherThenCoveredTicket_reverts() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 3);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(node1);
        escrow.redeemVoucher(v, sig);
        Encodings.Ticket memory t2 = _ticket(node1, 2, 10, 1e18);
        bytes memory sig2 = _signTicket(REQUESTER_KEY, t2);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTicketSettledByVoucher.selector, 2, 3));
        escrow.redeemTicket(t2, sig2, 10);
        Encodings.Ticket memory t3 = _ticket(node1, 3, 10, 1e18);
        bytes memory sig3 = _signTicket(REQUESTER_KEY, t3);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IPairEscrow.EscrowTicketSettledByVoucher.selector, 3, 3));
        escrow.redeemTicket(t3, sig3, 10);
        // A ticket above the voucher is still payable alone.
        Encodings.Ticket memory t4 = _ticket(node1, 4, 10, 1e18);
        bytes memory sig4 = _signTicket(REQUESTER_KEY, t4);
        vm.prank(settler);
        assertEq(escrow.redeemTicket(t4, sig4, 10), 10e18, "above");
    }

    /// @dev Fuzz: any interleaving of ticket and voucher redemptions never pays more than the
    /// requester authorized: max(voucher cumulative redeemed) + tickets alone above its sequence.
    function testFuzz_bothPaths_neverPayMoreThanAuthorized(uint256 seed) public {
        _deposit(requester, node1, 1_000e18);
        uint256 n = 8;
        uint256 owed; // what honest vouchers say after each ticket
        uint256[] memory cum = new uint256[](n + 1);
        for (uint64 s = 1; s <= n; ++s) {
            owed += ((uint256(keccak256(abi.encode(seed, s))) % 10) + 1) * 1e18;
            cum[s] = owed;
        }
        for (uint256 step; step < 12; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, "step", step)));
            uint64 s = uint64(r % n) + 1;
            if (r & 256 == 0) {
                Encodings.Voucher memory v = _voucher(node1, cum[s], s);
                bytes memory sig = _signVoucher(REQUESTER_KEY, v);
                vm.prank(node1);
                try escrow.redeemVoucher(v, sig) {} catch {}
            } else {
                Encodings.Ticket memory t = _ticket(node1, s, 10, (cum[s] - cum[s - 1]) / 10);
                bytes memory sig = _signTicket(REQUESTER_KEY, t);
                vm.prank(settler);
                try escrow.redeemTicket(t, sig, 10) {} catch {}
            }
            // Each ticket's value is cum[s] - cum[s-1]: the node can never collect more than the total.
            assertLe(escrow.pairOf(requester, node1).paid, cum[n], "never above the total owed");
        }
    }

    // ------------------------------------------------------------ adversarial

    function test_requesterOverSignsToSeveralNodes_eachPaidOnlyFromItsPair() public {
        _deposit(requester, node1, 50e18);
        _deposit(requester, node2, 20e18);
        // The requester signs 100e18 of work to each of three nodes: 300e18 against 70e18 escrowed.
        address[3] memory ns = [node1, node2, node3];
        uint256 paidOut;
        for (uint256 i; i < 3; ++i) {
            Encodings.Voucher memory v = _voucher(ns[i], 100e18, 1);
            bytes memory sig = _signVoucher(REQUESTER_KEY, v);
            vm.prank(ns[i]);
            try escrow.redeemVoucher(v, sig) returns (uint256 a) {
                paidOut += a;
            } catch {}
        }
        assertEq(escrow.creditOf(node1), 50e18, "node1 capped by its pair");
        assertEq(escrow.creditOf(node2), 20e18, "node2 capped by its pair");
        assertEq(escrow.creditOf(node3), 0, "node3 has no pair");
        assertEq(paidOut, 70e18, "never more than escrowed");
    }

    function test_reentrantToken_withdrawCannotReenter() public {
        ReentrantToken rt = new ReentrantToken();
        PairEscrow e = new PairEscrow(admin, rt, _timing());
        rt.mint(requester, 100e18);
        vm.startPrank(requester);
        rt.approve(address(e), type(uint256).max);
        e.deposit(node1, 100e18);
        e.requestWithdraw(node1, 40e18);
        vm.stopPrank();
        vm.warp(block.timestamp + THAW_SECONDS);
        // During the outgoing transfer the token calls completeWithdraw again (as the requester would).
        rt.arm(address(e), abi.encodeCall(IPairEscrow.completeWithdraw, (node1)));
        vm.prank(requester);
        e.completeWithdraw(node1);
        assertEq(rt.reentries(), 1, "reentered once");
        assertFalse(rt.lastCallSucceeded(), "reentrant call failed");
        assertEq(bytes4(rt.lastReturnData()), ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector, "guard");
        assertEq(rt.balanceOf(address(e)), 60e18, "held = escrow");
        (uint256 escrowed, ) = e.totals();
        assertEq(escrowed, 60e18, "escrowed");
    }

    function test_reentrantToken_depositCannotReenter() public {
        ReentrantToken rt = new ReentrantToken();
        PairEscrow e = new PairEscrow(admin, rt, _timing());
        rt.mint(requester, 100e18);
        vm.prank(requester);
        rt.approve(address(e), type(uint256).max);
        rt.arm(address(e), abi.encodeCall(IPairEscrow.deposit, (node1, 1e18)));
        vm.prank(requester);
        e.deposit(node1, 10e18);
        assertFalse(rt.lastCallSucceeded(), "nested deposit failed");
        assertEq(rt.balanceOf(address(e)), 10e18, "held");
    }

    function test_pause_exitsStayOpen() public {
        _deposit(requester, node1, 100e18);
        Encodings.Voucher memory v = _voucher(node1, 30e18, 1);
        bytes memory sig = _signVoucher(REQUESTER_KEY, v);
        vm.prank(requester);
        escrow.requestWithdraw(node1, 10e18);
        vm.prank(admin);
        escrow.pause();
        vm.prank(node1);
        escrow.redeemVoucher(v, sig);
        vm.prank(node1);
        escrow.withdrawCredits();
        vm.warp(block.timestamp + THAW_SECONDS);
        vm.prank(requester);
        escrow.completeWithdraw(node1);
    }
}
