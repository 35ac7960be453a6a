// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {IRewardPool} from "../interfaces/IRewardPool.sol";

/// @title RewardPool
/// @notice Per-epoch node rewards by settled work, capped by fees paid (see IRewardPool).
/// @dev Accounting: token balance == sum over epochs of (pool - allocated) (>= if tokens are sent
/// directly). A claim allocates the node's full share; the capped part re-enters the current pool.
contract RewardPool is IRewardPool, ProtocolAccess, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    bytes32 public constant WORK_RECORDER_ROLE = keccak256("WORK_RECORDER_ROLE");
    bytes32 public constant FEE_DEPOSITOR_ROLE = keccak256("FEE_DEPOSITOR_ROLE");
    uint256 public constant MIN_EPOCH_SECONDS = 1 hours;
    uint256 public constant MAX_EPOCH_SECONDS = 90 days;
    uint256 public constant MIN_CLAIM_WINDOW_EPOCHS = 1;
    uint256 public constant MAX_CLAIM_WINDOW_EPOCHS = 365;

    IERC20 public immutable token;
    uint256 public immutable genesis;
    uint256 public immutable epochSeconds;
    uint256 public claimWindowEpochs;

    mapping(uint256 epoch => EpochTotals) internal _epochs;
    mapping(uint256 epoch => mapping(address node => Work)) internal _work;

    constructor(address admin, IERC20 token_, uint256 epochSeconds_, uint256 claimWindowEpochs_) ProtocolAccess(admin) {
        if (epochSeconds_ < MIN_EPOCH_SECONDS || epochSeconds_ > MAX_EPOCH_SECONDS) {
            revert RewardPoolBadEpochLength(epochSeconds_);
        }
        token = token_;
        genesis = block.timestamp;
        epochSeconds = epochSeconds_;
        claimWindowEpochs = _checkParameter(
            "claimWindowEpochs",
            0,
            claimWindowEpochs_,
            MIN_CLAIM_WINDOW_EPOCHS,
            MAX_CLAIM_WINDOW_EPOCHS
        );
    }

    /// @inheritdoc IRewardPool
    function setClaimWindowEpochs(uint256 value) external onlyRole(PARAMS_ROLE) {
        claimWindowEpochs = _checkParameter(
            "claimWindowEpochs",
            claimWindowEpochs,
            value,
            MIN_CLAIM_WINDOW_EPOCHS,
            MAX_CLAIM_WINDOW_EPOCHS
        );
    }

    /// @inheritdoc IRewardPool
    function recordWork(address node, uint256 paid, uint256 fees) external onlyRole(WORK_RECORDER_ROLE) {
        if (paid == 0 && fees == 0) return;
        uint256 e = currentEpoch();
        Work storage w = _work[e][node];
        // INVARIANT: work points are snapshotted in the epoch the work settled in.
        w.points += paid.toUint128();
        w.fees += fees.toUint128();
        _epochs[e].points += paid.toUint128();
        emit WorkRecorded(e, node, paid, fees);
    }

    /// @inheritdoc IRewardPool
    function fund(uint256 epoch, uint256 amount) external onlyRole(FEE_DEPOSITOR_ROLE) nonReentrant {
        if (amount == 0) revert RewardPoolZeroAmount();
        uint256 current = currentEpoch();
        // INVARIANT: an epoch's pool only grows before it ends (claims never race deposits).
        if (epoch < current) revert RewardPoolPastEpoch(epoch, current);
        EpochTotals storage t = _epochs[epoch];
        t.pool += amount.toUint128();
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Funded(epoch, msg.sender, amount, t.pool);
    }

    /// @inheritdoc IRewardPool
    function claim(uint256 epoch) external nonReentrant returns (uint256 amount) {
        uint256 current = currentEpoch();
        if (epoch >= current) revert RewardPoolEpochNotEnded(epoch, current);
        if (current > epoch + claimWindowEpochs) revert RewardPoolClaimExpired(epoch, epoch + claimWindowEpochs);
        Work storage w = _work[epoch][msg.sender];
        if (w.claimed) revert RewardPoolAlreadyClaimed(epoch, msg.sender);
        if (w.points == 0) revert RewardPoolNothingToClaim(epoch, msg.sender);
        uint256 share;
        (share, amount) = _claimable(epoch, w);
        w.claimed = true;
        EpochTotals storage t = _epochs[epoch];
        t.allocated += share.toUint128();
        uint256 recycled = share - amount;
        if (recycled != 0) _epochs[current].pool += recycled.toUint128();
        if (amount != 0) token.safeTransfer(msg.sender, amount);
        emit RewardClaimed(epoch, msg.sender, share, amount, recycled);
    }

    /// @inheritdoc IRewardPool
    function sweep(uint256 epoch) external nonReentrant returns (uint256 amount) {
        uint256 current = currentEpoch();
        EpochTotals storage t = _epochs[epoch];
        bool ended = epoch < current;
        bool expired = current > epoch + claimWindowEpochs;
        if (!ended || t.swept || (!expired && t.points != 0)) revert RewardPoolNotSweepable(epoch);
        t.swept = true;
        amount = t.pool - t.allocated;
        t.allocated = t.pool;
        _epochs[current].pool += amount.toUint128();
        emit EpochSwept(epoch, current, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IRewardPool
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochSeconds;
    }

    /// @inheritdoc IRewardPool
    function epochOf(uint256 epoch) external view returns (EpochTotals memory) {
        return _epochs[epoch];
    }

    /// @inheritdoc IRewardPool
    function workOf(uint256 epoch, address node) external view returns (Work memory) {
        return _work[epoch][node];
    }

    /// @inheritdoc IRewardPool
    function claimable(uint256 epoch, address node) external view returns (uint256 share, uint256 amount) {
        Work storage w = _work[epoch][node];
        if (w.claimed || _epochs[epoch].swept) return (0, 0);
        return _claimable(epoch, w);
    }

    /// @dev share = pool x points / totalPoints; amount = min(share, fees).
    function _claimable(uint256 epoch, Work storage w) internal view returns (uint256 share, uint256 amount) {
        EpochTotals storage t = _epochs[epoch];
        if (t.points == 0) return (0, 0);
        share = (uint256(t.pool) * w.points) / t.points;
        // INVARIANT: a node earns at most the fees its buyers paid (self-dealing never profits).
        amount = share < w.fees ? share : w.fees;
    }
}
