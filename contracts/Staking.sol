// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {ProtocolAccess} from "./governance/ProtocolAccess.sol";
import {SortitionTree} from "./libraries/SortitionTree.sol";

/// @title Staking
/// @notice Stake, lock, unbond, slash and credit ledger, plus per-model validator sortition.
/// See {IStaking}.
contract Staking is IStaking, ProtocolAccess, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SortitionTree for SortitionTree.Tree;

    /// @notice Role of contracts that lock stake for obligations (market, settlement).
    bytes32 public constant LOCKER_ROLE = keccak256("LOCKER_ROLE");
    /// @notice Role of contracts that slash (settlement, disputes).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Where the unshared part of every slash goes.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    /// @notice Basis-point denominator of slash shares.
    uint256 public constant BPS_DENOMINATOR = 10_000;
    /// @notice Most beneficiaries in one slash.
    uint256 public constant MAX_SLASH_BENEFICIARIES = 8;
    /// @notice Most models one validator declares.
    uint256 public constant MAX_MODELS_PER_VALIDATOR = 16;
    /// @notice Bounds of `unbondingPeriod`.
    uint256 public constant MIN_UNBONDING_PERIOD_SECONDS = 1 hours;
    uint256 public constant MAX_UNBONDING_PERIOD_SECONDS = 90 days;
    /// @notice Bounds of `minValidatorStake`, in token wei.
    uint256 public constant MIN_VALIDATOR_STAKE_LOWER_BOUND = 1;
    uint256 public constant MIN_VALIDATOR_STAKE_UPPER_BOUND = 1e30;

    /// @dev Two slots. Every account's bucket sum fits in 128 bits (checked in `stake`), so
    /// moving amounts between buckets never needs a range check.
    struct Account {
        uint128 free;
        uint128 locked;
        uint128 unbonding;
        uint64 unbondingReleaseAt;
    }

    IERC20 private immutable _token;
    /// @notice Registry checked when validators declare models.
    IModelRegistry public immutable modelRegistry;

    /// @inheritdoc IStaking
    uint256 public minValidatorStake;
    /// @inheritdoc IStaking
    uint256 public unbondingPeriod;
    /// @inheritdoc IStaking
    uint256 public totalStaked;
    /// @inheritdoc IStaking
    uint256 public totalCredits;
    /// @inheritdoc IStaking
    uint256 public totalBurned;
    /// @inheritdoc IStaking
    mapping(address account => uint256 credits) public creditOf;

    mapping(address account => Account stakeBuckets) private _accounts;
    mapping(address validator => bytes32[] modelIds) private _validatorModels;
    mapping(address validator => mapping(bytes32 modelId => uint256 indexPlusOne)) private _modelIndex;
    mapping(bytes32 modelId => SortitionTree.Tree tree) private _trees;

    /// @param token_ The protocol token (plain ERC20; fee-on-transfer tokens are rejected).
    /// @param modelRegistry_ The model registry.
    /// @param admin Default admin (also PARAMS_ROLE and PAUSER_ROLE at first).
    /// @param minValidatorStake_ Initial minimum validator stake.
    /// @param unbondingPeriod_ Initial unbonding period in seconds.
    constructor(
        IERC20 token_,
        IModelRegistry modelRegistry_,
        address admin,
        uint256 minValidatorStake_,
        uint256 unbondingPeriod_
    ) ProtocolAccess(admin) {
        if (address(token_) == address(0) || address(modelRegistry_) == address(0)) revert StakingZeroAddress();
        _token = token_;
        modelRegistry = modelRegistry_;
        minValidatorStake = _checkParameter(
            "minValidatorStake",
            0,
            minValidatorStake_,
            MIN_VALIDATOR_STAKE_LOWER_BOUND,
            MIN_VALIDATOR_STAKE_UPPER_BOUND
        );
        unbondingPeriod = _checkParameter(
            "unbondingPeriod",
            0,
            unbondingPeriod_,
            MIN_UNBONDING_PERIOD_SECONDS,
            MAX_UNBONDING_PERIOD_SECONDS
        );
    }

    // ---------------------------------------------------------------- stake and unstake

    /// @inheritdoc IStaking
    function stake(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert StakingZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 free = account.free + amount;
        // INVARIANT: an account's free + locked + unbonding fits in 128 bits.
        SafeCast.toUint128(free + account.locked + account.unbonding);
        account.free = uint128(free);
        totalStaked += amount;
        _pull(msg.sender, amount);
        emit Staked(msg.sender, amount, free);
        _syncValidator(msg.sender);
    }

    /// @inheritdoc IStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        Account memory account = _accounts[msg.sender];
        // INVARIANT: only free stake unbonds; locked stake backs open obligations.
        if (amount > account.free) revert StakingInsufficientFreeStake(msg.sender, account.free, amount);
        if (_validatorModels[msg.sender].length != 0) {
            uint256 remaining = account.free - amount + account.locked;
            // INVARIANT: a declared validator keeps at least minValidatorStake active.
            if (remaining < minValidatorStake) {
                revert StakingValidatorStakeTooLow(msg.sender, remaining, minValidatorStake);
            }
        }
        uint256 releaseAt = block.timestamp + unbondingPeriod;
        // Bucket sums fit in 128 bits (see Account), and amount <= free.
        account.free -= uint128(amount);
        account.unbonding += uint128(amount);
        account.unbondingReleaseAt = uint64(releaseAt);
        _accounts[msg.sender] = account;
        emit UnstakeRequested(msg.sender, amount, account.unbonding, releaseAt);
        _syncValidator(msg.sender);
    }

    /// @inheritdoc IStaking
    function withdrawUnbonded() external nonReentrant returns (uint256 amount) {
        Account storage account = _accounts[msg.sender];
        amount = account.unbonding;
        if (amount == 0) revert StakingNothingUnbonding(msg.sender);
        uint256 releaseAt = account.unbondingReleaseAt;
        // INVARIANT: unbonding stake leaves only after its release time.
        if (block.timestamp < releaseAt) revert StakingUnbondingNotReleased(msg.sender, releaseAt, block.timestamp);
        account.unbonding = 0;
        account.unbondingReleaseAt = 0;
        totalStaked -= amount;
        _token.safeTransfer(msg.sender, amount);
        emit UnbondedWithdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- lock and unlock

    /// @inheritdoc IStaking
    function lock(address account, uint256 amount) external onlyRole(LOCKER_ROLE) whenNotPaused {
        Account storage buckets = _accounts[account];
        uint256 free = buckets.free;
        uint256 locked = buckets.locked;
        // INVARIANT: only free stake can be locked.
        if (amount > free) revert StakingInsufficientFreeStake(account, free, amount);
        // Bucket sums fit in 128 bits (see Account), and amount <= free.
        locked += amount;
        buckets.free = uint128(free - amount);
        buckets.locked = uint128(locked);
        emit StakeLocked(account, msg.sender, amount, locked);
    }

    /// @inheritdoc IStaking
    function unlock(address account, uint256 amount) external onlyRole(LOCKER_ROLE) returns (uint256 unlocked) {
        Account storage buckets = _accounts[account];
        uint256 locked = buckets.locked;
        // INVARIANT: a slash may already have taken locked stake; unlocking never underflows.
        unlocked = amount < locked ? amount : locked;
        locked -= unlocked;
        // Bucket sums fit in 128 bits (see Account).
        buckets.free += uint128(unlocked);
        buckets.locked = uint128(locked);
        emit StakeUnlocked(account, msg.sender, unlocked, locked);
    }

    // ---------------------------------------------------------------- slash and credits

    /// @inheritdoc IStaking
    function slash(
        address account,
        uint256 amount,
        address[] calldata beneficiaries,
        uint256[] calldata bps
    ) external onlyRole(SLASHER_ROLE) nonReentrant returns (uint256 slashed) {
        _checkShares(beneficiaries, bps);
        (uint256 fromLocked, uint256 fromFree, uint256 fromUnbonding) = _take(account, amount);
        slashed = fromLocked + fromFree + fromUnbonding;
        totalStaked -= slashed;
        uint256 burned = slashed - _credit(account, slashed, beneficiaries, bps);
        totalBurned += burned;
        emit Slashed(account, msg.sender, amount, slashed, fromLocked, fromFree, fromUnbonding, burned);
        _syncValidator(account);
        if (burned != 0) _token.safeTransfer(BURN_ADDRESS, burned);
    }

    /// @inheritdoc IStaking
    function withdrawCredits() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert StakingNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        totalCredits -= amount;
        _token.safeTransfer(msg.sender, amount);
        emit CreditsWithdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- validators

    /// @inheritdoc IStaking
    function declareValidator(bytes32[] calldata modelIds) external whenNotPaused {
        uint256 active = _activeStake(msg.sender);
        // INVARIANT: only accounts with at least minValidatorStake active enter sortition.
        if (active < minValidatorStake) revert StakingValidatorStakeTooLow(msg.sender, active, minValidatorStake);
        bytes32[] storage declared = _validatorModels[msg.sender];
        uint256 newCount = declared.length + modelIds.length;
        // INVARIANT: a validator's tree updates stay bounded.
        if (newCount > MAX_MODELS_PER_VALIDATOR) {
            revert StakingTooManyModels(msg.sender, newCount, MAX_MODELS_PER_VALIDATOR);
        }
        for (uint256 i; i < modelIds.length; ++i) {
            bytes32 modelId = modelIds[i];
            if (!modelRegistry.isActive(modelId)) revert StakingModelNotActive(modelId);
            if (_modelIndex[msg.sender][modelId] != 0) revert StakingModelAlreadyDeclared(msg.sender, modelId);
            declared.push(modelId);
            _modelIndex[msg.sender][modelId] = declared.length;
            _trees[modelId].set(msg.sender, active);
            emit ValidatorModelDeclared(msg.sender, modelId);
            emit ValidatorWeightChanged(msg.sender, modelId, 0, active);
        }
    }

    /// @inheritdoc IStaking
    function undeclareModel(bytes32 modelId) external {
        uint256 indexPlusOne = _modelIndex[msg.sender][modelId];
        if (indexPlusOne == 0) revert StakingModelNotDeclared(msg.sender, modelId);
        bytes32[] storage declared = _validatorModels[msg.sender];
        uint256 last = declared.length - 1;
        if (indexPlusOne - 1 != last) {
            bytes32 moved = declared[last];
            declared[indexPlusOne - 1] = moved;
            _modelIndex[msg.sender][moved] = indexPlusOne;
        }
        declared.pop();
        delete _modelIndex[msg.sender][modelId];
        uint256 oldWeight = _trees[modelId].set(msg.sender, 0);
        emit ValidatorModelUndeclared(msg.sender, modelId);
        if (oldWeight != 0) emit ValidatorWeightChanged(msg.sender, modelId, oldWeight, 0);
    }

    /// @inheritdoc IStaking
    function refreshValidator(address validator) external {
        _syncValidator(validator);
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc IStaking
    function setMinValidatorStake(uint256 value) external onlyRole(PARAMS_ROLE) {
        minValidatorStake = _checkParameter(
            "minValidatorStake",
            minValidatorStake,
            value,
            MIN_VALIDATOR_STAKE_LOWER_BOUND,
            MIN_VALIDATOR_STAKE_UPPER_BOUND
        );
    }

    /// @inheritdoc IStaking
    function setUnbondingPeriod(uint256 value) external onlyRole(PARAMS_ROLE) {
        unbondingPeriod = _checkParameter(
            "unbondingPeriod",
            unbondingPeriod,
            value,
            MIN_UNBONDING_PERIOD_SECONDS,
            MAX_UNBONDING_PERIOD_SECONDS
        );
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IStaking
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IStaking
    function stakeOf(
        address account
    ) external view returns (uint256 free, uint256 locked, uint256 unbonding, uint256 unbondingReleaseAt) {
        Account memory buckets = _accounts[account];
        return (buckets.free, buckets.locked, buckets.unbonding, buckets.unbondingReleaseAt);
    }

    /// @inheritdoc IStaking
    function activeStakeOf(address account) external view returns (uint256) {
        return _activeStake(account);
    }

    /// @inheritdoc IStaking
    function lockedOf(address account) external view returns (uint256) {
        return _accounts[account].locked;
    }

    /// @inheritdoc IStaking
    function validatorModels(address validator) external view returns (bytes32[] memory) {
        return _validatorModels[validator];
    }

    /// @inheritdoc IStaking
    function isValidatorFor(address validator, bytes32 modelId) external view returns (bool) {
        return _modelIndex[validator][modelId] != 0;
    }

    /// @inheritdoc IStaking
    function drawValidator(bytes32 modelId, uint256 rand) external view returns (address) {
        return _trees[modelId].draw(rand);
    }

    /// @inheritdoc IStaking
    function validatorWeight(bytes32 modelId, address validator) external view returns (uint256) {
        return _trees[modelId].weightOf(validator);
    }

    /// @inheritdoc IStaking
    function totalValidatorWeight(bytes32 modelId) external view returns (uint256) {
        return _trees[modelId].total;
    }

    // ---------------------------------------------------------------- internals

    function _activeStake(address account) private view returns (uint256) {
        Account storage buckets = _accounts[account];
        return uint256(buckets.free) + buckets.locked;
    }

    /// @dev Sets the validator's weight in each declared tree: active stake if >= minValidatorStake, else 0.
    function _syncValidator(address validator) private {
        bytes32[] storage declared = _validatorModels[validator];
        uint256 count = declared.length;
        if (count == 0) return;
        uint256 active = _activeStake(validator);
        uint256 weight = active >= minValidatorStake ? active : 0;
        for (uint256 i; i < count; ++i) {
            bytes32 modelId = declared[i];
            uint256 oldWeight = _trees[modelId].set(validator, weight);
            if (oldWeight != weight) emit ValidatorWeightChanged(validator, modelId, oldWeight, weight);
        }
    }

    /// @dev Pulls exactly `amount` from `from`; rejects tokens that deliver less.
    function _pull(address from, uint256 amount) private {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        // INVARIANT: credited stake equals tokens received.
        if (received != amount) revert StakingTransferAmountMismatch(amount, received);
    }

    function _checkShares(address[] calldata beneficiaries, uint256[] calldata bps) private pure {
        uint256 count = beneficiaries.length;
        if (count != bps.length) revert StakingBeneficiaryLengthMismatch(count, bps.length);
        if (count > MAX_SLASH_BENEFICIARIES) revert StakingTooManyBeneficiaries(count, MAX_SLASH_BENEFICIARIES);
        uint256 bpsSum;
        for (uint256 i; i < count; ++i) {
            if (beneficiaries[i] == address(0)) revert StakingZeroAddress();
            bpsSum += bps[i];
        }
        // INVARIANT: beneficiaries never receive more than was slashed.
        if (bpsSum > BPS_DENOMINATOR) revert StakingBpsSumTooHigh(bpsSum, BPS_DENOMINATOR);
    }

    /// @dev Credits each beneficiary its share of `slashed`; returns the sum credited.
    function _credit(
        address account,
        uint256 slashed,
        address[] calldata beneficiaries,
        uint256[] calldata bps
    ) private returns (uint256 credited) {
        for (uint256 i; i < beneficiaries.length; ++i) {
            uint256 share = (slashed * bps[i]) / BPS_DENOMINATOR;
            credited += share;
            creditOf[beneficiaries[i]] += share;
            emit Credited(beneficiaries[i], account, share);
        }
        totalCredits += credited;
    }

    /// @dev Removes up to `amount` from `account`: locked, then free, then unbonding.
    function _take(
        address account,
        uint256 amount
    ) private returns (uint256 fromLocked, uint256 fromFree, uint256 fromUnbonding) {
        Account memory buckets = _accounts[account];
        // INVARIANT: a slash takes locked, then free, then unbonding, never more than each holds.
        fromLocked = _min(amount, buckets.locked);
        fromFree = _min(amount - fromLocked, buckets.free);
        fromUnbonding = _min(amount - fromLocked - fromFree, buckets.unbonding);
        // Each part is at most its bucket, so the casts are exact and the differences non-negative.
        buckets.locked -= uint128(fromLocked);
        buckets.free -= uint128(fromFree);
        buckets.unbonding -= uint128(fromUnbonding);
        if (buckets.unbonding == 0) buckets.unbondingReleaseAt = 0;
        _accounts[account] = buckets;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
