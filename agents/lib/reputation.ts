/**
 * Reference implementation of contracts/libraries/Reputation.sol, over bigint (1e18 fixed point).
 *
 * - blend: R' = (W * R + v * x) / (W + v), v clamped to 2^128 - 1, rounded down: bit-exact with Solidity.
 * - decay: R(t) = N + (R0 - N) * 2^(-dt / H), N = 0.5e18. Solidity computes 2^(-y) with PRB-Math's
 *   exp2 in UD60x18; here it is a float64 power rounded to 1e18 fixed point, so results agree within
 *   a stated tolerance (DECAY_TOLERANCE_WEI), not bit for bit. The number of half-lives y is the same
 *   integer division in both (dt * 1e18 / H, rounded down); from 64 half-lives on the value is exactly N.
 * - newcomers: a state without events reads START (0.4e18) and does not decay.
 */
import { LLMarketError } from "./errors.ts";

export const ONE = 10n ** 18n;
export const NEUTRAL = 5n * 10n ** 17n;
export const START = 4n * 10n ** 17n;
export const MAX_EVENT_VALUE = 2n ** 128n - 1n;
export const MAX_HALF_LIVES_UD = 64n * ONE;
/** Largest difference between this decay and the contract's, in wei of a 1e18 value. */
export const DECAY_TOLERANCE_WEI = 1000n;

export type ReputationState = { value: bigint; lastUpdate: bigint; initialized: boolean };
export type ReputationParams = { halfLifeSeconds: bigint; memoryWeight: bigint };

/** A reputation input is outside its domain (score above 1e18, zero half-life or memory weight). */
export class ReputationInputError extends LLMarketError {}

/** 2^(-elapsed / halfLife) in 1e18 fixed point (float64 precision). */
export function decayFactor(elapsedSeconds: bigint, halfLifeSeconds: bigint): bigint {
  if (halfLifeSeconds <= 0n) {
    throw new ReputationInputError("Reputation half-life must be positive.", { details: { halfLifeSeconds } });
  }
  const halfLives = (elapsedSeconds * ONE) / halfLifeSeconds;
  if (halfLives >= MAX_HALF_LIVES_UD) return 0n;
  const y = Number(halfLives) / 1e18;
  return BigInt(Math.round(2 ** -y * 1e18));
}

/** Decays `value` from `lastUpdate` to `now` toward NEUTRAL with the params' half-life. */
export function decay(value: bigint, lastUpdate: bigint, now: bigint, params: ReputationParams): bigint {
  const elapsed = now > lastUpdate ? now - lastUpdate : 0n;
  if (elapsed === 0n || value === NEUTRAL) return value;
  const factor = decayFactor(elapsed, params.halfLifeSeconds);
  if (value > NEUTRAL) return NEUTRAL + ((value - NEUTRAL) * factor) / ONE;
  return NEUTRAL - ((NEUTRAL - value) * factor) / ONE;
}

/** The value of `state` at `now`: START without events, else the decayed value. */
export function valueAt(state: ReputationState, now: bigint, params: ReputationParams): bigint {
  if (!state.initialized) return START;
  return decay(state.value, state.lastUpdate, now, params);
}

/** The EMA step: (W * current + v * score) / (W + v), v clamped to MAX_EVENT_VALUE. */
export function blend(current: bigint, score: bigint, eventValue: bigint, memoryWeight: bigint): bigint {
  if (score < 0n || score > ONE) {
    throw new ReputationInputError("Reputation score must be in [0, 1e18].", { details: { score } });
  }
  const v = eventValue > MAX_EVENT_VALUE ? MAX_EVENT_VALUE : eventValue;
  if (memoryWeight + v === 0n) {
    throw new ReputationInputError("Reputation memory weight must be positive.", { details: { memoryWeight } });
  }
  return (memoryWeight * current + v * score) / (memoryWeight + v);
}

/** Records an event at `now`: decay, then blend. */
export function update(
  state: ReputationState,
  score: bigint,
  eventValue: bigint,
  now: bigint,
  params: ReputationParams,
): ReputationState {
  const current = valueAt(state, now, params);
  return { value: blend(current, score, eventValue, params.memoryWeight), lastUpdate: now, initialized: true };
}
