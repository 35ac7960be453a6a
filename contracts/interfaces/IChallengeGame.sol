// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Encodings} from "../libraries/Encodings.sol";
import {IBatchSettlement} from "./IBatchSettlement.sol";

/// @title IChallengeGame
/// @notice Open challenge-response over committed batch leaves, and the two proofs that need no
/// committee. A staked validator commits `Encodings.challengeCommitment(batchId, leafIndex, kind,
/// challenger, salt)` with a bond, then reveals it; the node must post the leaf's data (leaf,
/// positional proof, prompt, stop strings, seed, maxTokens, output tokens) within the response
/// window. Data challenges end there (bond to the node); wrong-output challenges go to the
/// dispute resolver (the committee). Silence, a guilty verdict, a receipt the leaf contradicts
/// (equivocation) or a ticket the leaf misstates slash the node at least the batch payout and
/// void the batch's unsettled chunks, through IBatchSettlement's hooks.
interface IChallengeGame {
    enum ChallengeStatus {
        None,
        Open, // revealed, waiting for the node's data
        Disputed, // data posted, wrong-output dispute with the resolver
        Cleared, // the node answered (data) or won the dispute
        Upheld // the node was silent or lost
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

    /// @notice A leaf's data, posted in answer to a challenge: the input's preimage and the output.
    struct LeafData {
        string prompt;
        string[] stop;
        uint64 seed;
        uint32 maxTokens;
        uint32[] tokens;
    }

    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger, uint256 bond);
    event ChallengeRevealed(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address indexed challenger,
        uint8 kind,
        uint64 deadline
    );
    /// @notice The leaf's data was posted (it is in this transaction's calldata).
    event ChallengeAnswered(uint256 indexed batchId, uint32 indexed leafIndex, bytes32 leafHash);
    event DisputeOpened(uint256 indexed batchId, uint32 indexed leafIndex, address resolver, uint256 disputeId);
    event ChallengeClosed(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        ChallengeStatus status,
        address bondTo,
        uint256 bond,
        uint256 slashed
    );
    event EquivocationProven(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address indexed reporter,
        uint256 slashed
    );
    event TicketMismatchProven(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address indexed reporter,
        uint256 slashed
    );
    event CommitmentReclaimed(bytes32 indexed commitment, address indexed challenger, uint256 bond);
    event CreditsWithdrawn(address indexed account, uint256 amount);
    event ResolverSet(address resolver);

    error ChallengeNotStakedValidator(address account, uint256 stake, uint256 minimum);
    error ChallengeUnknownCommitment(bytes32 commitment);
    error ChallengeCommitmentExists(bytes32 commitment);
    error ChallengeSelfChallenge(address node);
    error ChallengeBadKind(uint8 kind);
    error ChallengeWrongStatus(uint256 batchId, uint256 leafIndex, ChallengeStatus status);
    error ChallengeResponseLate(uint256 deadline, uint256 nowSeconds);
    error ChallengeResponseNotLate(uint256 deadline, uint256 nowSeconds);
    error ChallengeDataMismatch(uint256 batchId, uint256 leafIndex, bytes32 expected, bytes32 actual);
    error ChallengeNoResolver();
    error ChallengeNotEquivocation(uint256 batchId, uint256 leafIndex);
    error ChallengeBadReceiptSigner(address signer);
    error ChallengeBadTicketSignature(address requester);
    error ChallengeLeafProofInvalid(uint256 batchId, uint256 leafIndex);
    error ChallengeCommitmentNotStale(bytes32 commitment, uint256 reclaimableAt);
    error ChallengeNoCredits(address account);
    error ChallengeUnknownParameter(bytes32 name);

    /// @notice Commits a challenge and deposits the bond. The caller must be a staked validator.
    function commitChallenge(bytes32 commitment) external;

    /// @notice Reveals a committed challenge; the node then has `responseWindow` to post the data.
    function revealChallenge(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        uint32 leafIndex,
        uint8 kind,
        bytes32 salt
    ) external;

    /// @notice Takes back the bond of a commitment that was never revealed, once no batch could
    /// still accept it (after `reclaimDelay`). The bond returns in full: an unrevealed commitment
    /// cost nobody anything.
    function reclaimCommitment(bytes32 commitment) external;

    /// @notice Posts a challenged leaf's data, checked against the leaf's hashes. Anyone may post.
    function respondToChallenge(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        LeafData calldata data
    ) external;

    /// @notice After a response deadline passed without data: the node loses.
    function slashSilent(uint256 batchId, IBatchSettlement.BatchHeader calldata header, uint32 leafIndex) external;

    /// @notice Called by the resolver once per dispute it was given.
    function resolveDispute(uint256 batchId, uint32 leafIndex, bool guilty) external;

    /// @notice Slashes the node for a committed ticket leaf that its own signed receipt contradicts.
    function proveEquivocation(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Receipt calldata receipt,
        bytes calldata signature
    ) external;

    /// @notice Slashes the node for a ticket leaf that misstates its requester-signed ticket.
    function proveTicketMismatch(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Ticket calldata ticket,
        bytes calldata signature
    ) external;

    /// @notice Withdraws the caller's credits (bonds won or returned).
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Sets `challengeBond`, `responseWindow` or `reclaimDelay` (bounded, evented). Only PARAMS_ROLE.
    function setParameter(bytes32 name, uint256 value) external;

    function challengeOf(uint256 batchId, uint32 leafIndex) external view returns (Challenge memory);
    /// @notice Share (bps) of the losing side's bond or slash that pays the dispute's committee.
    function committeeShareBps() external view returns (uint256);
    function commitOf(bytes32 commitment) external view returns (ChallengeCommit memory);
    function creditOf(address account) external view returns (uint256);
    function receiptDigest(Encodings.Receipt calldata receipt) external view returns (bytes32);
}
