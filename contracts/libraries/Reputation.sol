// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ud} from "@prb/math/src/UD60x18.sol";

/// @title Reputation
/// @notice Per-identity reputation in 1e18 fixed point, always in [0, 1e18].
/// @dev Two rules, both pure so tests (and agents/lib/reputation.ts) can reproduce them:
///
/// Update, a value-weighted EMA. An event with score x in [0, 1e18] and value v (token wei at
/// stake in the event: settled payout, slash, missed deadline) moves the current value R to
///     R' = (W * R + v * x) / (W + v)
/// i.e. R' = a * R + (1 - a) * x with (1 - a) = v / (W + v). W, the memory weight, is in the same
/// units as v: an event worth W moves R half-way to x; small events barely move it. v is clamped to
/// MAX_EVENT_VALUE so the products cannot overflow. The division rounds down.
///
/// Decay, applied lazily before reading or updating: R(t) = N + (R0 - N) * 2^(-dt / H), with N the
/// neutral value 0.5e18, H the half-life and dt the seconds since the last event. 2^(-y) is computed
/// as 1e36 / exp2(y) with PRB-Math's UD60x18 exp2 (y = dt * 1e18 / H, rounded down); the distance to
/// neutral is rounded down, so decay never overshoots neutral. After 64 half-lives the value is
/// exactly neutral.
///
/// Newcomers: an identity with no recorded event reads START (0.4e18, below neutral) and does not
/// decay: otherwise a fresh identity would drift up to neutral just by waiting, and a sybil could age
/// identities for free. Decay starts at the first event. A changed half-life applies to all
/// identities at their next read (decay is computed, not stored).
library Reputation {
    /// @notice Fixed-point one.
    uint256 internal constant ONE = 1e18;
    /// @notice Value that every identity with history decays toward.
    uint256 internal constant NEUTRAL = 0.5e18;
    /// @notice Value of an identity without events.
    uint256 internal constant START = 0.4e18;
    /// @notice Largest event value used; larger values are clamped (keeps W*R + v*x in range).
    uint256 internal constant MAX_EVENT_VALUE = type(uint128).max;
    /// @notice Decay horizon in half-lives (UD60x18); beyond it the value is neutral.
    uint256 internal constant MAX_HALF_LIVES_UD = 64e18;

    /// @notice Stored reputation: one slot.
    /// @param value Value at `lastUpdate`, 1e18 fixed point.
    /// @param lastUpdate Timestamp of the last event.
    /// @param initialized False until the first event.
    struct State {
        uint64 value;
        uint64 lastUpdate;
        bool initialized;
    }

    /// @notice The score is above 1e18.
    error ReputationScoreOutOfRange(uint256 score, uint256 max);

    /// @notice Decays `value` toward NEUTRAL over `elapsedSeconds` with half-life `halfLifeSeconds` (> 0).
    function decay(uint256 value, uint256 elapsedSeconds, uint256 halfLifeSeconds) internal pure returns (uint256) {
        if (elapsedSeconds == 0 || value == NEUTRAL) return value;
        // elapsedSeconds comes from uint64 timestamps, so the product cannot overflow.
        uint256 halfLives = (elapsedSeconds * ONE) / halfLifeSeconds;
        if (halfLives >= MAX_HALF_LIVES_UD) return NEUTRAL;
        uint256 factor = (ONE * ONE) / ud(halfLives).exp2().unwrap();
        if (value > NEUTRAL) return NEUTRAL + ((value - NEUTRAL) * factor) / ONE;
        return NEUTRAL - ((NEUTRAL - value) * factor) / ONE;
    }

    /// @notice The value of `state` at time `nowSeconds`.
    function valueAt(State memory state, uint256 nowSeconds, uint256 halfLifeSeconds) internal pure returns (uint256) {
        if (!state.initialized) return START;
        uint256 elapsed = nowSeconds > state.lastUpdate ? nowSeconds - state.lastUpdate : 0;
        return decay(state.value, elapsed, halfLifeSeconds);
    }

    /// @notice The EMA step alone: (W * current + v * score) / (W + v), v clamped. W + v must be > 0.
    function blend(
        uint256 current,
        uint256 score,
        uint256 eventValue,
        uint256 memoryWeight
    ) internal pure returns (uint256) {
        if (score > ONE) revert ReputationScoreOutOfRange(score, ONE);
        uint256 v = eventValue > MAX_EVENT_VALUE ? MAX_EVENT_VALUE : eventValue;
        return (memoryWeight * current + v * score) / (memoryWeight + v);
    }

    /// @notice Records an event: decay to `nowSeconds`, then blend. memoryWeight <= 2^128 and
    /// halfLifeSeconds > 0 are the caller's to ensure (governance bounds do).
    function update(
        State memory state,
        uint256 score,
        uint256 eventValue,
        uint256 nowSeconds,
        uint256 halfLifeSeconds,
        uint256 memoryWeight
    ) internal pure returns (State memory next) {
        uint256 current = valueAt(state, nowSeconds, halfLifeSeconds);
        uint256 value = blend(current, score, eventValue, memoryWeight);
        // value is a convex combination of two numbers <= 1e18, so it fits in uint64;
        // nowSeconds is a block timestamp.
        next = State({value: uint64(value), lastUpdate: uint64(nowSeconds), initialized: true});
    }
}
