// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IStaking
/// @notice Stake ledger of nodes and validators in the protocol's single ERC20.
/// @dev Each account's stake is split in three buckets:
///  - free: can be unstaked or locked;
///  - locked: backs open obligations (bids, batches), moved from and back to free by LOCKER_ROLE;
///  - unbonding: requested for withdrawal, released after `unbondingPeriod`.
/// Slashing (SLASHER_ROLE) takes from locked, then free, then unbonding, so requesting an unstake
/// never dodges a pending slash. Slashed tokens are credited to beneficiaries by basis points; the
/// rest is sent to BURN_ADDRESS in the same call. Credits are pulled with `withdrawCredits`.
/// Accounting invariant: token.balanceOf(this) >= totalStaked + totalCredits, with equality unless
/// tokens were sent to the contract directly; totalStaked is the sum of all three buckets.
/// Locked accounting: one `locked` total per account; lockers keep their per-obligation amounts.
/// Because a slash may take locked stake, `unlock` releases min(amount, locked) and returns it.
/// Validators declare models and enter one stake-weighted sortition tree per model. Their weight is
/// free + locked (unbonding excluded) when that is at least `minValidatorStake`, else 0. Weights are
/// updated on stake, unstake request, slash and (un)declaration; after a change of
/// `minValidatorStake` anyone may call `refreshValidator`.
interface IStaking {
    /// @notice `account` staked `amount`; `free` is its free stake after.
    event Staked(address indexed account, uint256 amount, uint256 free);
    /// @notice `amount` moved from free to unbonding; the whole unbonding balance releases at `releaseAt`.
    event UnstakeRequested(address indexed account, uint256 amount, uint256 unbonding, uint256 releaseAt);
    /// @notice Released unbonding stake was withdrawn.
    event UnbondedWithdrawn(address indexed account, uint256 amount);
    /// @notice `locker` locked `amount` of `account`'s free stake; `locked` is the total after.
    event StakeLocked(address indexed account, address indexed locker, uint256 amount, uint256 locked);
    /// @notice `locker` unlocked `amount` (after clamping) of `account`'s stake; `locked` is the total after.
    event StakeUnlocked(address indexed account, address indexed locker, uint256 amount, uint256 locked);
    /// @notice `slasher` slashed `account`: `requested` asked, `slashed` taken (from the three buckets
    /// as listed), `burned` sent to BURN_ADDRESS, the rest credited (see Credited).
    event Slashed(
        address indexed account,
        address indexed slasher,
        uint256 requested,
        uint256 slashed,
        uint256 fromLocked,
        uint256 fromFree,
        uint256 fromUnbonding,
        uint256 burned
    );
    /// @notice `beneficiary` was credited `amount` from a slash of `slashedAccount`.
    event Credited(address indexed beneficiary, address indexed slashedAccount, uint256 amount);
    /// @notice Credits were withdrawn.
    event CreditsWithdrawn(address indexed account, uint256 amount);
    /// @notice `validator` declared it can verify `modelId`.
    event ValidatorModelDeclared(address indexed validator, bytes32 indexed modelId);
    /// @notice `validator` withdrew from `modelId`.
    event ValidatorModelUndeclared(address indexed validator, bytes32 indexed modelId);
    /// @notice The sortition weight of `validator` for `modelId` changed.
    event ValidatorWeightChanged(
        address indexed validator,
        bytes32 indexed modelId,
        uint256 oldWeight,
        uint256 newWeight
    );

    /// @notice The amount is zero.
    error StakingZeroAmount();
    /// @notice A zero address was given where an account is needed.
    error StakingZeroAddress();
    /// @notice Not enough free stake.
    error StakingInsufficientFreeStake(address account, uint256 have, uint256 need);
    /// @notice Nothing is unbonding.
    error StakingNothingUnbonding(address account);
    /// @notice The unbonding stake is not released yet.
    error StakingUnbondingNotReleased(address account, uint256 releaseAt, uint256 nowSeconds);
    /// @notice No credits to withdraw.
    error StakingNoCredits(address account);
    /// @notice beneficiaries and bps differ in length.
    error StakingBeneficiaryLengthMismatch(uint256 beneficiaries, uint256 bps);
    /// @notice Too many beneficiaries in one slash.
    error StakingTooManyBeneficiaries(uint256 count, uint256 max);
    /// @notice The shares add up to more than 100%.
    error StakingBpsSumTooHigh(uint256 sum, uint256 max);
    /// @notice The token moved a different amount than requested (fee-on-transfer tokens are unsupported).
    error StakingTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice The validator's active stake (free + locked) would be below `minValidatorStake`.
    error StakingValidatorStakeTooLow(address account, uint256 have, uint256 need);
    /// @notice The validator would declare more than MAX_MODELS_PER_VALIDATOR models.
    error StakingTooManyModels(address account, uint256 count, uint256 max);
    /// @notice The model is not registered or deprecated.
    error StakingModelNotActive(bytes32 modelId);
    /// @notice The validator already declared the model.
    error StakingModelAlreadyDeclared(address account, bytes32 modelId);
    /// @notice The validator did not declare the model.
    error StakingModelNotDeclared(address account, bytes32 modelId);

    /// @notice Pulls `amount` from the caller into its free stake. Pausable.
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of free stake to unbonding. A second request adds to the pending
    /// amount and restarts the release time for the whole unbonding balance. A validator must undeclare
    /// its models first if its active stake would fall below `minValidatorStake`. Open while paused.
    function requestUnstake(uint256 amount) external;

    /// @notice Withdraws the whole unbonding balance once released. Open while paused.
    function withdrawUnbonded() external returns (uint256 amount);

    /// @notice Moves `amount` of `account`'s free stake to locked. Only LOCKER_ROLE. Pausable.
    function lock(address account, uint256 amount) external;

    /// @notice Moves min(`amount`, locked) back to free and returns it. Only LOCKER_ROLE. Open while paused.
    function unlock(address account, uint256 amount) external returns (uint256 unlocked);

    /// @notice Slashes min(`amount`, all stake of `account`), locked first, then free, then unbonding.
    /// Credits `slashed * bps[i] / 10000` to `beneficiaries[i]` (sum of bps <= 10000, at most
    /// MAX_SLASH_BENEFICIARIES), burns the rest. Only SLASHER_ROLE. Open while paused (a pause must
    /// not let a cheater run out the unbonding clock).
    function slash(
        address account,
        uint256 amount,
        address[] calldata beneficiaries,
        uint256[] calldata bps
    ) external returns (uint256 slashed);

    /// @notice Withdraws all of the caller's credits. Open while paused.
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Declares the caller a validator for `modelIds` (each active in the ModelRegistry, at
    /// most MAX_MODELS_PER_VALIDATOR in total). Needs active stake >= minValidatorStake. Pausable.
    function declareValidator(bytes32[] calldata modelIds) external;

    /// @notice Withdraws the caller from `modelId`'s sortition. Open while paused.
    function undeclareModel(bytes32 modelId) external;

    /// @notice Recomputes `validator`'s weights in every tree it declared (e.g. after a change of
    /// minValidatorStake). Anyone may call.
    function refreshValidator(address validator) external;

    /// @notice Sets the minimum active stake of a validator. Only PARAMS_ROLE.
    function setMinValidatorStake(uint256 value) external;

    /// @notice Sets the unbonding period for future requests. Only PARAMS_ROLE.
    function setUnbondingPeriod(uint256 value) external;

    /// @notice The staking token.
    function token() external view returns (IERC20);

    /// @notice The buckets of `account` and when its unbonding releases (0 if nothing unbonds).
    function stakeOf(
        address account
    ) external view returns (uint256 free, uint256 locked, uint256 unbonding, uint256 unbondingReleaseAt);

    /// @notice free + locked of `account` (what counts for eligibility and sortition).
    function activeStakeOf(address account) external view returns (uint256);

    /// @notice Locked stake of `account`.
    function lockedOf(address account) external view returns (uint256);

    /// @notice Withdrawable credits of `account`.
    function creditOf(address account) external view returns (uint256);

    /// @notice Sum of free, locked and unbonding stake over all accounts.
    function totalStaked() external view returns (uint256);

    /// @notice Sum of all unwithdrawn credits.
    function totalCredits() external view returns (uint256);

    /// @notice Tokens sent to BURN_ADDRESS by slashes so far.
    function totalBurned() external view returns (uint256);

    /// @notice Minimum active stake of a validator.
    function minValidatorStake() external view returns (uint256);

    /// @notice Seconds between an unstake request and its release.
    function unbondingPeriod() external view returns (uint256);

    /// @notice Models `validator` declared.
    function validatorModels(address validator) external view returns (bytes32[] memory);

    /// @notice Whether `validator` declared `modelId`.
    function isValidatorFor(address validator, bytes32 modelId) external view returns (bool);

    /// @notice Stake-weighted draw among `modelId`'s validators: the validator whose cumulative weight
    /// interval contains `rand % totalValidatorWeight(modelId)`; zero address if the weight is 0.
    function drawValidator(bytes32 modelId, uint256 rand) external view returns (address);

    /// @notice Sortition weight of `validator` for `modelId`.
    function validatorWeight(bytes32 modelId, address validator) external view returns (uint256);

    /// @notice Sum of the sortition weights for `modelId`.
    function totalValidatorWeight(bytes32 modelId) external view returns (uint256);
}
