// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Encodings} from "../libraries/Encodings.sol";

/// @title IBatchSettlement
/// @notice Nodes commit batches of results as one positional Merkle root, locking stake; anyone
/// staked may challenge a leaf by commit-reveal during the challenge window (IChallengeGame);
/// after it, the node settles the batch chunk by chunk (256 leaves a chunk, leaves in calldata),
/// paid by the pairs' vouchers (or single tickets) and by auction jobs, never more than the
/// declared payout. Challenged leaves are held back until cleared; a lost challenge voids the
/// batch's unsettled chunks and slashes the node at least the payout.
///
/// Timeline of a batch committed at t:
///   [t, t + challengeWindow]             challenge commitments accepted
///   (.., t + challengeWindow + reveal]   reveals accepted (each names batch, leaf, kind)
///   after t + challengeWindow + reveal   chunks settle; challenged leaves are held back
///   reveal + responseWindow              the node must post the leaf's data or be slashed
interface IBatchSettlement {
    /// @notice What a batch commits to. Only `keccak256(abi.encode(header))` is stored (one fresh
    /// slot); every later call passes the header in calldata and is checked against it.
    struct BatchHeader {
        address node;
        uint32 leafCount;
        uint64 committedAt;
        uint128 payout;
        uint128 lock;
        bytes32 root;
    }

    /// @notice Where a challenged leaf stands, as far as payment is concerned.
    enum LeafStatus {
        None, // never challenged
        Held, // challenged: not paid until cleared
        Cleared, // the node answered or won: payable
        Paid, // a cleared leaf that has been paid
        Upheld // the node lost: the batch is void
    }

    /// @notice Mutable state of a batch, one slot.
    struct BatchState {
        uint128 paid;
        uint32 settledChunks;
        uint32 openChallenges;
        bool voided;
        bool released;
    }

    /// @notice A voucher paying the ticket leaves of one requester group of a chunk.
    struct PairPayment {
        Encodings.Voucher voucher;
        bytes signature;
    }

    /// @notice One chunk's settlement input: its index, all its leaves in order, the proof of the
    /// chunk root above height 8, voucher payments per requester group and ticket payments.
    struct Chunk {
        uint32 index;
        LeafGroup[] groups;
        bytes32[] proof;
        PairPayment[] payments;
        TicketPayment[] tickets;
    }

    /// @notice Consecutive leaves of a chunk that share kind, requester, model, adapter and profile.
    /// Leaves are sent in this compact form because calldata dominates settlement gas (EIP-7623's
    /// floor prices every byte); each leaf's hash is rebuilt on-chain exactly as spec/encodings.md
    /// defines it, its index being its position in the chunk. A ticket group is paid by one voucher.
    struct LeafGroup {
        uint8 kind;
        address requester;
        bytes32 model;
        bytes32 adapter;
        bytes32 profile;
        CompactLeaf[] leaves;
    }

    /// @notice A leaf's own fields; `packed` = amount << 128 | expiry << 32 | tokens (bits 96..127 zero).
    struct CompactLeaf {
        bytes32 ref;
        bytes32 input;
        bytes32 output;
        uint256 packed;
    }

    /// @notice A single ticket paying one ticket leaf (fallback when no voucher came).
    struct TicketPayment {
        uint32 leafIndex;
        Encodings.Ticket ticket;
        bytes signature;
    }

    /// @notice The settlement's governance parameters (all bounded, evented).
    struct Params {
        uint256 lockFactorBps;
        uint256 challengeWindow;
        uint256 revealPeriod;
        uint256 protocolFeeBps;
        uint256 challengerShareBps;
        uint256 slashFactorBps;
        uint256 minSlash;
        uint256 batchCommitLag;
    }

    event BatchCommitted(
        uint256 indexed batchId,
        address indexed node,
        bytes32 root,
        uint32 leafCount,
        uint128 payout,
        uint128 lock,
        uint64 committedAt
    );
    /// @notice One event per settled chunk; the leaves are in the transaction's calldata.
    event ChunkSettled(
        uint256 indexed batchId,
        uint32 indexed chunkIndex,
        uint256 paid,
        uint256 toNode,
        uint256 royalties,
        uint256 fees,
        uint32 heldLeaves,
        uint32 unpaidLeaves
    );
    event HeldLeafSettled(uint256 indexed batchId, uint32 indexed leafIndex, uint256 paid);
    event BatchReleased(uint256 indexed batchId, address indexed node, uint256 unlocked);
    /// @notice The node was slashed and the batch's unsettled chunks voided.
    event BatchVoided(
        uint256 indexed batchId,
        address indexed node,
        uint8 reason,
        address indexed beneficiary,
        uint256 slashed
    );
    event CreditsWithdrawn(address indexed account, uint256 amount);
    event ChallengeGameSet(address game);
    /// @notice A challenged leaf's status changed (cleared, upheld, paid). The change to Held at a
    /// reveal is reported by ChallengeGame's ChallengeRevealed instead (one event per reveal).
    event LeafStatusChanged(uint256 indexed batchId, uint32 indexed leafIndex, LeafStatus status);
    event AuctionMarketSet(address market);
    event RewardPoolSet(address pool);

    error SettlementUnknownBatch(uint256 batchId);
    error SettlementHeaderMismatch(uint256 batchId);
    error SettlementNotRegistered(address node);
    error SettlementBadLeafCount(uint256 leafCount, uint256 max);
    error SettlementPayoutTooLarge(uint256 payout);
    error SettlementWrongPhase(uint256 batchId, uint256 nowSeconds, uint256 opensAt, uint256 closesAt);
    error SettlementBatchVoided(uint256 batchId);
    error SettlementChunkOutOfRange(uint256 chunkIndex, uint256 chunkCount);
    error SettlementChunkAlreadySettled(uint256 batchId, uint256 chunkIndex);
    error SettlementWrongLeafCount(uint256 given, uint256 expected);
    error SettlementLeafIndexMismatch(uint256 position, uint256 index);
    error SettlementChunkProofInvalid(uint256 batchId, uint256 chunkIndex);
    error SettlementLeafProofInvalid(uint256 batchId, uint256 leafIndex);
    error SettlementVoucherForOtherNode(address voucherNode, address batchNode);
    error SettlementTicketMismatch(uint256 leafIndex);
    error SettlementNoAuctionMarket();
    error SettlementLeafAlreadyChallenged(uint256 batchId, uint256 leafIndex);
    error SettlementLeafNotChallenged(uint256 batchId, uint256 leafIndex, LeafStatus status);
    error SettlementChallengeClosed(uint256 batchId, uint256 nowSeconds, uint256 revealEnd);
    error SettlementLeafNotHeld(uint256 batchId, uint256 leafIndex);
    error SettlementNoCredits(address account);
    error SettlementUnknownParameter(bytes32 name);
    error SettlementTicketCommittedLate(uint256 leafIndex, uint256 expiry, uint256 committedAt);
    error SettlementBadPackedLeaf(uint256 leafIndex, uint256 packed);

    /// @notice Commits a batch: root, leaf count and declared payout; locks lockFactor × payout of
    /// the caller's stake. The caller must be a registered node. Pausable.
    function commitBatch(bytes32 root, uint32 leafCount, uint128 payout) external returns (uint256 batchId);

    /// @notice Settles chunk `chunk.index` after the reveal period: all its leaves in order as leaf
    /// groups, the proof of the chunk root (siblings above height 8), voucher payments (the next one
    /// pays the next ticket group with payable leaves if it names the group's requester, else the
    /// group stays unpaid) and ticket payments (sorted by leaf index). Challenged leaves are held
    /// back. Pays at most the payout left. Pausable.
    function settleChunk(uint256 batchId, BatchHeader calldata header, Chunk calldata chunk) external;

    /// @notice Pays one leaf that was held back by a challenge since cleared. Pausable.
    function settleHeldLeaf(
        uint256 batchId,
        BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        PairPayment[] calldata payment,
        TicketPayment[] calldata ticket
    ) external;

    /// @notice Challenge-game hook: marks leaf `leafIndex` held. Reverts unless the batch is live,
    /// the challenge was committed by the window's end, the reveal period has not ended and the
    /// leaf is not already challenged. Only CHALLENGE_ROLE.
    function openChallenge(
        uint256 batchId,
        BatchHeader calldata header,
        uint32 leafIndex,
        uint256 committedAt
    ) external;

    /// @notice Challenge-game hook: the node answered or won (`cleared`), else the node lost.
    /// A lost challenge voids the batch and slashes the node: `challengerShareBps` of the slash to
    /// `beneficiary`, `committeeBps` to `committee` (the dispute resolver, zero if none), the rest
    /// burned. Only CHALLENGE_ROLE. Returns the amount slashed.
    function closeChallenge(
        uint256 batchId,
        BatchHeader calldata header,
        uint32 leafIndex,
        bool cleared,
        address beneficiary,
        address committee,
        uint256 committeeBps,
        uint8 reason
    ) external returns (uint256 slashed);

    /// @notice Challenge-game hook for proofs that need no challenge (equivocation, ticket
    /// mismatch): voids the batch and slashes the node. Only CHALLENGE_ROLE.
    function voidBatch(
        uint256 batchId,
        BatchHeader calldata header,
        address beneficiary,
        uint8 reason
    ) external returns (uint256 slashed);

    /// @notice Reverts unless `header` is the committed header of `batchId`.
    function checkHeader(uint256 batchId, BatchHeader calldata header) external view;

    /// @notice Withdraws the caller's credits (node payments, royalties, fees, bonds).
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Sets a parameter by name (bounded, evented). Only PARAMS_ROLE.
    function setParameter(bytes32 name, uint256 value) external;

    /// @notice The stored header hash: keccak256(abi.encode(header)) with its low 64 bits zeroed
    /// (the slot keeps the batch's state there).
    function headerHashOf(uint256 batchId) external view returns (bytes32);
    function stateOf(uint256 batchId) external view returns (BatchState memory);
    function leafStatusOf(uint256 batchId, uint32 leafIndex) external view returns (LeafStatus);
    function chunkSettled(uint256 batchId, uint256 chunkIndex) external view returns (bool);
    function creditOf(address account) external view returns (uint256);
    function params() external view returns (Params memory);
    function batchCount() external view returns (uint256);
    function settleOpensAt(BatchHeader calldata header) external view returns (uint256);
}
