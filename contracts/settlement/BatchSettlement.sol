// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {IBatchSettlement} from "../interfaces/IBatchSettlement.sol";
import {ISettlementEscrow} from "../interfaces/ISettlementEscrow.sol";
import {IAuctionSettlement} from "../interfaces/IAuctionSettlement.sol";
import {IRewardPool} from "../interfaces/IRewardPool.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Encodings} from "../libraries/Encodings.sol";
import {PositionalMerkle} from "../libraries/PositionalMerkle.sol";

/// @dev The credit views of the auction market that settlement pulls from.
interface IAuctionMarketCredits {
    function creditOf(address account) external view returns (uint256);
    function withdrawCredits() external returns (uint256);
}

/// @title BatchSettlement
/// @notice Batch commits, chunked settlement, the hooks the challenge game drives (hold, clear,
/// void and slash), and the credit ledger of everything settlement pays.
/// @dev Token flows: payments are collected from the escrow and the auction market as credits of
/// this contract there, so no tokens move while settling. Everything this contract owes is in
/// `creditOf` (node payments, royalties, protocol fees); slashes happen in Staking with their split
/// decided here. Tokens held here plus credits held for this contract in the escrow and the market
/// always cover `totalCredits`.
contract BatchSettlement is IBatchSettlement, ProtocolAccess, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant CHALLENGE_ROLE = keccak256("CHALLENGE_ROLE");

    uint256 public constant MAX_LEAVES = 1 << 16;
    uint256 public constant CHUNK_LEAVES = PositionalMerkle.CHUNK_LEAVES;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant FULL_SCORE = 1e18;

    /// @notice Reasons a batch is voided.
    uint8 public constant VOID_SILENT = 0;
    uint8 public constant VOID_GUILTY = 1;
    uint8 public constant VOID_EQUIVOCATION = 2;
    uint8 public constant VOID_TICKET_MISMATCH = 3;

    // Parameter bounds.
    uint256 public constant MIN_LOCK_FACTOR_BPS = 10_000;
    uint256 public constant MAX_LOCK_FACTOR_BPS = 200_000;
    uint256 public constant MIN_WINDOW_SECONDS = 5;
    uint256 public constant MAX_WINDOW_SECONDS = 30 days;
    uint256 public constant MAX_BOND = 1e30;
    uint256 public constant MAX_FEE_BPS = 2_000;
    uint256 public constant MAX_CHALLENGER_SHARE_BPS = 5_000;
    uint256 public constant MIN_SLASH_FACTOR_BPS = 10_000;
    uint256 public constant MAX_SLASH_FACTOR_BPS = 100_000;

    IERC20 public immutable token;
    IStaking public immutable staking;
    INodeRegistry public immutable nodeRegistry;
    IModelRegistry public immutable modelRegistry;
    ISettlementEscrow public immutable escrow;
    address public immutable treasury;

    IAuctionSettlement public auctionMarket;
    /// @notice Receives each settlement's paid amount and fees as the node's work points (optional).
    IRewardPool public rewardPool;

    /// @dev The parameters packed so that one slot holds all but minSlash (each is bounded well
    /// inside its field); `params()` returns them as the ABI's `Params`.
    struct StoredParams {
        uint32 challengeWindow;
        uint32 revealPeriod;
        uint32 batchCommitLag;
        uint32 lockFactorBps;
        uint32 protocolFeeBps;
        uint32 challengerShareBps;
        uint32 slashFactorBps;
        uint128 minSlash;
    }
    StoredParams internal _params;
    uint256 public batchCount;
    uint256 public totalCredits;

    /// @dev One word per batch: the header hash's top 192 bits, then the batch's state in the low
    /// 64 bits (open challenges: 24 bits, settled chunks: 16, voided: 1, released: 1). commitBatch
    /// writes it once; challenges and settlement then update a warm, existing slot.
    mapping(uint256 batchId => uint256 word) internal _batch;
    mapping(uint256 batchId => uint256 amount) internal _paid;
    uint256 private constant HASH_MASK = ~uint256(type(uint64).max);
    mapping(uint256 batchId => mapping(uint256 word => uint256 bits)) internal _chunkBits;
    /// @dev Leaf statuses, 4 bits a leaf, 64 leaves a word (a chunk is 4 words): one storage write
    /// per challenge instead of a slot per leaf, and 4 reads per settled chunk.
    mapping(uint256 batchId => mapping(uint256 word => uint256 nibbles)) internal _statusBits;
    mapping(address account => uint256 amount) public creditOf;

    /// @dev Running sums of one settlement call.
    struct Tally {
        uint256 paid;
        uint256 royalties;
        uint256 fees;
        uint256 remaining;
        uint256 nextPayment;
        uint256 nextTicket;
        uint32 held;
        uint32 unpaid;
        bytes32 lastModel;
        address lastOwner;
        uint256 lastPerToken;
        uint256[4] words;
        uint256 index;
        uint256 lag;
    }

    /// @dev Consecutive ticket leaves of one requester and one model, paid by one voucher.
    struct Group {
        address requester;
        bytes32 model;
        address owner;
        uint256 perToken;
        uint256 sum;
        uint256 tokens;
        uint32 count;
    }

    constructor(
        address admin,
        IERC20 token_,
        IStaking staking_,
        INodeRegistry nodeRegistry_,
        IModelRegistry modelRegistry_,
        ISettlementEscrow escrow_,
        address treasury_,
        Params memory initial
    ) ProtocolAccess(admin) {
        token = token_;
        staking = staking_;
        nodeRegistry = nodeRegistry_;
        modelRegistry = modelRegistry_;
        escrow = escrow_;
        treasury = treasury_;
        _setParam("lockFactorBps", initial.lockFactorBps);
        _setParam("challengeWindow", initial.challengeWindow);
        _setParam("revealPeriod", initial.revealPeriod);
        _setParam("protocolFeeBps", initial.protocolFeeBps);
        _setParam("challengerShareBps", initial.challengerShareBps);
        _setParam("slashFactorBps", initial.slashFactorBps);
        _setParam("minSlash", initial.minSlash);
        _setParam("batchCommitLag", initial.batchCommitLag);
    }

    // ------------------------------------------------------------------ wiring and parameters

    /// @notice Sets the auction market whose jobs auction leaves settle. Only the admin.
    function setAuctionMarket(IAuctionSettlement market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        auctionMarket = market;
        emit AuctionMarketSet(address(market));
    }

    /// @notice Sets the reward pool that records work at settlement (zero: none). Only the admin.
    function setRewardPool(IRewardPool pool) external onlyRole(DEFAULT_ADMIN_ROLE) {
        rewardPool = pool;
        emit RewardPoolSet(address(pool));
    }

    /// @inheritdoc IBatchSettlement
    function setParameter(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        _setParam(name, value);
    }

    function _setParam(bytes32 name, uint256 value) internal {
        StoredParams storage p = _params;
        if (name == "lockFactorBps") {
            p.lockFactorBps = uint32(
                _checkParameter(name, p.lockFactorBps, value, MIN_LOCK_FACTOR_BPS, MAX_LOCK_FACTOR_BPS)
            );
        } else if (name == "challengeWindow") {
            p.challengeWindow = uint32(
                _checkParameter(name, p.challengeWindow, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS)
            );
        } else if (name == "revealPeriod") {
            p.revealPeriod = uint32(
                _checkParameter(name, p.revealPeriod, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS)
            );
        } else if (name == "protocolFeeBps") {
            p.protocolFeeBps = uint32(_checkParameter(name, p.protocolFeeBps, value, 0, MAX_FEE_BPS));
        } else if (name == "challengerShareBps") {
            p.challengerShareBps = uint32(
                _checkParameter(name, p.challengerShareBps, value, 0, MAX_CHALLENGER_SHARE_BPS)
            );
        } else if (name == "slashFactorBps") {
            p.slashFactorBps = uint32(
                _checkParameter(name, p.slashFactorBps, value, MIN_SLASH_FACTOR_BPS, MAX_SLASH_FACTOR_BPS)
            );
        } else if (name == "minSlash") {
            p.minSlash = uint128(_checkParameter(name, p.minSlash, value, 0, MAX_BOND));
        } else if (name == "batchCommitLag") {
            p.batchCommitLag = uint32(
                _checkParameter(name, p.batchCommitLag, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS)
            );
        } else {
            revert SettlementUnknownParameter(name);
        }
    }

    // ------------------------------------------------------------------ commit

    /// @inheritdoc IBatchSettlement
    function commitBatch(
        bytes32 root,
        uint32 leafCount,
        uint128 payout
    ) external whenNotPaused returns (uint256 batchId) {
        // INVARIANT: only registered nodes commit, and batches stay within the settleable size.
        if (leafCount == 0 || leafCount > MAX_LEAVES) revert SettlementBadLeafCount(leafCount, MAX_LEAVES);
        if (!nodeRegistry.isRegistered(msg.sender)) revert SettlementNotRegistered(msg.sender);
        // Reason: payout < 2^128 and lockFactorBps <= 2e5, so the product fits in 256 bits.
        uint256 lock;
        unchecked {
            lock = (uint256(payout) * _params.lockFactorBps) / BPS;
        }
        if (lock > type(uint128).max) revert SettlementPayoutTooLarge(payout);
        // INVARIANT: a batch is backed by at least lockFactor × payout of the node's stake.
        staking.lock(msg.sender, lock);
        unchecked {
            batchId = ++batchCount;
        }
        BatchHeader memory h = BatchHeader({
            node: msg.sender,
            leafCount: leafCount,
            committedAt: uint64(block.timestamp),
            payout: payout,
            lock: uint128(lock),
            root: root
        });
        _batch[batchId] = uint256(keccak256(abi.encode(h))) & HASH_MASK;
        emit BatchCommitted(batchId, msg.sender, root, leafCount, payout, uint128(lock), uint64(block.timestamp));
    }

    // ------------------------------------------------------------------ settlement

    /// @inheritdoc IBatchSettlement
    function settleChunk(
        uint256 batchId,
        BatchHeader calldata header,
        Chunk calldata chunk
    ) external whenNotPaused nonReentrant {
        _checkHeader(batchId, header);
        BatchState memory st = _load(batchId);
        if (st.voided) revert SettlementBatchVoided(batchId);
        st.paid = uint128(_paid[batchId]);
        _checkSettleOpen(batchId, header);
        uint256 chunks = _chunkCount(header.leafCount);
        uint32 chunkIndex = chunk.index;
        if (chunkIndex >= chunks) revert SettlementChunkOutOfRange(chunkIndex, chunks);
        if (_isChunkSettled(batchId, chunkIndex)) revert SettlementChunkAlreadySettled(batchId, chunkIndex);

        // INVARIANT: the leaves paid are exactly the committed chunk, in position.
        _verifyChunk(batchId, header, chunk);

        Tally memory t;
        t.remaining = header.payout - st.paid;
        _payLeaves(batchId, header, chunk, t);

        _markChunkSettled(batchId, chunkIndex);
        // Reason: paid <= remaining = payout - st.paid, so neither sum overflows.
        unchecked {
            st.paid += uint128(t.paid);
            st.settledChunks += 1;
        }
        _save(batchId, st);
        _paid[batchId] = st.paid;
        uint256 toNode = _distribute(header.node, t);
        emit ChunkSettled(batchId, chunkIndex, t.paid, toNode, t.royalties, t.fees, t.held, t.unpaid);
        _maybeRelease(batchId, header, st, chunks);
    }

    /// @inheritdoc IBatchSettlement
    function settleHeldLeaf(
        uint256 batchId,
        BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        PairPayment[] calldata payment,
        TicketPayment[] calldata ticket
    ) external whenNotPaused nonReentrant {
        _checkHeader(batchId, header);
        BatchState memory st = _load(batchId);
        if (st.voided) revert SettlementBatchVoided(batchId);
        st.paid = uint128(_paid[batchId]);
        // INVARIANT: only a leaf held back by a since-cleared challenge is paid here, once.
        if (
            _statusOf(batchId, leaf.index) != LeafStatus.Cleared || !_isChunkSettled(batchId, leaf.index / CHUNK_LEAVES)
        ) {
            revert SettlementLeafNotHeld(batchId, leaf.index);
        }
        _verifyLeaf(batchId, header, leaf, proof);
        _setLeafStatus(batchId, leaf.index, LeafStatus.Paid);

        Tally memory t;
        t.remaining = header.payout - st.paid;
        _payOne(header, leaf, payment, ticket, t);
        unchecked {
            st.paid += uint128(t.paid);
        }
        _paid[batchId] = st.paid;
        _distribute(header.node, t);
        emit HeldLeafSettled(batchId, leaf.index, t.paid);
    }

    function _maybeRelease(
        uint256 batchId,
        BatchHeader calldata header,
        BatchState memory st,
        uint256 chunks
    ) internal {
        if (st.released || st.voided || st.openChallenges != 0 || st.settledChunks != chunks) return;
        st.released = true;
        _save(batchId, st);
        uint256 unlocked = staking.unlock(header.node, header.lock);
        emit BatchReleased(batchId, header.node, unlocked);
    }

    /// @dev Pays a chunk's leaves group by group. A ticket group's payable leaves (not held, not
    /// paid by their own ticket) are paid by the next voucher if it names the group's requester;
    /// auction leaves are paid by the market.
    function _payLeaves(uint256 batchId, BatchHeader calldata header, Chunk calldata chunk, Tally memory t) internal {
        for (uint256 w = 0; w < 4; ++w) t.words[w] = _statusBits[batchId][uint256(chunk.index) * 4 + w];
        t.index = uint256(chunk.index) * CHUNK_LEAVES;
        t.lag = _params.batchCommitLag;
        uint256 groups = chunk.groups.length;
        for (uint256 gi = 0; gi < groups; ++gi) {
            _payGroupLeaves(batchId, header, chunk, chunk.groups[gi], t);
        }
    }

    function _payGroupLeaves(
        uint256 batchId,
        BatchHeader calldata header,
        Chunk calldata chunk,
        LeafGroup calldata lg,
        Tally memory t
    ) internal {
        Group memory g;
        g.requester = lg.requester;
        g.model = lg.model;
        (g.owner, g.perToken) = _royalty(lg.model, t);
        uint256 n = lg.leaves.length;
        for (uint256 k = 0; k < n; ++k) {
            (bool payable_, uint256 amount, uint32 tokens) = _leafStep(batchId, header, chunk, lg, lg.leaves[k], t);
            if (payable_) {
                g.sum += amount;
                g.tokens += tokens;
                ++g.count;
            }
        }
        if (g.count != 0) _payGroup(header.node, g, chunk.payments, t);
    }

    /// @dev One leaf: held (skipped), auction (paid by the market), ticket fallback (paid by its
    /// ticket) or voucher-payable (returned to the group's sum).
    function _leafStep(
        uint256 batchId,
        BatchHeader calldata header,
        Chunk calldata chunk,
        LeafGroup calldata lg,
        CompactLeaf calldata c,
        Tally memory t
    ) internal returns (bool payable_, uint256 amount, uint32 tokens) {
        uint256 leafIndex = t.index++;
        if (_isHeld(batchId, leafIndex, t)) return (false, 0, 0);
        uint256 packed = c.packed;
        tokens = uint32(packed);
        if (lg.kind == Encodings.LEAF_AUCTION) {
            _payAuctionLeaf(header.node, c.ref, c.output, lg.model, tokens, t);
            return (false, 0, 0);
        }
        // INVARIANT: a ticket leaf counts only if committed before its ticket could lapse.
        uint256 expiry = uint64(packed >> 32);
        if (expiry + t.lag < header.committedAt)
            revert SettlementTicketCommittedLate(leafIndex, expiry, header.committedAt);
        if (t.nextTicket < chunk.tickets.length && chunk.tickets[t.nextTicket].leafIndex == leafIndex) {
            _payTicketLeaf(header.node, c.ref, lg.requester, lg.model, tokens, chunk.tickets[t.nextTicket], t);
            ++t.nextTicket;
            return (false, 0, 0);
        }
        return (true, packed >> 128, tokens);
    }

    /// @dev True when a challenge holds the leaf back; a leaf cleared before its chunk settled is
    /// marked paid here (it is paid with the chunk, and never again as a held leaf).
    function _isHeld(uint256 batchId, uint256 leafIndex, Tally memory t) internal returns (bool) {
        uint256 status = (t.words[(leafIndex >> 6) & 3] >> ((leafIndex & 63) << 2)) & 0xf;
        if (status == uint256(LeafStatus.None)) return false;
        if (status == uint256(LeafStatus.Held)) {
            // A challenged leaf waits for its verdict; the others settle on time.
            ++t.held;
            return true;
        }
        _setLeafStatus(batchId, uint32(leafIndex), LeafStatus.Paid);
        return false;
    }

    /// @dev Royalty terms of `model`, cached for consecutive groups of one model.
    function _royalty(bytes32 model, Tally memory t) internal view returns (address owner, uint256 perToken) {
        if (model != t.lastModel || t.lastOwner == address(0)) {
            (t.lastOwner, t.lastPerToken) = modelRegistry.royaltyOf(model);
            t.lastModel = model;
        }
        return (t.lastOwner, t.lastPerToken);
    }

    /// @dev One held leaf (memory), paid like a group of one.
    function _payOne(
        BatchHeader calldata header,
        Encodings.Leaf memory leaf,
        PairPayment[] calldata payments,
        TicketPayment[] calldata tickets,
        Tally memory t
    ) internal {
        if (leaf.kind == Encodings.LEAF_AUCTION) {
            _payAuctionLeaf(header.node, leaf.ref, leaf.output, leaf.model, leaf.tokens, t);
            return;
        }
        if (uint256(leaf.expiry) + _params.batchCommitLag < header.committedAt) {
            revert SettlementTicketCommittedLate(leaf.index, leaf.expiry, header.committedAt);
        }
        if (tickets.length != 0 && tickets[0].leafIndex == leaf.index) {
            _payTicketLeaf(header.node, leaf.ref, leaf.requester, leaf.model, leaf.tokens, tickets[0], t);
            return;
        }
        Group memory g;
        g.requester = leaf.requester;
        g.model = leaf.model;
        (g.owner, g.perToken) = _royalty(leaf.model, t);
        g.sum = leaf.amount;
        g.tokens = leaf.tokens;
        g.count = 1;
        _payGroup(header.node, g, payments, t);
    }

    function _payGroup(address node, Group memory g, PairPayment[] calldata payments, Tally memory t) internal {
        uint256 pi = t.nextPayment;
        if (pi >= payments.length || payments[pi].voucher.requester != g.requester) {
            t.unpaid += g.count;
            return;
        }
        t.nextPayment = pi + 1;
        PairPayment calldata p = payments[pi];
        if (p.voucher.node != node) revert SettlementVoucherForOtherNode(p.voucher.node, node);
        uint256 cap = g.sum < t.remaining ? g.sum : t.remaining;
        uint256 got = cap == 0 ? 0 : escrow.collectVoucher(p.voucher, p.signature, cap);
        if (got == 0) t.unpaid += g.count;
        _book(got, g.perToken * g.tokens, g.owner, t, true);
    }

    function _payTicketLeaf(
        address node,
        bytes32 ref,
        address requester,
        bytes32 model,
        uint32 tokens,
        TicketPayment calldata tp,
        Tally memory t
    ) internal {
        Encodings.Ticket calldata tk = tp.ticket;
        // INVARIANT: a ticket pays only the leaf that names it, for its own node and requester.
        if (tk.node != node || tk.requester != requester) revert SettlementTicketMismatch(tp.leafIndex);
        uint256 price = uint256(tokens) * tk.pricePerToken;
        if (price > t.remaining) {
            ++t.unpaid;
            return;
        }
        (uint256 got, bytes32 id) = escrow.collectTicket(tk, tp.signature, tokens);
        if (id != ref) revert SettlementTicketMismatch(tp.leafIndex);
        (address owner, uint256 perToken) = _royalty(model, t);
        _book(got, perToken * tokens, owner, t, true);
    }

    function _payAuctionLeaf(
        address node,
        bytes32 ref,
        bytes32 output,
        bytes32 model,
        uint32 tokens,
        Tally memory t
    ) internal {
        IAuctionSettlement market = auctionMarket;
        if (address(market) == address(0)) revert SettlementNoAuctionMarket();
        // INVARIANT: never more than the batch declared; the market refunds the rest to the requester.
        uint256 got = t.remaining == 0 ? 0 : market.collectJob(uint256(ref), node, output, t.remaining);
        if (got == 0) ++t.unpaid;
        (address owner, uint256 perToken) = _royalty(model, t);
        // The market already took its protocol fee from the job's escrow: none is charged again.
        _book(got, perToken * tokens, owner, t, false);
    }

    /// @dev Books a payment: protocol fee first, then the royalty (capped by what is left).
    function _book(uint256 got, uint256 royalty, address owner, Tally memory t, bool chargeFee) internal {
        if (got == 0) return;
        t.paid += got;
        t.remaining -= got;
        uint256 fee = chargeFee ? (got * _params.protocolFeeBps) / BPS : 0;
        uint256 rest = got - fee;
        if (royalty > rest) royalty = rest;
        t.fees += fee;
        if (royalty != 0 && owner != address(0)) {
            t.royalties += royalty;
            creditOf[owner] += royalty;
        }
    }

    function _distribute(address node, Tally memory t) internal returns (uint256 toNode) {
        if (t.paid == 0) return 0;
        toNode = t.paid - t.fees - t.royalties;
        creditOf[node] += toNode;
        if (t.fees != 0) creditOf[treasury] += t.fees;
        totalCredits += t.paid;
        nodeRegistry.recordOutcome(node, FULL_SCORE, t.paid);
        IRewardPool pool = rewardPool;
        if (address(pool) != address(0)) pool.recordWork(node, t.paid, t.fees);
    }

    // ------------------------------------------------------------------ challenge-game hooks

    /// @inheritdoc IBatchSettlement
    function openChallenge(
        uint256 batchId,
        BatchHeader calldata header,
        uint32 leafIndex,
        uint256 committedAt
    ) external onlyRole(CHALLENGE_ROLE) {
        _checkHeader(batchId, header);
        BatchState memory st = _load(batchId);
        if (st.voided) revert SettlementBatchVoided(batchId);
        StoredParams storage p = _params;
        uint256 windowEnd = uint256(header.committedAt) + p.challengeWindow;
        uint256 revealEnd = windowEnd + p.revealPeriod;
        // INVARIANT: a challenge was committed inside the window and is revealed before settlement
        // opens, so a chunk never settles a leaf that a timely challenge names.
        if (committedAt > windowEnd || block.timestamp > revealEnd) {
            revert SettlementChallengeClosed(batchId, block.timestamp, revealEnd);
        }
        if (leafIndex >= header.leafCount) {
            revert PositionalMerkle.PositionalMerkleIndexOutOfRange(leafIndex, header.leafCount);
        }
        if (_statusOf(batchId, leafIndex) != LeafStatus.None)
            revert SettlementLeafAlreadyChallenged(batchId, leafIndex);
        _writeLeafStatus(batchId, leafIndex, LeafStatus.Held);
        unchecked {
            st.openChallenges += 1;
        }
        _save(batchId, st);
    }

    /// @inheritdoc IBatchSettlement
    function closeChallenge(
        uint256 batchId,
        BatchHeader calldata header,
        uint32 leafIndex,
        bool cleared,
        address beneficiary,
        address committee,
        uint256 committeeBps,
        uint8 reason
    ) external onlyRole(CHALLENGE_ROLE) nonReentrant returns (uint256 slashed) {
        _checkHeader(batchId, header);
        LeafStatus ls = _statusOf(batchId, leafIndex);
        if (ls != LeafStatus.Held) revert SettlementLeafNotChallenged(batchId, leafIndex, ls);
        BatchState memory st = _load(batchId);
        unchecked {
            st.openChallenges -= 1;
        }
        _save(batchId, st);
        if (cleared) {
            _setLeafStatus(batchId, leafIndex, LeafStatus.Cleared);
            _maybeRelease(batchId, header, st, _chunkCount(header.leafCount));
            return 0;
        }
        _setLeafStatus(batchId, leafIndex, LeafStatus.Upheld);
        if (st.voided) return 0; // already voided (and slashed) by an earlier proof
        slashed = _void(batchId, header, beneficiary, committee, committeeBps, reason);
    }

    /// @inheritdoc IBatchSettlement
    function voidBatch(
        uint256 batchId,
        BatchHeader calldata header,
        address beneficiary,
        uint8 reason
    ) external onlyRole(CHALLENGE_ROLE) nonReentrant returns (uint256 slashed) {
        _checkHeader(batchId, header);
        slashed = _void(batchId, header, beneficiary, address(0), 0, reason);
    }

    /// @inheritdoc IBatchSettlement
    function checkHeader(uint256 batchId, BatchHeader calldata header) external view {
        _checkHeader(batchId, header);
    }

    function _setLeafStatus(uint256 batchId, uint32 leafIndex, LeafStatus status) internal {
        _writeLeafStatus(batchId, leafIndex, status);
        emit LeafStatusChanged(batchId, leafIndex, status);
    }

    /// @dev Without the event: the hold at a reveal is reported by ChallengeGame's ChallengeRevealed.
    function _writeLeafStatus(uint256 batchId, uint32 leafIndex, LeafStatus status) internal {
        uint256 shift = (uint256(leafIndex) & 63) << 2;
        mapping(uint256 word => uint256 nibbles) storage words = _statusBits[batchId];
        uint256 w = uint256(leafIndex) >> 6;
        words[w] = (words[w] & ~(uint256(0xf) << shift)) | (uint256(status) << shift);
    }

    function _statusOf(uint256 batchId, uint32 leafIndex) internal view returns (LeafStatus) {
        return LeafStatus((_statusBits[batchId][uint256(leafIndex) >> 6] >> ((uint256(leafIndex) & 63) << 2)) & 0xf);
    }

    /// @dev Slashes the node at least the batch payout (locked stake first), voids the batch's
    /// unsettled chunks (their requesters are never charged), and unlocks what is left of this
    /// batch's lock. A batch is voided at most once; later proofs against it change nothing.
    function _void(
        uint256 batchId,
        BatchHeader calldata header,
        address beneficiary,
        address committee,
        uint256 committeeBps,
        uint8 reason
    ) internal returns (uint256 slashed) {
        BatchState memory st = _load(batchId);
        if (st.voided) revert SettlementBatchVoided(batchId);
        st.voided = true;
        bool wasReleased = st.released;
        st.released = true;
        _save(batchId, st);
        uint256 n = committee == address(0) ? 1 : 2;
        address[] memory who = new address[](n);
        uint256[] memory bps = new uint256[](n);
        who[0] = beneficiary;
        bps[0] = _params.challengerShareBps;
        if (n == 2) {
            who[1] = committee;
            bps[1] = committeeBps;
        }
        slashed = _slashNode(header, who, bps, wasReleased);
        emit BatchVoided(batchId, header.node, reason, beneficiary, slashed);
    }

    /// @dev Slashes max(payout × slashFactor, minSlash) with the given split and unlocks what is
    /// left of this batch's lock.
    function _slashNode(
        BatchHeader calldata header,
        address[] memory who,
        uint256[] memory bps,
        bool wasReleased
    ) internal returns (uint256 slashed) {
        address node = header.node;
        uint256 amount = (uint256(header.payout) * _params.slashFactorBps) / BPS;
        if (amount < _params.minSlash) amount = _params.minSlash;
        uint256 lockedBefore = staking.lockedOf(node);
        // INVARIANT: the node loses at least the payout it claimed (capped by all its stake).
        slashed = staking.slash(node, amount, who, bps);
        uint256 fromLocked = lockedBefore - staking.lockedOf(node);
        if (!wasReleased && fromLocked < header.lock) staking.unlock(node, header.lock - fromLocked);
        if (slashed != 0) nodeRegistry.recordOutcome(node, 0, slashed);
    }

    // ------------------------------------------------------------------ credits

    /// @inheritdoc IBatchSettlement
    function withdrawCredits() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert SettlementNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        totalCredits -= amount;
        if (token.balanceOf(address(this)) < amount) {
            // Collected payments wait as this contract's credits in the escrow and the market.
            if (escrow.creditOf(address(this)) != 0) escrow.withdrawCredits();
            IAuctionMarketCredits market = IAuctionMarketCredits(address(auctionMarket));
            if (address(market) != address(0) && market.creditOf(address(this)) != 0) market.withdrawCredits();
        }
        token.safeTransfer(msg.sender, amount);
        emit CreditsWithdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IBatchSettlement
    function stateOf(uint256 batchId) external view returns (BatchState memory st) {
        st = _load(batchId);
        st.paid = uint128(_paid[batchId]);
    }

    /// @inheritdoc IBatchSettlement
    function headerHashOf(uint256 batchId) external view returns (bytes32) {
        return bytes32(_batch[batchId] & HASH_MASK);
    }

    /// @inheritdoc IBatchSettlement
    function leafStatusOf(uint256 batchId, uint32 leafIndex) external view returns (LeafStatus) {
        return _statusOf(batchId, leafIndex);
    }

    /// @inheritdoc IBatchSettlement
    function chunkSettled(uint256 batchId, uint256 chunkIndex) external view returns (bool) {
        return _isChunkSettled(batchId, chunkIndex);
    }

    /// @inheritdoc IBatchSettlement
    function params() external view returns (Params memory) {
        StoredParams memory p = _params;
        return
            Params({
                lockFactorBps: p.lockFactorBps,
                challengeWindow: p.challengeWindow,
                revealPeriod: p.revealPeriod,
                protocolFeeBps: p.protocolFeeBps,
                challengerShareBps: p.challengerShareBps,
                slashFactorBps: p.slashFactorBps,
                minSlash: p.minSlash,
                batchCommitLag: p.batchCommitLag
            });
    }

    /// @inheritdoc IBatchSettlement
    function settleOpensAt(BatchHeader calldata header) public view returns (uint256) {
        return uint256(header.committedAt) + _params.challengeWindow + _params.revealPeriod;
    }

    // ------------------------------------------------------------------ internals

    function _checkHeader(uint256 batchId, BatchHeader calldata header) internal view {
        uint256 stored = _batch[batchId] & HASH_MASK;
        if (stored == 0) revert SettlementUnknownBatch(batchId);
        // INVARIANT: 192 bits of the header hash bind the header (2^96 work to find any collision).
        if (uint256(keccak256(abi.encode(header))) & HASH_MASK != stored) revert SettlementHeaderMismatch(batchId);
    }

    /// @dev The batch's state flags and counters (not `paid`, which has its own slot).
    function _load(uint256 batchId) internal view returns (BatchState memory st) {
        uint256 w = _batch[batchId];
        st.openChallenges = uint32(w & 0xffffff);
        st.settledChunks = uint32((w >> 24) & 0xffff);
        st.voided = (w >> 40) & 1 == 1;
        st.released = (w >> 41) & 1 == 1;
    }

    function _save(uint256 batchId, BatchState memory st) internal {
        _batch[batchId] =
            (_batch[batchId] & HASH_MASK) |
            uint256(st.openChallenges) |
            (uint256(st.settledChunks) << 24) |
            (st.voided ? 1 << 40 : 0) |
            (st.released ? 1 << 41 : 0);
    }

    function _checkSettleOpen(uint256 batchId, BatchHeader calldata header) internal view {
        uint256 opens = settleOpensAt(header);
        if (block.timestamp <= opens) revert SettlementWrongPhase(batchId, block.timestamp, opens, type(uint256).max);
    }

    function _chunkCount(uint256 leafCount) internal pure returns (uint256) {
        return (leafCount + CHUNK_LEAVES - 1) / CHUNK_LEAVES;
    }

    function _isChunkSettled(uint256 batchId, uint256 chunkIndex) internal view returns (bool) {
        return (_chunkBits[batchId][chunkIndex >> 8] >> (chunkIndex & 255)) & 1 == 1;
    }

    function _markChunkSettled(uint256 batchId, uint256 chunkIndex) internal {
        _chunkBits[batchId][chunkIndex >> 8] |= uint256(1) << (chunkIndex & 255);
    }

    /// @dev Rebuilds every leaf hash of the chunk (spec/encodings.md Leaf, its index its position),
    /// zero-pads to the chunk width, and checks the chunk root against the batch root with the
    /// proof of the upper tree.
    function _verifyChunk(uint256 batchId, BatchHeader calldata header, Chunk calldata chunk) internal pure {
        uint256 first = uint256(chunk.index) * CHUNK_LEAVES;
        uint256 expected = header.leafCount - first;
        if (expected > CHUNK_LEAVES) expected = CHUNK_LEAVES;
        uint256 depth = PositionalMerkle.depth(header.leafCount);
        uint256 width = depth >= PositionalMerkle.CHUNK_HEIGHT ? CHUNK_LEAVES : (uint256(1) << depth);
        bytes32[] memory level = new bytes32[](width);
        uint256 index = first;
        uint256 groups = chunk.groups.length;
        for (uint256 gi = 0; gi < groups; ++gi) {
            LeafGroup calldata lg = chunk.groups[gi];
            uint256 n = lg.leaves.length;
            // INVARIANT: the chunk holds exactly its committed leaves (checked before writing level).
            if (index + n - first > expected) revert SettlementWrongLeafCount(index + n - first, expected);
            uint256 kind = lg.kind;
            uint256 requester = uint160(lg.requester);
            for (uint256 k = 0; k < n; ++k) {
                level[index - first] = _leafHash(index, kind, requester, lg, lg.leaves[k]);
                ++index;
            }
        }
        if (index - first != expected) revert SettlementWrongLeafCount(index - first, expected);
        bytes32 chunkRoot = PositionalMerkle.rootOf(level);
        // A single-chunk batch has depth 0 above the chunk: the empty proof yields the chunk root.
        if (
            PositionalMerkle.computeRoot(chunkRoot, chunk.index, _chunkCount(header.leafCount), chunk.proof) !=
            header.root
        ) {
            revert SettlementChunkProofInvalid(batchId, chunk.index);
        }
    }

    /// @dev hashStruct(Leaf) from a group and a compact leaf, in scratch memory (not allocated).
    function _leafHash(
        uint256 index,
        uint256 kind,
        uint256 requester,
        LeafGroup calldata lg,
        CompactLeaf calldata c
    ) internal pure returns (bytes32 h) {
        uint256 packed = c.packed;
        // INVARIANT: one leaf has one packed form (the unused bits are zero).
        if ((packed >> 96) & 0xffffffff != 0) revert SettlementBadPackedLeaf(index, packed);
        bytes32 typehash = Encodings.LEAF_TYPEHASH;
        bytes32 model = lg.model;
        bytes32 adapter = lg.adapter;
        bytes32 profile = lg.profile;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typehash)
            mstore(add(p, 0x20), index)
            mstore(add(p, 0x40), kind)
            mstore(add(p, 0x60), calldataload(c)) // ref
            mstore(add(p, 0x80), requester)
            mstore(add(p, 0xa0), model)
            mstore(add(p, 0xc0), adapter)
            mstore(add(p, 0xe0), calldataload(add(c, 0x20))) // input
            mstore(add(p, 0x100), calldataload(add(c, 0x40))) // output
            mstore(add(p, 0x120), and(packed, 0xffffffff)) // tokens
            mstore(add(p, 0x140), shr(128, packed)) // amount
            mstore(add(p, 0x160), and(shr(32, packed), 0xffffffffffffffff)) // expiry
            mstore(add(p, 0x180), profile)
            h := keccak256(p, 0x1a0)
        }
    }

    function _verifyLeaf(
        uint256 batchId,
        BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof
    ) internal pure returns (bytes32 leafHash) {
        leafHash = Encodings.hashLeaf(leaf);
        if (!PositionalMerkle.verify(header.root, leafHash, leaf.index, header.leafCount, proof)) {
            revert SettlementLeafProofInvalid(batchId, leaf.index);
        }
    }
}
