// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPairEscrow} from "../interfaces/IPairEscrow.sol";
import {ISettlementEscrow} from "../interfaces/ISettlementEscrow.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {Encodings} from "../libraries/Encodings.sol";

/// @title PairEscrow
/// @notice Per (requester, node) escrow for direct requests, paid by vouchers and tickets.
/// See {IPairEscrow} and docs/market.md.
contract PairEscrow is ISettlementEscrow, ProtocolAccess, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role of the batch settlement contract, which redeems on behalf of nodes.
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    /// @notice Bounds of the timing parameters, in seconds.
    uint256 public constant MIN_THAW_PERIOD_SECONDS = 1 hours;
    uint256 public constant MAX_THAW_PERIOD_SECONDS = 365 days;
    uint256 public constant MIN_TICKET_LIFETIME_SECONDS = 1 minutes;
    uint256 public constant MAX_TICKET_LIFETIME_SECONDS = 30 days;
    uint256 public constant MAX_STAGE_SECONDS = 60 days;

    /// @dev Timing in one slot (every bound fits 32 bits): redeemTicket reads it once.
    struct PackedTiming {
        uint32 thawPeriod;
        uint32 ticketMaxLifetime;
        uint32 batchCommitLag;
        uint32 challengeWindow;
        uint32 disputeTime;
        uint32 grace;
    }

    /// @dev Totals in one slot so redemptions update both with one write.
    struct Totals {
        uint128 escrowed;
        uint128 credits;
    }

    IERC20 private immutable _token;

    PackedTiming private _timing;
    Totals private _totals;

    mapping(address requester => mapping(address node => Pair pair)) private _pairs;
    mapping(address requester => mapping(address node => Thaw thaw)) private _thaws;
    mapping(bytes32 ticketId => bool redeemed) private _ticketRedeemed;
    /// @inheritdoc IPairEscrow
    mapping(address account => uint256 credits) public creditOf;

    /// @notice Whether a node may redeem its vouchers itself. Deployments with batch settlement turn
    /// it off, so every payment passes through a committed, challengeable batch.
    bool public nodeRedeemEnabled = true;

    /// @param admin Default admin (also PARAMS_ROLE and PAUSER_ROLE at first).
    /// @param token_ The payment token (plain ERC20; fee-on-transfer tokens are rejected).
    /// @param timing_ Initial timing; must satisfy the thaw relation.
    constructor(address admin, IERC20 token_, Timing memory timing_) ProtocolAccess(admin) EIP712("LLMarket", "1") {
        if (address(token_) == address(0)) revert EscrowInvalidNode(address(0));
        _token = token_;
        _setTiming("ticketMaxLifetime", timing_.ticketMaxLifetime);
        _setTiming("batchCommitLag", timing_.batchCommitLag);
        _setTiming("challengeWindow", timing_.challengeWindow);
        _setTiming("disputeTime", timing_.disputeTime);
        _setTiming("grace", timing_.grace);
        _setTiming("thawPeriod", timing_.thawPeriod);
        _checkThawRelation();
    }

    // ---------------------------------------------------------------- requester

    /// @inheritdoc IPairEscrow
    function deposit(address node, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert EscrowZeroAmount();
        if (node == address(0)) revert EscrowInvalidNode(node);
        Pair storage pair = _pairs[msg.sender][node];
        uint256 balance = pair.balance + amount;
        // INVARIANT: a pair balance fits in 96 bits.
        _checkFits(balance);
        pair.balance = uint96(balance);
        _totals.escrowed += uint128(amount);
        _pull(msg.sender, amount);
        emit Deposited(msg.sender, node, amount, balance);
    }

    /// @inheritdoc IPairEscrow
    function requestWithdraw(address node, uint256 amount) external {
        _requestThaw(node, address(0), amount);
    }

    /// @inheritdoc IPairEscrow
    function requestMove(address fromNode, address toNode, uint256 amount) external {
        if (toNode == address(0) || toNode == fromNode) revert EscrowInvalidNode(toNode);
        _requestThaw(fromNode, toNode, amount);
    }

    /// @inheritdoc IPairEscrow
    function cancelThaw(address node) external {
        Thaw storage thaw = _thaws[msg.sender][node];
        uint256 amount = thaw.amount;
        if (amount == 0) revert EscrowNoThaw(msg.sender, node);
        delete _thaws[msg.sender][node];
        emit ThawCancelled(msg.sender, node, amount);
    }

    /// @inheritdoc IPairEscrow
    function completeWithdraw(address node) external nonReentrant returns (uint256 amount) {
        uint256 balance;
        (amount, balance) = _completeThaw(node, false);
        _totals.escrowed -= uint128(amount);
        emit Withdrawn(msg.sender, node, amount, balance);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IPairEscrow
    function completeMove(address fromNode) external returns (uint256 amount) {
        address toNode = _thaws[msg.sender][fromNode].toNode;
        uint256 fromBalance;
        (amount, fromBalance) = _completeThaw(fromNode, true);
        Pair storage to = _pairs[msg.sender][toNode];
        uint256 toBalance = to.balance + amount;
        // INVARIANT: a pair balance fits in 96 bits.
        _checkFits(toBalance);
        to.balance = uint96(toBalance);
        emit Moved(msg.sender, fromNode, toNode, amount, fromBalance, toBalance);
    }

    // ---------------------------------------------------------------- redemption

    /// @inheritdoc IPairEscrow
    function redeemVoucher(
        Encodings.Voucher calldata voucher,
        bytes calldata signature
    ) external returns (uint256 amount) {
        address node = voucher.node;
        // INVARIANT: only the paid node (or the settlement acting for it) picks which voucher to redeem.
        if (!(msg.sender == node && nodeRedeemEnabled) && !hasRole(SETTLER_ROLE, msg.sender)) {
            revert EscrowUnauthorizedRedeemer(msg.sender, node);
        }
        address requester = voucher.requester;
        _checkSignature(requester, _hashTypedDataV4(Encodings.hashVoucher(voucher)), signature);

        Pair memory pair = _pairs[requester][node];
        uint64 throughSequence = voucher.throughSequence;
        // INVARIANT: voucher sequences never go back, so tickets already covered stay covered.
        if (throughSequence < pair.voucherSequence) revert EscrowStaleVoucher(throughSequence, pair.voucherSequence);
        uint256 cumulative = voucher.cumulativeAmount;
        // INVARIANT: the pair never pays more in total than the highest cumulative amount redeemed,
        // plus tickets redeemed alone above its throughSequence.
        if (cumulative <= pair.paid) revert EscrowNothingOwed(cumulative, pair.paid);
        uint256 owed = cumulative - pair.paid;
        amount = owed < pair.balance ? owed : pair.balance;
        if (amount == 0) revert EscrowInsufficientBalance(0, owed);
        _pay(node, pair, amount);
        pair.voucherSequence = throughSequence;
        _pairs[requester][node] = pair;
        emit VoucherRedeemed(requester, node, cumulative, throughSequence, amount, pair.paid, pair.balance);
    }

    /// @inheritdoc IPairEscrow
    function redeemTicket(
        Encodings.Ticket calldata ticket,
        bytes calldata signature,
        uint32 tokensUsed
    ) external onlyRole(SETTLER_ROLE) returns (uint256 amount) {
        // INVARIANT: a node is never paid for more tokens than the ticket allows.
        if (tokensUsed > ticket.maxTokens) revert EscrowTooManyTokens(tokensUsed, ticket.maxTokens);
        uint256 deadline = redeemDeadline(ticket.expiry);
        // INVARIANT: tickets are redeemable only inside the window the thaw period covers.
        if (block.timestamp > deadline) revert EscrowTicketExpired(ticket.expiry, deadline, block.timestamp);
        bytes32 id = _hashTypedDataV4(Encodings.hashTicket(ticket));
        // INVARIANT: a ticket is redeemed alone at most once.
        if (_ticketRedeemed[id]) revert EscrowTicketAlreadyRedeemed(id);
        address requester = ticket.requester;
        address node = ticket.node;
        _checkSignature(requester, id, signature);

        Pair memory pair = _pairs[requester][node];
        // INVARIANT: a ticket covered by a redeemed voucher cannot be paid again alone.
        if (ticket.sequence <= pair.voucherSequence) {
            revert EscrowTicketSettledByVoucher(ticket.sequence, pair.voucherSequence);
        }
        amount = uint256(tokensUsed) * ticket.pricePerToken;
        if (amount > pair.balance) revert EscrowInsufficientBalance(pair.balance, amount);
        _ticketRedeemed[id] = true;
        _pay(node, pair, amount);
        _pairs[requester][node] = pair;
        emit TicketRedeemed(id, requester, node, ticket.sequence, tokensUsed, amount, pair.balance);
    }

    /// @inheritdoc ISettlementEscrow
    function collectVoucher(
        Encodings.Voucher calldata voucher,
        bytes calldata signature,
        uint256 maxAmount
    ) external onlyRole(SETTLER_ROLE) returns (uint256 amount) {
        address requester = voucher.requester;
        address node = voucher.node;
        _checkSignature(requester, _hashTypedDataV4(Encodings.hashVoucher(voucher)), signature);
        Pair memory pair = _pairs[requester][node];
        uint64 throughSequence = voucher.throughSequence;
        uint256 cumulative = voucher.cumulativeAmount;
        // A stale voucher or one already paid pays nothing (no revert: one bad group must not
        // block a chunk's other groups).
        if (throughSequence < pair.voucherSequence || cumulative <= pair.paid) return 0;
        uint256 owed = cumulative - pair.paid;
        amount = owed < pair.balance ? owed : pair.balance;
        // INVARIANT: settlement never takes more than the leaves it settles ask for.
        if (amount > maxAmount) amount = maxAmount;
        if (amount == 0) return 0;
        _pay(msg.sender, pair, amount);
        // The voucher's sequence is recorded only when it is paid in full, so a capped partial
        // payment does not void tickets the rest of the voucher has not paid for yet.
        if (amount == owed) pair.voucherSequence = throughSequence;
        _pairs[requester][node] = pair;
        emit VoucherRedeemed(requester, node, cumulative, throughSequence, amount, pair.paid, pair.balance);
    }

    /// @inheritdoc ISettlementEscrow
    function collectTicket(
        Encodings.Ticket calldata ticket,
        bytes calldata signature,
        uint32 tokensUsed
    ) external onlyRole(SETTLER_ROLE) returns (uint256 amount, bytes32 id) {
        if (tokensUsed > ticket.maxTokens) revert EscrowTooManyTokens(tokensUsed, ticket.maxTokens);
        uint256 deadline = redeemDeadline(ticket.expiry);
        if (block.timestamp > deadline) revert EscrowTicketExpired(ticket.expiry, deadline, block.timestamp);
        id = _hashTypedDataV4(Encodings.hashTicket(ticket));
        // INVARIANT: a ticket is paid alone at most once, by either path.
        if (_ticketRedeemed[id]) revert EscrowTicketAlreadyRedeemed(id);
        address requester = ticket.requester;
        _checkSignature(requester, id, signature);
        Pair memory pair = _pairs[requester][ticket.node];
        if (ticket.sequence <= pair.voucherSequence) {
            revert EscrowTicketSettledByVoucher(ticket.sequence, pair.voucherSequence);
        }
        amount = uint256(tokensUsed) * ticket.pricePerToken;
        if (amount > pair.balance) revert EscrowInsufficientBalance(pair.balance, amount);
        _ticketRedeemed[id] = true;
        _pay(msg.sender, pair, amount);
        _pairs[requester][ticket.node] = pair;
        emit TicketRedeemed(id, requester, ticket.node, ticket.sequence, tokensUsed, amount, pair.balance);
    }

    /// @notice Turns node self-redemption of vouchers on or off. Only PARAMS_ROLE.
    function setNodeRedeemEnabled(bool enabled) external onlyRole(PARAMS_ROLE) {
        nodeRedeemEnabled = enabled;
        emit ParameterChanged("nodeRedeemEnabled", enabled ? 0 : 1, enabled ? 1 : 0);
    }

    /// @inheritdoc IPairEscrow
    function withdrawCredits() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert EscrowNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        _totals.credits -= uint128(amount);
        emit CreditsWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc IPairEscrow
    function setTiming(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        _setTiming(name, value);
        _checkThawRelation();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPairEscrow
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IPairEscrow
    function pairOf(address requester, address node) external view returns (Pair memory) {
        return _pairs[requester][node];
    }

    /// @inheritdoc IPairEscrow
    function thawOf(address requester, address node) external view returns (Thaw memory) {
        return _thaws[requester][node];
    }

    /// @inheritdoc IPairEscrow
    function totals() external view returns (uint256 escrowed, uint256 credits) {
        Totals memory t = _totals;
        return (t.escrowed, t.credits);
    }

    /// @inheritdoc IPairEscrow
    function ticketRedeemed(bytes32 id) external view returns (bool) {
        return _ticketRedeemed[id];
    }

    /// @inheritdoc IPairEscrow
    function ticketId(Encodings.Ticket calldata ticket) external view returns (bytes32) {
        return _hashTypedDataV4(Encodings.hashTicket(ticket));
    }

    /// @inheritdoc IPairEscrow
    function voucherDigest(Encodings.Voucher calldata voucher) external view returns (bytes32) {
        return _hashTypedDataV4(Encodings.hashVoucher(voucher));
    }

    /// @inheritdoc IPairEscrow
    function redeemDeadline(uint64 expiry) public view returns (uint256) {
        PackedTiming memory t = _timing;
        return uint256(expiry) + t.batchCommitLag + t.challengeWindow + t.disputeTime;
    }

    /// @inheritdoc IPairEscrow
    function timing() external view returns (Timing memory) {
        PackedTiming memory t = _timing;
        return Timing(t.thawPeriod, t.ticketMaxLifetime, t.batchCommitLag, t.challengeWindow, t.disputeTime, t.grace);
    }

    // ---------------------------------------------------------------- internals

    function _requestThaw(address node, address toNode, uint256 amount) private {
        if (amount == 0) revert EscrowZeroAmount();
        Thaw memory thaw = _thaws[msg.sender][node];
        // INVARIANT: one pending thaw per pair, with one destination.
        if (thaw.amount != 0 && thaw.toNode != toNode) revert EscrowThawDestinationMismatch(thaw.toNode, toNode);
        uint256 balance = _pairs[msg.sender][node].balance;
        uint256 thawing = thaw.amount + amount;
        // INVARIANT: no more can thaw than the pair holds.
        if (thawing > balance)
            revert EscrowInsufficientBalance(balance > thaw.amount ? balance - thaw.amount : 0, amount);
        uint256 endsAt = block.timestamp + _timing.thawPeriod;
        _thaws[msg.sender][node] = Thaw(uint96(thawing), toNode, uint64(endsAt));
        emit ThawRequested(msg.sender, node, toNode, thawing, endsAt);
    }

    /// @dev Ends the caller's thaw on (caller, node) and takes min(thawing, balance) out of the pair.
    function _completeThaw(address node, bool isMove) private returns (uint256 amount, uint256 balance) {
        Thaw memory thaw = _thaws[msg.sender][node];
        if (thaw.amount == 0 || (thaw.toNode != address(0)) != isMove) revert EscrowNoThaw(msg.sender, node);
        // INVARIANT: escrow leaves a pair only after the full thaw period.
        if (block.timestamp < thaw.endsAt) revert EscrowThawNotOver(thaw.endsAt, block.timestamp);
        delete _thaws[msg.sender][node];
        Pair storage pair = _pairs[msg.sender][node];
        balance = pair.balance;
        // INVARIANT: thawing money stayed spendable, so only what is left can leave.
        amount = thaw.amount < balance ? thaw.amount : balance;
        balance -= amount;
        pair.balance = uint96(balance);
    }

    /// @dev Moves `amount` (<= pair.balance) from the pair in memory to `payee`'s credits (the
    /// node, or the settlement contract that splits it).
    function _pay(address payee, Pair memory pair, uint256 amount) private {
        uint256 paid = pair.paid + amount;
        // INVARIANT: the lifetime paid total fits in 96 bits.
        _checkFits(paid);
        // amount <= pair.balance (checked by both callers).
        pair.balance -= uint96(amount);
        pair.paid = uint96(paid);
        creditOf[payee] += amount;
        Totals memory t = _totals;
        // amount <= escrowed, which fits in 128 bits; credits <= total supply of escrowed tokens.
        t.escrowed -= uint128(amount);
        t.credits += uint128(amount);
        _totals = t;
    }

    /// @dev EOA signatures by ecrecover first (cheap), then ERC-1271 (contract wallets, revocable).
    function _checkSignature(address requester, bytes32 digest, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == requester) return;
        // INVARIANT: only the requester (or its ERC-1271 wallet, now) authorizes payment from its escrow.
        if (!SignatureChecker.isValidERC1271SignatureNowCalldata(requester, digest, signature)) {
            revert EscrowInvalidSignature(requester, digest);
        }
    }

    function _setTiming(bytes32 name, uint256 value) private {
        PackedTiming memory t = _timing;
        if (name == "thawPeriod") {
            t.thawPeriod = uint32(
                _checkParameter(name, t.thawPeriod, value, MIN_THAW_PERIOD_SECONDS, MAX_THAW_PERIOD_SECONDS)
            );
        } else if (name == "ticketMaxLifetime") {
            t.ticketMaxLifetime = uint32(
                _checkParameter(
                    name,
                    t.ticketMaxLifetime,
                    value,
                    MIN_TICKET_LIFETIME_SECONDS,
                    MAX_TICKET_LIFETIME_SECONDS
                )
            );
        } else if (name == "batchCommitLag") {
            t.batchCommitLag = uint32(_checkParameter(name, t.batchCommitLag, value, 0, MAX_STAGE_SECONDS));
        } else if (name == "challengeWindow") {
            t.challengeWindow = uint32(_checkParameter(name, t.challengeWindow, value, 0, MAX_STAGE_SECONDS));
        } else if (name == "disputeTime") {
            t.disputeTime = uint32(_checkParameter(name, t.disputeTime, value, 0, MAX_STAGE_SECONDS));
        } else if (name == "grace") {
            t.grace = uint32(_checkParameter(name, t.grace, value, 0, MAX_STAGE_SECONDS));
        } else {
            revert EscrowUnknownParameter(name);
        }
        _timing = t;
    }

    function _checkThawRelation() private view {
        PackedTiming memory t = _timing;
        uint256 mustExceed =
            uint256(t.ticketMaxLifetime) + t.batchCommitLag + t.challengeWindow + t.disputeTime + t.grace;
        // INVARIANT: a thaw outlasts every ticket accepted before it (lifetime + settlement stages + grace).
        if (t.thawPeriod <= mustExceed) revert EscrowThawTooShort(t.thawPeriod, mustExceed);
    }

    function _checkFits(uint256 amount) private pure {
        if (amount > type(uint96).max) revert EscrowAmountTooLarge(amount, type(uint96).max);
    }

    /// @dev Pulls exactly `amount` from `from`; rejects tokens that deliver less.
    function _pull(address from, uint256 amount) private {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        // INVARIANT: escrowed balances equal tokens received.
        if (received != amount) revert EscrowTransferAmountMismatch(amount, received);
    }
}
