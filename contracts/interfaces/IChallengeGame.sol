// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Encodings} from "../libraries/Encodings.sol";
import {IBatchSettlement} from "./IBatchSettlement.sol";

/// @title IChallengeGame
/// @notice Open challenge-response over committed batch leaves, and the two proofs that need no
/// committee. A staked validator commits `Encodings.challengeCommitment(batchId, leafIndex, kind,
/// challenger, salt)` in one of its reusable slots, then reveals it, paying the bond from the
/// slot's prepaid balance; the node must post the leaf's data (leaf,
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
        Upheld, // the node was silent or lost
        Committed // a commitment waits for its reveal
    }

    /// @notice What one challenge slot holds. A challenge is identified by
    /// `challengeId = uint256(uint160(challenger)) << 96 | slot`; a validator reuses its slots, so
    /// only the latest challenge of a slot is stored (events keep the history).
    /// @param time The commit time while `Committed`, else the response deadline.
    /// @param bond The bond held by the challenge (0 while `Committed`).
    /// @param balance The slot's prepaid bond balance, not counting a held bond.
    struct Challenge {
        address challenger;
        uint96 slot;
        uint64 batchId;
        uint32 leafIndex;
        uint8 kind;
        ChallengeStatus status;
        uint64 time;
        uint128 bond;
        uint128 balance;
    }

    /// @notice A leaf's data, posted in answer to a challenge: the input's preimage and the output.
    struct LeafData {
        string prompt;
        string[] stop;
        uint64 seed;
        uint32 maxTokens;
        uint32[] tokens;
    }

    event SlotFunded(uint256 indexed challengeId, uint256 amount, uint256 balance);
    event SlotWithdrawn(uint256 indexed challengeId, uint256 amount, uint256 balance);
    event ChallengeCommitted(uint256 indexed challengeId, bytes32 indexed commitment);
    event ChallengeRevealed(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        uint256 indexed challengeId,
        uint8 kind,
        uint64 deadline,
        uint256 bond
    );
    /// @notice The leaf's data was posted (it is in this transaction's calldata).
    event ChallengeAnswered(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        uint256 indexed challengeId,
        bytes32 leafHash
    );
    event DisputeOpened(
        uint256 indexed challengeId,
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address resolver,
        uint256 disputeId
    );
    event ChallengeClosed(
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        uint256 indexed challengeId,
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
    event CreditsWithdrawn(address indexed account, uint256 amount);
    event ResolverSet(address resolver);

    error ChallengeNotStakedValidator(address account, uint256 stake, uint256 minimum);
    error ChallengeUnknownCommitment(uint256 challengeId, bytes32 commitment);
    error ChallengeSlotBusy(uint256 challengeId, ChallengeStatus status);
    error ChallengeBondNotFunded(uint256 challengeId, uint256 balance, uint256 bond);
    error ChallengeSlotBalanceTooLow(uint256 challengeId, uint256 balance, uint256 amount);
    error ChallengeWrongLeaf(uint256 challengeId, uint256 batchId, uint256 leafIndex);
    error ChallengeSelfChallenge(address node);
    error ChallengeBadKind(uint8 kind);
    error ChallengeWrongStatus(uint256 challengeId, ChallengeStatus status);
    error ChallengeResponseLate(uint256 deadline, uint256 nowSeconds);
    error ChallengeResponseNotLate(uint256 deadline, uint256 nowSeconds);
    error ChallengeDataMismatch(uint256 batchId, uint256 leafIndex, bytes32 expected, bytes32 actual);
    error ChallengeNoResolver();
    error ChallengeNotEquivocation(uint256 batchId, uint256 leafIndex);
    error ChallengeBadReceiptSigner(address signer);
    error ChallengeBadTicketSignature(address requester);
    error ChallengeLeafProofInvalid(uint256 batchId, uint256 leafIndex);
    error ChallengeNoCredits(address account);
    error ChallengeZeroAmount();
    error ChallengeUnknownParameter(bytes32 name);

    /// @notice Adds `amount` to the prepaid bond balance of the caller's slot `slot` (tokens are
    /// pulled with transferFrom). A reveal takes its bond from this balance.
    function fundSlot(uint96 slot, uint256 amount) external;

    /// @notice Takes `amount` back from the caller's slot balance (a bond held by an open challenge
    /// is not part of the balance).
    function withdrawSlot(uint96 slot, uint256 amount) external;

    /// @notice Commits a challenge in the caller's slot `slot`, replacing an unrevealed or closed
    /// one there. `commitment` is `Encodings.challengeCommitment(batchId, leafIndex, kind,
    /// challenger, salt)`.
    function commitChallenge(uint96 slot, bytes32 commitment) external;

    /// @notice Reveals the commitment of the caller's slot `slot`; the caller must be a staked
    /// validator and the slot must hold the bond. The node then has `responseWindow` to post the
    /// data.
    function revealChallenge(
        uint96 slot,
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        uint32 leafIndex,
        uint8 kind,
        bytes32 salt
    ) external;

    /// @notice Posts a challenged leaf's data, checked against the leaf's hashes. Anyone may post.
    function respondToChallenge(
        uint256 challengeId,
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        LeafData calldata data
    ) external;

    /// @notice After a response deadline passed without data: the node loses.
    function slashSilent(uint256 challengeId, uint256 batchId, IBatchSettlement.BatchHeader calldata header) external;

    /// @notice Called by the resolver once per dispute it was given.
    function resolveDispute(uint256 challengeId, bool guilty) external;

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

    /// @notice Withdraws the caller's credits (bonds won as a node, committee shares).
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Sets `challengeBond`, `responseWindow` or `committeeShareBps` (bounded, evented).
    /// Only PARAMS_ROLE.
    function setParameter(bytes32 name, uint256 value) external;

    /// @notice The id of `challenger`'s slot `slot`.
    function challengeIdOf(address challenger, uint96 slot) external pure returns (uint256);
    function challengeOf(uint256 challengeId) external view returns (Challenge memory);
    /// @notice The challenger of leaf `leafIndex` of `batchId` by a wrong-output challenge that was
    /// answered or closed (0 if none): kept per leaf, unlike slots, for canary accounting.
    function wrongOutputChallengerOf(uint256 batchId, uint32 leafIndex) external view returns (address);
    /// @notice Share (bps) of the losing side's bond or slash that pays the dispute's committee.
    function committeeShareBps() external view returns (uint256);
    function creditOf(address account) external view returns (uint256);
    function receiptDigest(Encodings.Receipt calldata receipt) external view returns (bytes32);
}
