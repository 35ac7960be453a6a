// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Encodings} from "../libraries/Encodings.sol";

/// @title IBatchSettlement
/// @notice Nodes commit batches of results as one positional Merkle root, locking stake; anyone
/// staked may challenge a leaf by commit-reveal during the challenge window; after it, the node
/// settles the batch chunk by chunk (256 leaves a chunk, leaves in calldata), paid by the pairs'
/// vouchers (or single tickets) and by auction jobs, never more than the declared payout.
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
        Encodings.Leaf[] leaves;
        bytes32[] proof;
        PairPayment[] payments;
        TicketPayment[] tickets;
    }

    /// @notice A leaf's data, posted in answer to a challenge: the input's preimage and the output.
    struct LeafData {
        string prompt;
        string[] stop;
        uint64 seed;
        uint32 maxTokens;
        uint32[] tokens;
    }

    /// @notice A single ticket paying one ticket leaf (fallback when no voucher came).
    struct TicketPayment {
        uint32 leafIndex;
        Encodings.Ticket ticket;
        bytes signature;
    }

    enum ChallengeStatus {
        None,
        Open, // revealed, waiting for the node's data
        Disputed, // data posted, wrong-output dispute with the resolver
        Cleared, // the node answered (data) or won the dispute: the leaf may be paid
        Paid, // a cleared leaf that was held back has been paid
        Upheld // the node was silent or lost: slashed, batch voided
    }

    /// @notice A revealed challenge of one leaf.
    struct Challenge {
        address challenger;
        uint8 kind;
        ChallengeStatus status;
        uint64 deadline;
        uint128 bond;
    }

    /// @notice A challenge commitment waiting for its reveal.
    struct ChallengeCommit {
        address challenger;
        uint64 committedAt;
        uint128 bond;
    }

    /// @notice The settlement's governance parameters (all bounded, evented).
    struct Params {
        uint256 lockFactorBps;
        uint256 challengeWindow;
        uint256 revealPeriod;
        uint256 responseWindow;
        uint256 challengeBond;
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
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger, uint256 bond);
    event ChallengeRevealed(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address indexed challenger,
        uint8 kind,
        uint64 deadline
    );
    /// @notice The node posted the leaf's data (in this transaction's calldata).
    event ChallengeAnswered(uint256 indexed batchId, uint32 indexed leafIndex, bytes32 leafHash);
    event DisputeOpened(uint256 indexed batchId, uint32 indexed leafIndex, address resolver, uint256 disputeId);
    event DisputeResolved(uint256 indexed batchId, uint32 indexed leafIndex, bool guilty);
    /// @notice The node was slashed and the batch's unsettled chunks voided.
    event BatchVoided(
        uint256 indexed batchId,
        address indexed node,
        uint8 reason,
        address indexed beneficiary,
        uint256 slashed
    );
    event CreditsWithdrawn(address indexed account, uint256 amount);
    event ResolverSet(address resolver);
    event AuctionMarketSet(address market);

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
    error SettlementNotStakedValidator(address account, uint256 stake, uint256 minimum);
    error SettlementUnknownCommitment(bytes32 commitment);
    error SettlementCommitmentExists(bytes32 commitment);
    error SettlementLeafAlreadyChallenged(uint256 batchId, uint256 leafIndex);
    error SettlementSelfChallenge(address node);
    error SettlementBadChallengeKind(uint8 kind);
    error SettlementNoOpenChallenge(uint256 batchId, uint256 leafIndex, ChallengeStatus status);
    error SettlementResponseLate(uint256 deadline, uint256 nowSeconds);
    error SettlementResponseNotLate(uint256 deadline, uint256 nowSeconds);
    error SettlementDataMismatch(uint256 batchId, uint256 leafIndex, bytes32 expected, bytes32 actual);
    error SettlementNoResolver();
    error SettlementNotEquivocation(uint256 batchId, uint256 leafIndex);
    error SettlementBadReceiptSigner(address signer);
    error SettlementBadTicketSigner(address signer, address requester);
    error SettlementLeafNotHeld(uint256 batchId, uint256 leafIndex);
    error SettlementNotReleasable(uint256 batchId);
    error SettlementNoCredits(address account);
    error SettlementUnknownParameter(bytes32 name);
    error SettlementTicketCommittedLate(uint256 leafIndex, uint256 expiry, uint256 committedAt);

    /// @notice Commits a batch: root, leaf count and declared payout; locks lockFactor × payout of
    /// the caller's stake. The caller must be a registered node. Pausable.
    function commitBatch(bytes32 root, uint32 leafCount, uint128 payout) external returns (uint256 batchId);

    /// @notice Settles chunk `chunkIndex` after the reveal period: all its leaves in order, the proof
    /// of the chunk root (siblings above height 8), voucher payments per requester group (consumed in
    /// group order; a group without a matching payment stays unpaid) and ticket payments (sorted by
    /// leaf index). Challenged leaves are held back. Pays at most the payout left. Pausable.
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

    /// @notice Unlocks the batch's stake once every chunk is settled and no challenge is open.
    function release(uint256 batchId, BatchHeader calldata header) external;

    /// @notice Commits a challenge (Encodings.challengeCommitment) and deposits the bond. The caller
    /// must be a staked validator. Pausable.
    function commitChallenge(bytes32 commitment) external;

    /// @notice Reveals a committed challenge of leaf `leafIndex`; the node then has responseWindow
    /// to post the leaf's data.
    function revealChallenge(
        uint256 batchId,
        BatchHeader calldata header,
        uint32 leafIndex,
        uint8 kind,
        bytes32 salt
    ) external;

    /// @notice Posts a challenged leaf's data: the leaf, its proof, the input and the output tokens,
    /// checked against the leaf's hashes. A data challenge is then cleared (the bond pays the node);
    /// a wrong-output challenge goes to the resolver. Anyone may post.
    function respondToChallenge(
        uint256 batchId,
        BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        LeafData calldata data
    ) external;

    /// @notice After a response deadline passed without data: slashes the node, voids the batch.
    function slashSilent(uint256 batchId, BatchHeader calldata header, uint32 leafIndex) external;

    /// @notice Called by the resolver once per dispute.
    function resolveDispute(uint256 batchId, uint32 leafIndex, bool guilty) external;

    /// @notice Slashes the node for a committed leaf that differs from its own signed receipt.
    function proveEquivocation(
        uint256 batchId,
        BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Receipt calldata receipt,
        bytes calldata signature
    ) external;

    /// @notice Slashes the node for a ticket leaf that misstates its requester-signed ticket.
    function proveTicketMismatch(
        uint256 batchId,
        BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Ticket calldata ticket,
        bytes calldata signature
    ) external;

    /// @notice Withdraws the caller's credits (node payments, royalties, fees, bonds).
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Sets a parameter by name (bounded, evented). Only PARAMS_ROLE.
    function setParameter(bytes32 name, uint256 value) external;

    function headerHashOf(uint256 batchId) external view returns (bytes32);
    function stateOf(uint256 batchId) external view returns (BatchState memory);
    function challengeOf(uint256 batchId, uint32 leafIndex) external view returns (Challenge memory);
    function commitOf(bytes32 commitment) external view returns (ChallengeCommit memory);
    function chunkSettled(uint256 batchId, uint256 chunkIndex) external view returns (bool);
    function creditOf(address account) external view returns (uint256);
    function params() external view returns (Params memory);
    function batchCount() external view returns (uint256);
    function settleOpensAt(BatchHeader calldata header) external view returns (uint256);
    function receiptDigest(Encodings.Receipt calldata receipt) external view returns (bytes32);
}
