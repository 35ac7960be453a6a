// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IDisputeResolver} from "./IDisputeResolver.sol";

/// @title ICommittee
/// @notice Wrong-output disputes judged by stake-weighted committees of validators (docs/committees.md).
///
/// Life of a dispute:
///   openDispute (by the ChallengeGame)  round 0's target block = block.number + drawDelayBlocks
///   draw (anyone, after the target)     seats drawn from blockhash(target); vote bonds locked
///   commitVote, revealVote (members)    fixed commit and reveal windows from the draw
///   appeal (node or challenger)         pays the appeal fee; next round is 2n+1 seats, 2x bonds
///   finalize (anyone)                   calls IChallengeGame.resolveDispute exactly once
///   claimReward (coherent members)      their share of the dispute's pot, as a credit here
///
/// Pay does not depend on the verdict: the pot is the fee fixed when the dispute opens (the
/// committee's share of the challenge bond), plus non-voter penalties and appeal fees. What the
/// ChallengeGame or Staking actually credits for the verdict goes to a reserve that pays the fee.
interface ICommittee is IDisputeResolver {
    /// @notice Where a dispute stands; computed from deadlines, flags and the clock.
    enum Phase {
        None,
        Drawing, // the current round waits for draw()
        Commit,
        Reveal,
        Appealable, // revealed; a party may appeal until appealEnd
        Finalizable, // finalize() may be called
        Resolved
    }

    /// @notice A round's or a dispute's outcome.
    enum Outcome {
        Pending,
        NotGuilty,
        Guilty,
        Neutral // no committee decided: not guilty for the game, committee share refunded to the challenger
    }

    /// @notice Governance parameters (bounded, evented). Sizes are seats; times are seconds.
    struct Params {
        uint256 committeeSize;
        uint256 minCommitteeSize;
        uint256 maxAppeals;
        uint256 drawDelayBlocks;
        uint256 maxRedraws;
        uint256 commitSeconds;
        uint256 revealSeconds;
        uint256 appealSeconds;
        uint256 voteBond;
        uint256 nonVoterPenaltyBps;
        uint256 penaltyToPotBps;
        uint256 appealFee;
    }

    /// @notice One dispute. `fee` is fixed at open; `pot` is what coherent members share.
    struct Dispute {
        uint256 challengeId;
        uint256 batchId;
        address node;
        uint32 leafIndex;
        uint8 round;
        uint8 maxRound;
        uint8 redraws;
        Outcome outcome;
        address challenger;
        bytes32 model;
        uint128 fee;
        uint128 pot;
        uint128 paid;
        uint128 coherentWeight;
    }

    /// @notice One round of a dispute. Seats vote once; weight of a coherent vote is 2^round.
    struct Round {
        uint64 targetBlock;
        uint64 commitEnd;
        uint64 revealEnd;
        uint16 nominalSize;
        uint16 size;
        uint16 guiltyVotes;
        uint16 notGuiltyVotes;
        uint128 bond;
        uint128 appealFee;
        address appellant;
        uint16 committed;
        bool closed;
        uint64 appealEnd;
        uint256 weightAtTarget;
    }

    /// @notice A member's seat in one round. vote: 0 none, 1 guilty, 2 not guilty.
    struct Seat {
        bool seated;
        bool claimed;
        uint8 vote;
        bytes32 commitment;
    }

    event DisputeCreated(
        uint256 indexed disputeId,
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address node,
        address challenger,
        bytes32 model,
        bytes32 leafHash,
        bytes32 profile,
        uint256 fee
    );
    event DrawTargeted(
        uint256 indexed disputeId,
        uint8 indexed round,
        uint64 targetBlock,
        uint256 weight,
        bool retarget
    );
    event CommitteeDrawn(
        uint256 indexed disputeId,
        uint8 indexed round,
        address[] members,
        uint256 bond,
        uint64 commitEnd,
        uint64 revealEnd
    );
    event CommitteeUnformed(uint256 indexed disputeId, uint8 indexed round, uint256 found, uint256 needed);
    event VoteCommitted(uint256 indexed disputeId, uint8 indexed round, address indexed member, bytes32 commitment);
    event VoteRevealed(uint256 indexed disputeId, uint8 indexed round, address indexed member, bool guilty);
    event RoundClosed(
        uint256 indexed disputeId,
        uint8 indexed round,
        Outcome outcome,
        uint256 guiltyVotes,
        uint256 notGuiltyVotes,
        uint256 nonVoters,
        uint256 penalties
    );
    event NonVoterPenalized(uint256 indexed disputeId, uint8 indexed round, address indexed member, uint256 slashed);
    event Appealed(uint256 indexed disputeId, uint8 indexed round, address indexed appellant, uint256 fee);
    event DisputeResolved(
        uint256 indexed disputeId,
        Outcome outcome,
        uint256 received,
        uint256 pot,
        uint256 coherentWeight
    );
    event RewardClaimed(uint256 indexed disputeId, uint8 indexed round, address indexed member, uint256 amount);
    event Credited(address indexed account, uint256 amount);
    event CreditsWithdrawn(address indexed account, uint256 amount);
    event ReserveChanged(uint256 reserve, int256 delta);

    error CommitteeOnlyGame(address caller);
    error CommitteeUnknownDispute(uint256 disputeId);
    error CommitteeWrongPhase(uint256 disputeId, Phase current, Phase expected);
    error CommitteeTargetNotReached(uint256 disputeId, uint256 targetBlock, uint256 blockNumber);
    error CommitteeNotMember(uint256 disputeId, uint8 round, address account);
    error CommitteeAlreadyCommitted(uint256 disputeId, address member);
    error CommitteeBadReveal(uint256 disputeId, address member);
    error CommitteeNotAppellant(uint256 disputeId, address account);
    error CommitteeNotCoherent(uint256 disputeId, uint8 round, address member);
    error CommitteeAlreadyClaimed(uint256 disputeId, uint8 round, address member);
    error CommitteeNoCredits(address account);
    error CommitteeUnknownParameter(bytes32 name);
    error CommitteeSizeNotOdd(bytes32 name, uint256 value);
    error CommitteeReserveTooLow(uint256 reserve, uint256 amount);
    error CommitteeWeakRandomness(bytes32 hash1, bytes32 hash2, uint256 prevrandao);

    /// @notice Draws the current round's seats once its target block is past. If the target's
    /// blockhash is gone (older than 256 blocks), re-targets instead. If fewer than
    /// minCommitteeSize eligible validators are found, re-targets up to maxRedraws times, then ends
    /// the round unformed (round 0: Neutral verdict; an appeal round: the appeal fee is refunded and
    /// the last decisive verdict stands). Anyone may call.
    function draw(uint256 disputeId) external;

    /// @notice Commits `Encodings.voteCommitment(disputeId, msg.sender, guilty, salt)`. Commit phase.
    function commitVote(uint256 disputeId, bytes32 commitment) external;

    /// @notice Reveals a committed vote. Reveal phase.
    function revealVote(uint256 disputeId, bool guilty, bytes32 salt) external;

    /// @notice The node or the challenger appeals the current round (the party it went against,
    /// either on a tie), paying appealFee x 2^round. Closes the round and opens the next.
    function appeal(uint256 disputeId) external;

    /// @notice Closes the last round and calls `resolveDispute` on the game with the last
    /// decisive round's verdict (Neutral if none). Anyone may call.
    function finalize(uint256 disputeId) external;

    /// @notice Credits a coherent member of `round` its share pot x 2^round / coherentWeight.
    function claimReward(uint256 disputeId, uint8 round) external returns (uint256 amount);

    /// @notice Pulls the committee's credits from the ChallengeGame and Staking. Anyone may call.
    function collect() external;

    /// @notice Withdraws the caller's credits.
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Adds `amount` of the caller's tokens to the reserve that pays dispute fees.
    function fundReserve(uint256 amount) external;

    /// @notice Moves `amount` of the reserve to the treasury's credits. Only the default admin.
    function sweepReserve(uint256 amount) external;

    /// @notice Sets a parameter by name (bounded, evented). Only PARAMS_ROLE.
    function setParameter(bytes32 name, uint256 value) external;

    function phase(uint256 disputeId) external view returns (Phase);
    function disputeOf(uint256 disputeId) external view returns (Dispute memory);
    function roundOf(uint256 disputeId, uint8 round) external view returns (Round memory);
    function seatOf(uint256 disputeId, uint8 round, address member) external view returns (Seat memory);
    function membersOf(uint256 disputeId, uint8 round) external view returns (address[] memory);
    function roundOutcome(uint256 disputeId, uint8 round) external view returns (Outcome);
    function params() external view returns (Params memory);
    function creditOf(address account) external view returns (uint256);
}
