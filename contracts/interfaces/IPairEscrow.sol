// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Encodings} from "../libraries/Encodings.sol";

/// @title IPairEscrow
/// @notice Escrow for direct requests, reserved per (requester, node) pair: money deposited for one
/// node can only ever pay that node, so a requester cannot spend the same money with two nodes.
/// Nodes are paid by redeeming requester-signed cumulative vouchers (the normal path, one
/// signature per pair) or single tickets (the fallback path); payments become credits of the node,
/// pulled with `withdrawCredits`. There is no ticket cancel: escrow leaves a pair only through a
/// thaw (withdrawal or move to another node) longer than any ticket can stay redeemable.
/// @dev Thaw rule: a thawing amount stays in the pair's balance and remains spendable by
/// redemptions until the thaw completes; completion takes min(thawing, balance). So a requester
/// cannot front-run a node's redemption with a withdrawal. A ticket is redeemable until
/// `expiry + batchCommitLag + challengeWindow + disputeTime`; nodes accept only tickets with
/// `expiry <= now + ticketMaxLifetime` and treat thawing amounts as unavailable for new tickets; and
/// `thawPeriod > ticketMaxLifetime + batchCommitLag + challengeWindow + disputeTime + grace` is
/// enforced on every parameter change. Hence every ticket a node accepted before a thaw was
/// requested stays payable from the thawing balance until its last redemption time.
/// No-double-payment rule: per pair, `paid` is the lifetime total paid and `voucherSequence` the
/// highest redeemed voucher `throughSequence`. A voucher pays `cumulativeAmount - paid` (capped by
/// the balance) and needs `throughSequence >= voucherSequence`; a ticket redeemed alone needs
/// `sequence > voucherSequence` and an unused ticket id, is marked used and adds to `paid`.
/// Balances are uint96 (about 7.9e28 token wei) so one slot holds balance, paid and sequence.
interface IPairEscrow {
    /// @notice The escrow of one (requester, node) pair.
    /// @param balance Escrowed tokens, thawing included.
    /// @param paid Lifetime total paid to the node from this pair (vouchers and tickets).
    /// @param voucherSequence Highest `throughSequence` of a redeemed voucher.
    struct Pair {
        uint96 balance;
        uint96 paid;
        uint64 voucherSequence;
    }

    /// @notice A pending thaw of one pair.
    /// @param amount Tokens requested to leave the pair (a cap: completion takes min(amount, balance)).
    /// @param toNode Zero for a withdrawal to the requester, else the node whose pair receives the move.
    /// @param endsAt When the thaw may be completed.
    struct Thaw {
        uint96 amount;
        address toNode;
        uint64 endsAt;
    }

    /// @notice The timing parameters (seconds) and the relation the thaw must satisfy.
    struct Timing {
        uint256 thawPeriod;
        uint256 ticketMaxLifetime;
        uint256 batchCommitLag;
        uint256 challengeWindow;
        uint256 disputeTime;
        uint256 grace;
    }

    /// @notice `requester` deposited `amount` for `node`; `balance` is the pair's balance after.
    event Deposited(address indexed requester, address indexed node, uint256 amount, uint256 balance);
    /// @notice A thaw was requested (or added to); `amount` is the pair's whole thawing amount after.
    event ThawRequested(
        address indexed requester,
        address indexed node,
        address indexed toNode,
        uint256 amount,
        uint256 endsAt
    );
    /// @notice The requester cancelled its pending thaw.
    event ThawCancelled(address indexed requester, address indexed node, uint256 amount);
    /// @notice A withdrawal completed: `amount` left the pair to the requester.
    event Withdrawn(address indexed requester, address indexed node, uint256 amount, uint256 balance);
    /// @notice A move completed: `amount` went from the (requester, fromNode) pair to (requester, toNode).
    event Moved(
        address indexed requester,
        address indexed fromNode,
        address indexed toNode,
        uint256 amount,
        uint256 fromBalance,
        uint256 toBalance
    );
    /// @notice A voucher was redeemed: `amount` paid now, `paid` the pair's lifetime total after.
    event VoucherRedeemed(
        address indexed requester,
        address indexed node,
        uint256 cumulativeAmount,
        uint64 throughSequence,
        uint256 amount,
        uint256 paid,
        uint256 balance
    );
    /// @notice A ticket was redeemed alone for `tokensUsed` tokens.
    event TicketRedeemed(
        bytes32 indexed ticketId,
        address indexed requester,
        address indexed node,
        uint64 sequence,
        uint32 tokensUsed,
        uint256 amount,
        uint256 balance
    );
    /// @notice `account` withdrew its credits.
    event CreditsWithdrawn(address indexed account, uint256 amount);

    /// @notice The amount is zero.
    error EscrowZeroAmount();
    /// @notice A node or requester address is zero, or a move targets the same node.
    error EscrowInvalidNode(address node);
    /// @notice The pair balance (or its non-thawing part) is too small.
    error EscrowInsufficientBalance(uint256 have, uint256 need);
    /// @notice A balance or total would not fit in 96 bits.
    error EscrowAmountTooLarge(uint256 amount, uint256 max);
    /// @notice A thaw with another destination is pending on this pair.
    error EscrowThawDestinationMismatch(address pendingToNode, address requestedToNode);
    /// @notice No thaw (of the expected kind) is pending on this pair.
    error EscrowNoThaw(address requester, address node);
    /// @notice The thaw has not ended yet.
    error EscrowThawNotOver(uint256 endsAt, uint256 nowSeconds);
    /// @notice The thaw period does not exceed the sum it must exceed (both sides shown).
    error EscrowThawTooShort(uint256 thawPeriod, uint256 mustExceed);
    /// @notice The caller may not redeem for this node.
    error EscrowUnauthorizedRedeemer(address caller, address node);
    /// @notice The signature is not the requester's (EOA or ERC-1271).
    error EscrowInvalidSignature(address requester, bytes32 digest);
    /// @notice The voucher settles fewer tickets than one already redeemed.
    error EscrowStaleVoucher(uint64 throughSequence, uint64 voucherSequence);
    /// @notice Nothing is owed: the voucher's cumulative amount is already paid.
    error EscrowNothingOwed(uint256 cumulativeAmount, uint256 paid);
    /// @notice The ticket was already redeemed alone.
    error EscrowTicketAlreadyRedeemed(bytes32 ticketId);
    /// @notice The ticket's sequence is covered by a redeemed voucher.
    error EscrowTicketSettledByVoucher(uint64 sequence, uint64 voucherSequence);
    /// @notice The ticket's redemption deadline passed.
    error EscrowTicketExpired(uint64 expiry, uint256 redeemDeadline, uint256 nowSeconds);
    /// @notice More tokens than the ticket allows.
    error EscrowTooManyTokens(uint32 tokensUsed, uint32 maxTokens);
    /// @notice The token moved a different amount than requested (fee-on-transfer tokens are unsupported).
    error EscrowTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice No credits to withdraw.
    error EscrowNoCredits(address account);
    /// @notice `setTiming` got a name that is not a timing parameter.
    error EscrowUnknownParameter(bytes32 name);

    /// @notice Pulls `amount` from the caller into its pair with `node`. Pausable.
    function deposit(address node, uint256 amount) external;

    /// @notice Starts (or adds to, restarting the clock) a withdrawal thaw of `amount` from the
    /// caller's pair with `node`. Needs `amount` of non-thawing balance. Open while paused.
    function requestWithdraw(address node, uint256 amount) external;

    /// @notice Starts (or adds to) a thaw moving `amount` from the caller's pair with `fromNode` to its
    /// pair with `toNode`. Same rules as `requestWithdraw`. Open while paused.
    function requestMove(address fromNode, address toNode, uint256 amount) external;

    /// @notice Cancels the caller's pending thaw on its pair with `node` (the money stays escrowed).
    function cancelThaw(address node) external;

    /// @notice Completes the caller's ended withdrawal thaw: transfers min(thawing, balance). Open while paused.
    function completeWithdraw(address node) external returns (uint256 amount);

    /// @notice Completes the caller's ended move thaw: moves min(thawing, balance). Open while paused.
    function completeMove(address fromNode) external returns (uint256 amount);

    /// @notice Pays `voucher.node` `cumulativeAmount - paid` (capped by the balance) from the pair.
    /// Only the voucher's node or SETTLER_ROLE (a requester must not be able to redeem a low
    /// voucher with a high throughSequence to void the node's tickets). Open while paused.
    function redeemVoucher(Encodings.Voucher calldata voucher, bytes calldata signature) external returns (uint256);

    /// @notice Pays `ticket.node` `tokensUsed * pricePerToken` for one ticket whose voucher never
    /// came. Only SETTLER_ROLE (the batch settlement, which has let the leaf's challenge window pass).
    /// Open while paused.
    function redeemTicket(
        Encodings.Ticket calldata ticket,
        bytes calldata signature,
        uint32 tokensUsed
    ) external returns (uint256);

    /// @notice Withdraws all of the caller's credits. Open while paused.
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Sets one timing parameter (`name` one of thawPeriod, ticketMaxLifetime, batchCommitLag,
    /// challengeWindow, disputeTime, grace), range-checked, then checks the thaw relation. Only PARAMS_ROLE.
    function setTiming(bytes32 name, uint256 value) external;

    /// @notice The escrow token.
    function token() external view returns (IERC20);

    /// @notice The pair's balance, lifetime paid total and highest redeemed voucher sequence.
    function pairOf(address requester, address node) external view returns (Pair memory);

    /// @notice The pair's pending thaw (zero amount if none).
    function thawOf(address requester, address node) external view returns (Thaw memory);

    /// @notice Withdrawable credits of `account`.
    function creditOf(address account) external view returns (uint256);

    /// @notice Sum of all pair balances and sum of all credits: together the tokens this contract owes.
    function totals() external view returns (uint256 escrowed, uint256 credits);

    /// @notice Whether the ticket id was redeemed alone.
    function ticketRedeemed(bytes32 ticketId) external view returns (bool);

    /// @notice The ticket id (EIP-712 digest under this contract's domain).
    function ticketId(Encodings.Ticket calldata ticket) external view returns (bytes32);

    /// @notice The voucher's EIP-712 digest under this contract's domain.
    function voucherDigest(Encodings.Voucher calldata voucher) external view returns (bytes32);

    /// @notice Last second at which a ticket with `expiry` can be redeemed.
    function redeemDeadline(uint64 expiry) external view returns (uint256);

    /// @notice The current timing parameters.
    function timing() external view returns (Timing memory);
}
