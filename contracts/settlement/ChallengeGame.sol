// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {IChallengeGame} from "../interfaces/IChallengeGame.sol";
import {IBatchSettlement} from "../interfaces/IBatchSettlement.sol";
import {IDisputeResolver} from "../interfaces/IDisputeResolver.sol";
import {ISettlementEscrow} from "../interfaces/ISettlementEscrow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {Encodings} from "../libraries/Encodings.sol";
import {PositionalMerkle} from "../libraries/PositionalMerkle.sol";

/// @title ChallengeGame
/// @notice Challenge-response over batch leaves (see IChallengeGame). Holds challenge bonds; every
/// bond ends as a credit here or back in its slot: to the node when it answers or wins (its
/// response calldata is paid for), back to the challenger's slot when the node is silent or loses.
/// @dev A validator's challenges live in reusable slots, one storage word each, keyed by
/// `challengeId = challenger << 96 | slot`: the word holds the slot's prepaid bond balance and
/// either a commitment (its top 112 bits and the commit time) or the revealed challenge. Reusing
/// a word costs 5,000 gas where a fresh one costs 22,100, which is what keeps commit + reveal
/// under 120k gas (docs/settlement.md). Receipts are EIP-712 messages under this contract's
/// domain ("LLMarket", "1").
contract ChallengeGame is IChallengeGame, ProtocolAccess, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant RESOLVER_ROLE = keccak256("RESOLVER_ROLE");

    uint8 public constant VOID_SILENT = 0;
    uint8 public constant VOID_GUILTY = 1;
    uint8 public constant VOID_EQUIVOCATION = 2;
    uint8 public constant VOID_TICKET_MISMATCH = 3;

    uint256 public constant MIN_WINDOW_SECONDS = 5;
    uint256 public constant MAX_WINDOW_SECONDS = 30 days;
    uint256 public constant MAX_BOND = 1e27;
    uint256 public constant MAX_COMMITTEE_SHARE_BPS = 5_000;

    // Layout of a slot word.
    uint256 private constant BALANCE_MASK = (1 << 96) - 1; // bits 0-95: prepaid bond balance
    uint256 private constant STATUS_SHIFT = 96; // 4 bits: ChallengeStatus
    uint256 private constant KIND_SHIFT = 100; // 4 bits: challenge kind
    uint256 private constant TIME_SHIFT = 104; // 40 bits: commit time, then response deadline
    uint256 private constant TAG_SHIFT = 144; // Committed: the commitment's top 112 bits
    uint256 private constant VERSION_SHIFT = 144; // revealed: 32 bits bond version,
    uint256 private constant BATCH_SHIFT = 176; // 48 bits batch id,
    uint256 private constant LEAF_SHIFT = 224; // 32 bits leaf index

    IERC20 public immutable token;
    IBatchSettlement public immutable settlement;
    IStaking public immutable staking;
    INodeRegistry public immutable nodeRegistry;
    ISettlementEscrow public immutable escrow;

    /// @dev One slot: everything a reveal reads.
    struct Params {
        uint128 bond;
        uint32 bondVersion;
        uint32 responseWindow;
        uint16 committeeShareBps;
    }

    /// @dev A slot word, unpacked.
    struct Slot {
        uint256 balance;
        ChallengeStatus status;
        uint8 kind;
        uint256 time;
        uint32 bondVersion;
        uint256 batchId;
        uint32 leafIndex;
    }

    IDisputeResolver public resolver;
    Params internal _params;
    /// @notice Bond tokens held: slot balances plus the bonds of open challenges.
    uint256 public bondsHeld;
    uint256 public totalCredits;

    mapping(uint32 version => uint256 bond) internal _bondAt;
    mapping(uint256 challengeId => uint256 word) internal _slots;
    mapping(uint256 batchId => IBatchSettlement.BatchHeader) internal _disputeHeaders;
    mapping(uint256 batchId => mapping(uint32 leafIndex => address challenger)) internal _wrongOutput;
    mapping(address account => uint256 amount) public creditOf;

    constructor(
        address admin,
        IERC20 token_,
        IBatchSettlement settlement_,
        IStaking staking_,
        INodeRegistry nodeRegistry_,
        ISettlementEscrow escrow_,
        uint256 challengeBond_,
        uint256 responseWindow_,
        uint256 committeeShareBps_
    ) ProtocolAccess(admin) EIP712("LLMarket", "1") {
        token = token_;
        settlement = settlement_;
        staking = staking_;
        nodeRegistry = nodeRegistry_;
        escrow = escrow_;
        _setParam("challengeBond", challengeBond_);
        _setParam("responseWindow", responseWindow_);
        _setParam("committeeShareBps", committeeShareBps_);
    }

    /// @notice Sets the wrong-output dispute resolver (the committee contract). Only the admin.
    function setResolver(IDisputeResolver newResolver) external onlyRole(DEFAULT_ADMIN_ROLE) {
        resolver = newResolver;
        emit ResolverSet(address(newResolver));
    }

    /// @inheritdoc IChallengeGame
    function setParameter(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        _setParam(name, value);
    }

    function _setParam(bytes32 name, uint256 value) internal {
        Params memory p = _params;
        if (name == "challengeBond") {
            p.bond = uint128(_checkParameter(name, p.bond, value, 0, MAX_BOND));
            // Bonds are fixed at reveal even if governance changes the parameter later.
            p.bondVersion += 1;
            _bondAt[p.bondVersion] = value;
        } else if (name == "responseWindow") {
            p.responseWindow = uint32(
                _checkParameter(name, p.responseWindow, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS)
            );
        } else if (name == "committeeShareBps") {
            p.committeeShareBps = uint16(_checkParameter(name, p.committeeShareBps, value, 0, MAX_COMMITTEE_SHARE_BPS));
        } else {
            revert ChallengeUnknownParameter(name);
        }
        _params = p;
    }

    /// @notice The bond a reveal takes now.
    function challengeBond() external view returns (uint256) {
        return _params.bond;
    }

    /// @notice Version of `challengeBond`, incremented on every change.
    function bondVersion() external view returns (uint32) {
        return _params.bondVersion;
    }

    function responseWindow() external view returns (uint256) {
        return _params.responseWindow;
    }

    /// @inheritdoc IChallengeGame
    function committeeShareBps() external view returns (uint256) {
        return _params.committeeShareBps;
    }

    // ------------------------------------------------------------------ slots, commit, reveal

    /// @inheritdoc IChallengeGame
    function fundSlot(uint96 slot, uint256 amount) external nonReentrant {
        if (amount == 0) revert ChallengeZeroAmount();
        uint256 id = challengeIdOf(msg.sender, slot);
        uint256 w = _slots[id];
        uint256 balance = (w & BALANCE_MASK) + amount;
        if (balance > BALANCE_MASK) revert ChallengeSlotBalanceTooLow(id, BALANCE_MASK - (w & BALANCE_MASK), amount);
        _slots[id] = (w & ~BALANCE_MASK) | balance;
        bondsHeld += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit SlotFunded(id, amount, balance);
    }

    /// @inheritdoc IChallengeGame
    function withdrawSlot(uint96 slot, uint256 amount) external nonReentrant {
        if (amount == 0) revert ChallengeZeroAmount();
        uint256 id = challengeIdOf(msg.sender, slot);
        uint256 w = _slots[id];
        uint256 balance = w & BALANCE_MASK;
        if (amount > balance) revert ChallengeSlotBalanceTooLow(id, balance, amount);
        _slots[id] = w - amount;
        bondsHeld -= amount;
        token.safeTransfer(msg.sender, amount);
        emit SlotWithdrawn(id, amount, balance - amount);
    }

    /// @inheritdoc IChallengeGame
    function commitChallenge(uint96 slot, bytes32 commitment) external {
        uint256 id = challengeIdOf(msg.sender, slot);
        uint256 w = _slots[id];
        ChallengeStatus st = _statusOf(w);
        // INVARIANT: a slot holds one live challenge; it is reused only once that one is closed.
        if (st == ChallengeStatus.Open || st == ChallengeStatus.Disputed) revert ChallengeSlotBusy(id, st);
        // No bond and no stake check here: an unrevealed commitment costs nobody but its sender.
        _slots[id] =
            (w & BALANCE_MASK) |
            (uint256(ChallengeStatus.Committed) << STATUS_SHIFT) |
            (block.timestamp << TIME_SHIFT) |
            ((uint256(commitment) >> TAG_SHIFT) << TAG_SHIFT);
        emit ChallengeCommitted(id, commitment);
    }

    /// @inheritdoc IChallengeGame
    function revealChallenge(
        uint96 slot,
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        uint32 leafIndex,
        uint8 kind,
        bytes32 salt
    ) external whenNotPaused nonReentrant {
        if (kind > Encodings.CHALLENGE_WRONG_OUTPUT) revert ChallengeBadKind(kind);
        uint256 id = challengeIdOf(msg.sender, slot);
        uint256 w = _slots[id];
        // INVARIANT: the commitment binds batch, leaf, kind and challenger, and only the
        // challenger's own slot holds it: a copied commitment or reveal is useless to anyone else.
        bytes32 commitment = Encodings.challengeCommitment(batchId, leafIndex, kind, msg.sender, salt);
        if (_statusOf(w) != ChallengeStatus.Committed || (w >> TAG_SHIFT) != (uint256(commitment) >> TAG_SHIFT)) {
            revert ChallengeUnknownCommitment(id, commitment);
        }
        if (msg.sender == header.node) revert ChallengeSelfChallenge(header.node);
        // INVARIANT: only staked validators challenge (a challenge costs the node a response).
        uint256 stake = staking.activeStakeOf(msg.sender);
        uint256 minimum = staking.minValidatorStake();
        if (stake < minimum) revert ChallengeNotStakedValidator(msg.sender, stake, minimum);
        Params memory p = _params;
        uint256 balance = w & BALANCE_MASK;
        if (balance < p.bond) revert ChallengeBondNotFunded(id, balance, p.bond);
        // Checks the header, the phase, the index and that the leaf is not challenged yet.
        settlement.openChallenge(batchId, header, leafIndex, (w >> TIME_SHIFT) & type(uint40).max);
        uint256 deadline = block.timestamp + p.responseWindow;
        _slots[id] = _pack(
            Slot({
                balance: balance - p.bond,
                status: ChallengeStatus.Open,
                kind: kind,
                time: deadline,
                bondVersion: p.bondVersion,
                batchId: batchId,
                leafIndex: leafIndex
            })
        );
        emit ChallengeRevealed(batchId, leafIndex, id, kind, uint64(deadline), p.bond);
    }

    // ------------------------------------------------------------------ response and outcomes

    /// @inheritdoc IChallengeGame
    function respondToChallenge(
        uint256 challengeId,
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        LeafData calldata data
    ) external nonReentrant {
        settlement.checkHeader(batchId, header);
        Slot memory c = _live(challengeId, ChallengeStatus.Open);
        if (c.batchId != batchId || c.leafIndex != leaf.index) {
            revert ChallengeWrongLeaf(challengeId, batchId, leaf.index);
        }
        if (block.timestamp > c.time) revert ChallengeResponseLate(c.time, block.timestamp);
        bytes32 leafHash = _verifyLeaf(batchId, header, leaf, proof);
        _checkData(batchId, leaf, data);
        emit ChallengeAnswered(batchId, leaf.index, challengeId, leafHash);
        if (c.kind == Encodings.CHALLENGE_DATA) {
            _close(challengeId, c, header, true, false, VOID_SILENT);
            return;
        }
        c.status = ChallengeStatus.Disputed;
        _slots[challengeId] = _pack(c);
        _openDispute(challengeId, batchId, header, leaf, leafHash);
    }

    /// @dev Hands an answered wrong-output challenge to the resolver (the committee).
    function _openDispute(
        uint256 challengeId,
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32 leafHash
    ) internal {
        IDisputeResolver r = resolver;
        if (address(r) == address(0)) revert ChallengeNoResolver();
        address challenger = _challengerOf(challengeId);
        _wrongOutput[batchId][leaf.index] = challenger;
        if (_disputeHeaders[batchId].node == address(0)) _disputeHeaders[batchId] = header;
        uint256 disputeId = r.openDispute(
            challengeId,
            batchId,
            leaf.index,
            header.node,
            challenger,
            leaf.model,
            leafHash,
            leaf.profile
        );
        emit DisputeOpened(challengeId, batchId, leaf.index, address(r), disputeId);
    }

    /// @inheritdoc IChallengeGame
    function slashSilent(
        uint256 challengeId,
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header
    ) external nonReentrant {
        Slot memory c = _live(challengeId, ChallengeStatus.Open);
        if (c.batchId != batchId) revert ChallengeWrongLeaf(challengeId, batchId, c.leafIndex);
        // INVARIANT: silence is punished only after the whole response window has passed.
        if (block.timestamp <= c.time) revert ChallengeResponseNotLate(c.time, block.timestamp);
        if (c.kind == Encodings.CHALLENGE_WRONG_OUTPUT) {
            _wrongOutput[batchId][c.leafIndex] = _challengerOf(challengeId);
        }
        _close(challengeId, c, header, false, false, VOID_SILENT);
    }

    /// @inheritdoc IChallengeGame
    function resolveDispute(uint256 challengeId, bool guilty) external onlyRole(RESOLVER_ROLE) nonReentrant {
        Slot memory c = _live(challengeId, ChallengeStatus.Disputed);
        _close(challengeId, c, _disputeHeaders[c.batchId], !guilty, true, VOID_GUILTY);
    }

    /// @dev The slot's challenge, which must be in status `want`.
    function _live(uint256 challengeId, ChallengeStatus want) internal view returns (Slot memory c) {
        c = _unpack(_slots[challengeId]);
        if (c.status != want) revert ChallengeWrongStatus(challengeId, c.status);
    }

    /// @dev Ends a challenge. Cleared: the bond compensates the node. Upheld: the bond returns to
    /// the challenger's slot and the settlement slashes the node (challenger share) and voids the
    /// batch. After a dispute, `committeeShareBps` of the losing side's bond (not guilty) or of the
    /// slash (guilty) pays the resolver, which pays its majority voters; the deciding committee
    /// never gains from one verdict over the other by more than that fixed share of either side.
    function _close(
        uint256 challengeId,
        Slot memory c,
        IBatchSettlement.BatchHeader memory header,
        bool cleared,
        bool disputed,
        uint8 reason
    ) internal {
        c.status = cleared ? ChallengeStatus.Cleared : ChallengeStatus.Upheld;
        uint256 share = disputed ? _params.committeeShareBps : 0;
        uint256 bond = _bondAt[c.bondVersion];
        address challenger = _challengerOf(challengeId);
        address bondTo = cleared ? header.node : challenger;
        if (cleared) {
            uint256 toCommittee = disputed ? (bond * share) / 10_000 : 0;
            _creditBond(bondTo, bond - toCommittee);
            _creditBond(address(resolver), toCommittee);
        } else if (c.balance + bond <= BALANCE_MASK) {
            c.balance += bond; // stays in bondsHeld
        } else {
            _creditBond(challenger, bond);
        }
        _slots[challengeId] = _pack(c);
        uint256 slashed = settlement.closeChallenge(
            c.batchId,
            header,
            c.leafIndex,
            cleared,
            challenger,
            disputed ? address(resolver) : address(0),
            share,
            reason
        );
        emit ChallengeClosed(c.batchId, c.leafIndex, challengeId, c.status, bondTo, bond, slashed);
    }

    /// @inheritdoc IChallengeGame
    function proveEquivocation(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Receipt calldata receipt,
        bytes calldata signature
    ) external nonReentrant {
        settlement.checkHeader(batchId, header);
        _verifyLeaf(batchId, header, leaf, proof);
        // INVARIANT: equivocation = the node signed a receipt for this ticket that the leaf contradicts.
        if (
            leaf.kind != Encodings.LEAF_TICKET ||
            receipt.ticket != leaf.ref ||
            (receipt.output == leaf.output && receipt.tokens == leaf.tokens)
        ) revert ChallengeNotEquivocation(batchId, leaf.index);
        address signer = ECDSA.recover(receiptDigest(receipt), signature);
        if (signer != header.node && signer != nodeRegistry.getNode(header.node).signer) {
            revert ChallengeBadReceiptSigner(signer);
        }
        uint256 slashed = settlement.voidBatch(batchId, header, msg.sender, VOID_EQUIVOCATION);
        emit EquivocationProven(batchId, leaf.index, msg.sender, slashed);
    }

    /// @inheritdoc IChallengeGame
    function proveTicketMismatch(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Ticket calldata ticket,
        bytes calldata signature
    ) external nonReentrant {
        settlement.checkHeader(batchId, header);
        _verifyLeaf(batchId, header, leaf, proof);
        if (leaf.kind != Encodings.LEAF_TICKET) revert ChallengeNotEquivocation(batchId, leaf.index);
        bytes32 id = escrow.ticketId(ticket);
        if (id != leaf.ref) revert ChallengeNotEquivocation(batchId, leaf.index);
        if (!SignatureChecker.isValidSignatureNow(ticket.requester, id, signature)) {
            revert ChallengeBadTicketSignature(ticket.requester);
        }
        // INVARIANT: a ticket leaf restates its ticket and claims at most what the ticket allows.
        bool faithful =
            ticket.node == header.node &&
                ticket.requester == leaf.requester &&
                ticket.model == leaf.model &&
                ticket.adapter == leaf.adapter &&
                ticket.input == leaf.input &&
                ticket.profile == leaf.profile &&
                ticket.expiry == leaf.expiry &&
                leaf.tokens <= ticket.maxTokens &&
                leaf.amount <= uint256(leaf.tokens) * ticket.pricePerToken;
        if (faithful) revert ChallengeNotEquivocation(batchId, leaf.index);
        uint256 slashed = settlement.voidBatch(batchId, header, msg.sender, VOID_TICKET_MISMATCH);
        emit TicketMismatchProven(batchId, leaf.index, msg.sender, slashed);
    }

    // ------------------------------------------------------------------ credits and views

    /// @inheritdoc IChallengeGame
    function withdrawCredits() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert ChallengeNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        totalCredits -= amount;
        token.safeTransfer(msg.sender, amount);
        emit CreditsWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IChallengeGame
    function challengeIdOf(address challenger, uint96 slot) public pure returns (uint256) {
        return (uint256(uint160(challenger)) << 96) | slot;
    }

    /// @inheritdoc IChallengeGame
    function challengeOf(uint256 challengeId) external view returns (Challenge memory ch) {
        Slot memory c = _unpack(_slots[challengeId]);
        ch.challenger = _challengerOf(challengeId);
        ch.slot = uint96(challengeId);
        ch.status = c.status;
        ch.kind = c.kind;
        ch.time = uint64(c.time);
        ch.balance = uint128(c.balance);
        if (c.status != ChallengeStatus.Committed && c.status != ChallengeStatus.None) {
            ch.batchId = uint64(c.batchId);
            ch.leafIndex = c.leafIndex;
            ch.bond = uint128(_bondAt[c.bondVersion]);
        }
    }

    /// @inheritdoc IChallengeGame
    function wrongOutputChallengerOf(uint256 batchId, uint32 leafIndex) external view returns (address) {
        return _wrongOutput[batchId][leafIndex];
    }

    /// @inheritdoc IChallengeGame
    function receiptDigest(Encodings.Receipt calldata receipt) public view returns (bytes32) {
        return _hashTypedDataV4(Encodings.hashReceipt(receipt));
    }

    function _challengerOf(uint256 challengeId) internal pure returns (address) {
        return address(uint160(challengeId >> 96));
    }

    function _statusOf(uint256 w) internal pure returns (ChallengeStatus) {
        return ChallengeStatus((w >> STATUS_SHIFT) & 0xf);
    }

    function _unpack(uint256 w) internal pure returns (Slot memory c) {
        c.balance = w & BALANCE_MASK;
        c.status = _statusOf(w);
        c.kind = uint8((w >> KIND_SHIFT) & 0xf);
        c.time = (w >> TIME_SHIFT) & type(uint40).max;
        if (c.status != ChallengeStatus.Committed) {
            c.bondVersion = uint32(w >> VERSION_SHIFT);
            c.batchId = uint48(w >> BATCH_SHIFT);
            c.leafIndex = uint32(w >> LEAF_SHIFT);
        }
    }

    /// @dev Packs a revealed challenge (batch ids beyond 48 bits cannot be challenged).
    function _pack(Slot memory c) internal pure returns (uint256) {
        return
            c.balance |
            (uint256(c.status) << STATUS_SHIFT) |
            (uint256(c.kind) << KIND_SHIFT) |
            (uint256(uint40(c.time)) << TIME_SHIFT) |
            (uint256(c.bondVersion) << VERSION_SHIFT) |
            (uint256(SafeCast.toUint48(c.batchId)) << BATCH_SHIFT) |
            (uint256(c.leafIndex) << LEAF_SHIFT);
    }

    function _creditBond(address to, uint256 bond) internal {
        if (bond == 0) return;
        bondsHeld -= bond;
        creditOf[to] += bond;
        totalCredits += bond;
    }

    function _verifyLeaf(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof
    ) internal pure returns (bytes32 leafHash) {
        leafHash = Encodings.hashLeaf(leaf);
        if (!PositionalMerkle.verify(header.root, leafHash, leaf.index, header.leafCount, proof)) {
            revert ChallengeLeafProofInvalid(batchId, leaf.index);
        }
    }

    /// @dev The posted data must be exactly what the leaf committed to.
    function _checkData(uint256 batchId, Encodings.Leaf calldata leaf, LeafData calldata data) internal pure {
        // INVARIANT: the node cannot answer leaf i with another leaf's data.
        bytes32 inputHash = Encodings.hashInput(data.prompt, data.maxTokens, data.stop, data.seed);
        if (inputHash != leaf.input) revert ChallengeDataMismatch(batchId, leaf.index, leaf.input, inputHash);
        bytes32 outputHash = Encodings.hashOutput(leaf.profile, data.tokens);
        if (outputHash != leaf.output) revert ChallengeDataMismatch(batchId, leaf.index, leaf.output, outputHash);
        if (data.tokens.length != leaf.tokens) {
            revert ChallengeDataMismatch(
                batchId,
                leaf.index,
                bytes32(uint256(leaf.tokens)),
                bytes32(data.tokens.length)
            );
        }
    }
}
