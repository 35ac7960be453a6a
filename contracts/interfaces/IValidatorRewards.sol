// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IValidatorRewards
/// @notice The validators' fee stream, paid per epoch by verified work: catches of protocol canary
/// leaves (docs/economics.md "Validator fee stream and canaries").
///
/// CANARY_ROLE plants commitments keccak256(abi.encode(batchId, leafIndex, salt)) to leaves it
/// knows are wrong (committed by a protocol-run node), mixed with decoy commitments that are never
/// revealed. After the batch's reveal period it reveals each canary: the validator that revealed a
/// wrong-output challenge of that leaf in the ChallengeGame earns one point in the current epoch;
/// a canary nobody challenged counts as missed. After an epoch ends, each validator claims
/// pool * points / totalPoints. A validator that catches nothing earns nothing, and
/// `isLapsed` shows one that caught none of the last `lapseCanaries` canaries.
interface IValidatorRewards {
    struct EpochTotals {
        uint128 pool;
        uint128 points;
        uint128 allocated;
        bool swept;
    }

    struct Canary {
        uint64 plantedAt;
        bool revealed;
    }

    event Funded(uint256 indexed epoch, address indexed from, uint256 amount, uint256 pool);
    event CanaryPlanted(bytes32 indexed commitment);
    event CanaryRevealed(
        bytes32 indexed commitment,
        uint256 indexed batchId,
        uint32 indexed leafIndex,
        address catcher,
        uint256 epoch
    );
    event RewardClaimed(uint256 indexed epoch, address indexed validator, uint256 amount);
    event EpochSwept(uint256 indexed epoch, uint256 intoEpoch, uint256 amount);

    error ValidatorRewardsPastEpoch(uint256 epoch, uint256 current);
    error ValidatorRewardsEpochNotEnded(uint256 epoch, uint256 current);
    error ValidatorRewardsClaimExpired(uint256 epoch, uint256 lastEpoch);
    error ValidatorRewardsNothingToClaim(uint256 epoch, address validator);
    error ValidatorRewardsAlreadyClaimed(uint256 epoch, address validator);
    error ValidatorRewardsNotSweepable(uint256 epoch);
    error ValidatorRewardsZeroAmount();
    error ValidatorRewardsBadEpochLength(uint256 epochSeconds);
    error ValidatorRewardsCanaryExists(bytes32 commitment);
    error ValidatorRewardsUnknownCanary(bytes32 commitment);
    error ValidatorRewardsCanaryTooEarly(bytes32 commitment, uint256 revealableAt);
    error ValidatorRewardsUnknownParameter(bytes32 name);

    /// @notice Adds `amount` of the caller's tokens to `epoch`'s pool (current or future).
    /// Only FEE_DEPOSITOR_ROLE.
    function fund(uint256 epoch, uint256 amount) external;

    /// @notice Plants canary (and decoy) commitments. Only CANARY_ROLE.
    function plantCanaries(bytes32[] calldata commitments) external;

    /// @notice Reveals a canary at least `minRevealDelay` after planting and credits the
    /// validator that challenged it for wrong output (if any). Only CANARY_ROLE.
    function revealCanary(uint256 batchId, uint32 leafIndex, bytes32 salt) external returns (address catcher);

    /// @notice Pays the caller its share of ended `epoch`.
    function claim(uint256 epoch) external returns (uint256 amount);

    /// @notice Moves what is left of ended `epoch` forward after its claim window, or at once if
    /// nobody caught a canary in it. Anyone may call.
    function sweep(uint256 epoch) external returns (uint256 amount);

    /// @notice Sets `claimWindowEpochs`, `lapseCanaries` or `minRevealDelay`. Only PARAMS_ROLE.
    function setParameter(bytes32 name, uint256 value) external;

    function currentEpoch() external view returns (uint256);
    function epochOf(uint256 epoch) external view returns (EpochTotals memory);
    function pointsOf(uint256 epoch, address validator) external view returns (uint256);
    function canaryOf(bytes32 commitment) external view returns (Canary memory);
    /// @notice Canaries revealed so far, caught by anyone, and missed.
    function canaryStats() external view returns (uint256 revealed, uint256 caught, uint256 missed);
    /// @notice Catches of `validator` and the canary count at its last catch.
    function catchesOf(address validator) external view returns (uint256 catches, uint256 lastCatchAt);
    /// @notice True when `validator` caught none of the last `lapseCanaries` revealed canaries.
    function isLapsed(address validator) external view returns (bool);
    /// @notice The commitment of a canary.
    function canaryCommitment(uint256 batchId, uint32 leafIndex, bytes32 salt) external pure returns (bytes32);
}
