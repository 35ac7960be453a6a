// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IRewardPool
/// @notice Shares protocol fees among nodes per epoch by settled work, capped by the fees the
/// node's buyers paid (docs/economics.md "Reward pool").
///
/// Epoch e spans [genesis + e * epochSeconds, genesis + (e + 1) * epochSeconds). During e, the
/// settlement records each settled chunk's value (work points) and protocol fees per node, and
/// FEE_DEPOSITOR_ROLE funds e's pool. After e ends, each node claims
/// min(pool_e * points / totalPoints_e, fees it generated in e): buying from oneself earns at most
/// the fee one paid, so self-dealing never profits. What the cap withholds moves to the current
/// epoch's pool at claim time; what is unclaimed after `claimWindowEpochs` (or an epoch nobody
/// worked in) is swept forward by anyone. No loop over nodes anywhere.
interface IRewardPool {
    /// @notice Per-epoch totals. `allocated` counts claimed shares (before the cap) and sweeps.
    struct EpochTotals {
        uint128 pool;
        uint128 points;
        uint128 allocated;
        bool swept;
    }

    /// @notice A node's work in one epoch.
    struct Work {
        uint128 points;
        uint128 fees;
        bool claimed;
    }

    event Funded(uint256 indexed epoch, address indexed from, uint256 amount, uint256 pool);
    event WorkRecorded(uint256 indexed epoch, address indexed node, uint256 paid, uint256 fees);
    event RewardClaimed(uint256 indexed epoch, address indexed node, uint256 share, uint256 paid, uint256 recycled);
    event EpochSwept(uint256 indexed epoch, uint256 intoEpoch, uint256 amount);

    error RewardPoolPastEpoch(uint256 epoch, uint256 current);
    error RewardPoolEpochNotEnded(uint256 epoch, uint256 current);
    error RewardPoolClaimExpired(uint256 epoch, uint256 lastEpoch);
    error RewardPoolNothingToClaim(uint256 epoch, address node);
    error RewardPoolAlreadyClaimed(uint256 epoch, address node);
    error RewardPoolNotSweepable(uint256 epoch);
    error RewardPoolZeroAmount();
    error RewardPoolBadEpochLength(uint256 epochSeconds);

    /// @notice Records `paid` (work points) and `fees` (protocol fees from the node's buyers) for
    /// `node` in the current epoch. Called by BatchSettlement after each settled chunk or held
    /// leaf. Only WORK_RECORDER_ROLE.
    function recordWork(address node, uint256 paid, uint256 fees) external;

    /// @notice Adds `amount` of the caller's tokens to the pool of `epoch` (current or future).
    /// Only FEE_DEPOSITOR_ROLE.
    function fund(uint256 epoch, uint256 amount) external;

    /// @notice Pays the caller (a node) its capped share of ended `epoch`.
    function claim(uint256 epoch) external returns (uint256 amount);

    /// @notice Moves what is left of ended `epoch` to the current epoch's pool once its claim
    /// window is over, or at once if nobody worked in it. Anyone may call.
    function sweep(uint256 epoch) external returns (uint256 amount);

    /// @notice Sets `claimWindowEpochs` (bounded, evented). Only PARAMS_ROLE.
    function setClaimWindowEpochs(uint256 value) external;

    function currentEpoch() external view returns (uint256);
    function epochOf(uint256 epoch) external view returns (EpochTotals memory);
    function workOf(uint256 epoch, address node) external view returns (Work memory);
    /// @notice What `node` would be paid for `epoch` now: (share before the cap, amount paid).
    function claimable(uint256 epoch, address node) external view returns (uint256 share, uint256 amount);
}
