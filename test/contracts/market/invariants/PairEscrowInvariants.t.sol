// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../../utils/Test.sol";
import {Invariant} from "../../utils/Invariant.sol";
import {TestToken} from "../../../../contracts/token/TestToken.sol";
import {PairEscrow} from "../../../../contracts/market/PairEscrow.sol";
import {IPairEscrow} from "../../../../contracts/interfaces/IPairEscrow.sol";
import {Encodings} from "../../../../contracts/libraries/Encodings.sol";

/// @notice Drives PairEscrow with 3 requesters (keys known) and 3 nodes; this handler is the settler.
/// Lives in the .t.sol file: Hardhat emits artifacts only for test roots, and the invariant runner
/// needs the handler's artifact.
contract PairEscrowHandler is Test {
    PairEscrow public immutable escrow;
    TestToken public immutable token;

    uint256[3] internal keys = [uint256(0xA1), 0xA2, 0xA3];
    address[3] public requesters;
    address[3] public nodeList;

    // Ghosts
    uint256 public deposited;
    uint256 public withdrawnByRequesters;
    uint256 public withdrawnCredits;
    mapping(address requester => mapping(address node => uint256 amount)) public authorized;
    mapping(address requester => mapping(address node => uint64 sequence)) public nextSequence;
    mapping(address requester => mapping(address node => uint256 amount)) public voucherTotal;

    constructor(PairEscrow escrow_, TestToken token_) {
        escrow = escrow_;
        token = token_;
        for (uint256 i; i < 3; ++i) {
            requesters[i] = vm.addr(keys[i]);
            nodeList[i] = address(uint160(0xB00 + i));
        }
    }

    function _r(uint256 i) internal view returns (uint256 key, address requester) {
        key = keys[i % 3];
        requester = requesters[i % 3];
    }

    function deposit(uint256 ri, uint256 ni, uint256 amount) external {
        (, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        amount = bound(amount, 1, 1_000e18);
        token.faucet(requester, amount);
        vm.startPrank(requester);
        token.approve(address(escrow), amount);
        escrow.deposit(node, amount);
        vm.stopPrank();
        deposited += amount;
    }

    function requestWithdraw(uint256 ri, uint256 ni, uint256 amount) external {
        (, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        uint256 balance = escrow.pairOf(requester, node).balance;
        uint256 thawing = escrow.thawOf(requester, node).amount;
        if (balance <= thawing || escrow.thawOf(requester, node).toNode != address(0)) return;
        amount = bound(amount, 1, balance - thawing);
        vm.prank(requester);
        escrow.requestWithdraw(node, amount);
    }

    function requestMove(uint256 ri, uint256 ni, uint256 toi, uint256 amount) external {
        (, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        address to = nodeList[toi % 3];
        if (to == node) return;
        IPairEscrow.Thaw memory thaw = escrow.thawOf(requester, node);
        uint256 balance = escrow.pairOf(requester, node).balance;
        if (balance <= thaw.amount || (thaw.amount != 0 && thaw.toNode != to)) return;
        amount = bound(amount, 1, balance - thaw.amount);
        vm.prank(requester);
        escrow.requestMove(node, to, amount);
    }

    function complete(uint256 ri, uint256 ni) external {
        (, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        IPairEscrow.Thaw memory thaw = escrow.thawOf(requester, node);
        if (thaw.amount == 0) return;
        if (block.timestamp < thaw.endsAt) vm.warp(thaw.endsAt);
        vm.prank(requester);
        if (thaw.toNode == address(0)) {
            withdrawnByRequesters += escrow.completeWithdraw(node);
        } else {
            escrow.completeMove(node);
        }
    }

    /// @dev The requester authorizes `amount` more of work for the pair (honest bookkeeping).
    function work(uint256 ri, uint256 ni, uint256 amount) external {
        (, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        authorized[requester][node] += bound(amount, 0, 100e18);
    }

    function redeemVoucher(uint256 ri, uint256 ni) external {
        (uint256 key, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        uint64 seq = ++nextSequence[requester][node];
        Encodings.Voucher memory v = Encodings.Voucher(requester, node, authorized[requester][node], seq);
        (uint8 vv, bytes32 r, bytes32 s) = vm.sign(key, escrow.voucherDigest(v));
        vm.prank(node);
        try escrow.redeemVoucher(v, abi.encodePacked(r, s, vv)) {} catch {}
        voucherTotal[requester][node] = authorized[requester][node];
    }

    function redeemTicket(uint256 ri, uint256 ni, uint32 tokens, uint256 price) external {
        (uint256 key, address requester) = _r(ri);
        address node = nodeList[ni % 3];
        uint64 seq = ++nextSequence[requester][node];
        price = bound(price, 0, 1e18);
        tokens = uint32(bound(tokens, 0, 50));
        Encodings.Ticket memory t = Encodings.Ticket(
            requester,
            node,
            bytes32(0),
            bytes32(0),
            bytes32(uint256(seq)),
            50,
            price,
            seq,
            uint64(block.timestamp + 1 hours),
            bytes32(0)
        );
        (uint8 vv, bytes32 r, bytes32 s) = vm.sign(key, escrow.ticketId(t));
        // The ticket's work is part of what the requester owes (vouchers are cumulative).
        authorized[requester][node] += uint256(tokens) * price;
        try escrow.redeemTicket(t, abi.encodePacked(r, s, vv), tokens) {} catch {}
    }

    function withdrawCredits(uint256 ni) external {
        address node = nodeList[ni % 3];
        if (escrow.creditOf(node) == 0) return;
        vm.prank(node);
        withdrawnCredits += escrow.withdrawCredits();
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 0, 3 days));
    }
}

contract PairEscrowInvariants is Test, Invariant {
    TestToken internal token;
    PairEscrow internal escrow;
    PairEscrowHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new TestToken(0);
        escrow = new PairEscrow(
            address(this),
            token,
            IPairEscrow.Timing(10 days, 1 days, 1 hours, 1 days, 3 days, 1 days)
        );
        handler = new PairEscrowHandler(escrow, token);
        escrow.grantRole(escrow.SETTLER_ROLE(), address(handler));
        targetContract(address(handler));
    }

    /// @dev E1: tokens held == sum of pair balances (thawing included) + sum of credits == totals.
    function invariant_heldEqualsEscrowPlusCredits() public view {
        uint256 balances;
        uint256 credits;
        for (uint256 i; i < 3; ++i) {
            credits += escrow.creditOf(handler.nodeList(i));
            for (uint256 j; j < 3; ++j) balances += escrow.pairOf(handler.requesters(i), handler.nodeList(j)).balance;
        }
        (uint256 escrowed, uint256 totalCredits) = escrow.totals();
        assertEq(escrowed, balances, "escrowed total");
        assertEq(totalCredits, credits, "credit total");
        assertEq(token.balanceOf(address(escrow)), balances + credits, "held");
    }

    /// @dev E2: conservation: deposited == held + withdrawn by requesters + credits withdrawn by nodes.
    function invariant_conservation() public view {
        assertEq(
            handler.deposited(),
            token.balanceOf(address(escrow)) + handler.withdrawnByRequesters() + handler.withdrawnCredits(),
            "conservation"
        );
    }

    /// @dev E3: per pair, the node was never paid more than the requester authorized (vouchers and
    /// tickets together); E4: every thaw is at most the pair's balance or is clamped at completion.
    function invariant_paidNeverExceedsAuthorized() public view {
        for (uint256 i; i < 3; ++i) {
            for (uint256 j; j < 3; ++j) {
                address r = handler.requesters(i);
                address n = handler.nodeList(j);
                assertLe(escrow.pairOf(r, n).paid, handler.authorized(r, n), "paid <= authorized");
            }
        }
    }
}
