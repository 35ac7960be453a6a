// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {IValidatorRewards} from "../interfaces/IValidatorRewards.sol";
import {IChallengeGame} from "../interfaces/IChallengeGame.sol";

/// @title ValidatorRewards
/// @notice The validators' fee stream, shared per epoch by canary catches (see IValidatorRewards).
/// @dev Accounting: token balance == sum over epochs of (pool - allocated).
contract ValidatorRewards is IValidatorRewards, ProtocolAccess, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    bytes32 public constant FEE_DEPOSITOR_ROLE = keccak256("FEE_DEPOSITOR_ROLE");
    bytes32 public constant CANARY_ROLE = keccak256("CANARY_ROLE");
    uint256 public constant MIN_EPOCH_SECONDS = 1 hours;
    uint256 public constant MAX_EPOCH_SECONDS = 90 days;
    uint256 public constant MAX_CLAIM_WINDOW_EPOCHS = 365;
    uint256 public constant MAX_LAPSE_CANARIES = 10_000;
    uint256 public constant MAX_REVEAL_DELAY_SECONDS = 30 days;

    IERC20 public immutable token;
    IChallengeGame public immutable game;
    uint256 public immutable genesis;
    uint256 public immutable epochSeconds;
    uint256 public claimWindowEpochs;
    uint256 public lapseCanaries;
    uint256 public minRevealDelay;

    uint256 internal _revealed;
    uint256 internal _caught;
    mapping(uint256 epoch => EpochTotals) internal _epochs;
    mapping(uint256 epoch => mapping(address validator => uint256 points)) internal _points;
    mapping(uint256 epoch => mapping(address validator => bool)) internal _claimed;
    mapping(bytes32 commitment => Canary) internal _canaries;
    mapping(address validator => uint256 catches) internal _catches;
    mapping(address validator => uint256 revealedCount) internal _lastCatchAt;

    constructor(
        address admin,
        IERC20 token_,
        IChallengeGame game_,
        uint256 epochSeconds_,
        uint256 claimWindowEpochs_,
        uint256 lapseCanaries_,
        uint256 minRevealDelay_
    ) ProtocolAccess(admin) {
        if (epochSeconds_ < MIN_EPOCH_SECONDS || epochSeconds_ > MAX_EPOCH_SECONDS) {
            revert ValidatorRewardsBadEpochLength(epochSeconds_);
        }
        token = token_;
        game = game_;
        genesis = block.timestamp;
        epochSeconds = epochSeconds_;
        _setParam("claimWindowEpochs", claimWindowEpochs_);
        _setParam("lapseCanaries", lapseCanaries_);
        _setParam("minRevealDelay", minRevealDelay_);
    }

    /// @inheritdoc IValidatorRewards
    function setParameter(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        _setParam(name, value);
    }

    function _setParam(bytes32 name, uint256 value) internal {
        if (name == "claimWindowEpochs") {
            claimWindowEpochs = _checkParameter(name, claimWindowEpochs, value, 1, MAX_CLAIM_WINDOW_EPOCHS);
        } else if (name == "lapseCanaries") {
            lapseCanaries = _checkParameter(name, lapseCanaries, value, 1, MAX_LAPSE_CANARIES);
        } else if (name == "minRevealDelay") {
            minRevealDelay = _checkParameter(name, minRevealDelay, value, 0, MAX_REVEAL_DELAY_SECONDS);
        } else {
            revert ValidatorRewardsUnknownParameter(name);
        }
    }

    // ------------------------------------------------------------------ fees

    /// @inheritdoc IValidatorRewards
    function fund(uint256 epoch, uint256 amount) external onlyRole(FEE_DEPOSITOR_ROLE) nonReentrant {
        if (amount == 0) revert ValidatorRewardsZeroAmount();
        uint256 current = currentEpoch();
        // INVARIANT: an epoch's pool only grows before it ends (claims never race deposits).
        if (epoch < current) revert ValidatorRewardsPastEpoch(epoch, current);
        EpochTotals storage t = _epochs[epoch];
        t.pool += amount.toUint128();
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Funded(epoch, msg.sender, amount, t.pool);
    }

    // ------------------------------------------------------------------ canaries

    /// @inheritdoc IValidatorRewards
    function plantCanaries(bytes32[] calldata commitments) external onlyRole(CANARY_ROLE) {
        for (uint256 i; i < commitments.length; ++i) {
            bytes32 c = commitments[i];
            if (_canaries[c].plantedAt != 0) revert ValidatorRewardsCanaryExists(c);
            _canaries[c].plantedAt = uint64(block.timestamp);
            emit CanaryPlanted(c);
        }
    }

    /// @inheritdoc IValidatorRewards
    function revealCanary(
        uint256 batchId,
        uint32 leafIndex,
        bytes32 salt
    ) external onlyRole(CANARY_ROLE) returns (address catcher) {
        bytes32 c = canaryCommitment(batchId, leafIndex, salt);
        Canary storage canary = _canaries[c];
        // INVARIANT: only a canary planted in advance counts, once.
        if (canary.plantedAt == 0 || canary.revealed) revert ValidatorRewardsUnknownCanary(c);
        uint256 at = uint256(canary.plantedAt) + minRevealDelay;
        if (block.timestamp < at) revert ValidatorRewardsCanaryTooEarly(c, at);
        canary.revealed = true;
        uint256 revealed = ++_revealed;
        address challenger = game.wrongOutputChallengerOf(batchId, leafIndex);
        uint256 e = currentEpoch();
        // INVARIANT: only a wrong-output challenge of the canary leaf proves the leaf was checked
        // (recorded once the canary node answered it or it timed out).
        if (challenger != address(0)) {
            catcher = challenger;
            ++_caught;
            ++_catches[catcher];
            _lastCatchAt[catcher] = revealed;
            ++_points[e][catcher];
            ++_epochs[e].points;
        }
        emit CanaryRevealed(c, batchId, leafIndex, catcher, e);
    }

    // ------------------------------------------------------------------ claims

    /// @inheritdoc IValidatorRewards
    function claim(uint256 epoch) external nonReentrant returns (uint256 amount) {
        uint256 current = currentEpoch();
        if (epoch >= current) revert ValidatorRewardsEpochNotEnded(epoch, current);
        uint256 last = epoch + claimWindowEpochs;
        if (current > last) revert ValidatorRewardsClaimExpired(epoch, last);
        if (_claimed[epoch][msg.sender]) revert ValidatorRewardsAlreadyClaimed(epoch, msg.sender);
        uint256 pts = _points[epoch][msg.sender];
        if (pts == 0) revert ValidatorRewardsNothingToClaim(epoch, msg.sender);
        EpochTotals storage t = _epochs[epoch];
        amount = (uint256(t.pool) * pts) / t.points;
        _claimed[epoch][msg.sender] = true;
        t.allocated += amount.toUint128();
        if (amount != 0) token.safeTransfer(msg.sender, amount);
        emit RewardClaimed(epoch, msg.sender, amount);
    }

    /// @inheritdoc IValidatorRewards
    function sweep(uint256 epoch) external nonReentrant returns (uint256 amount) {
        uint256 current = currentEpoch();
        EpochTotals storage t = _epochs[epoch];
        bool expired = current > epoch + claimWindowEpochs;
        if (epoch >= current || t.swept || (!expired && t.points != 0)) revert ValidatorRewardsNotSweepable(epoch);
        t.swept = true;
        amount = t.pool - t.allocated;
        t.allocated = t.pool;
        _epochs[current].pool += amount.toUint128();
        emit EpochSwept(epoch, current, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IValidatorRewards
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochSeconds;
    }

    /// @inheritdoc IValidatorRewards
    function epochOf(uint256 epoch) external view returns (EpochTotals memory) {
        return _epochs[epoch];
    }

    /// @inheritdoc IValidatorRewards
    function pointsOf(uint256 epoch, address validator) external view returns (uint256) {
        return _points[epoch][validator];
    }

    /// @inheritdoc IValidatorRewards
    function canaryOf(bytes32 commitment) external view returns (Canary memory) {
        return _canaries[commitment];
    }

    /// @inheritdoc IValidatorRewards
    function canaryStats() external view returns (uint256 revealed, uint256 caught, uint256 missed) {
        return (_revealed, _caught, _revealed - _caught);
    }

    /// @inheritdoc IValidatorRewards
    function catchesOf(address validator) external view returns (uint256 catches, uint256 lastCatchAt) {
        return (_catches[validator], _lastCatchAt[validator]);
    }

    /// @inheritdoc IValidatorRewards
    function isLapsed(address validator) external view returns (bool) {
        return _revealed - _lastCatchAt[validator] >= lapseCanaries;
    }

    /// @inheritdoc IValidatorRewards
    function canaryCommitment(uint256 batchId, uint32 leafIndex, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(batchId, leafIndex, salt));
    }
}
