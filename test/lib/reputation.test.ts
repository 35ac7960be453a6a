import { beforeAll, describe, expect, it } from "vitest";
import { network } from "hardhat";
import {
  DECAY_TOLERANCE_WEI,
  NEUTRAL,
  ONE,
  START,
  blend,
  decay,
  update,
  valueAt,
  type ReputationParams,
  type ReputationState,
} from "../../agents/lib/reputation.ts";

/** splitmix64: a seeded PRNG over bigint so failures reproduce. */
function prng(seed: bigint): (maxExclusive: bigint) => bigint {
  let s = seed;
  const mask = (1n << 64n) - 1n;
  return (maxExclusive) => {
    s = (s + 0x9e3779b97f4a7c15n) & mask;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    z = z ^ (z >> 31n);
    const wide = (z << 64n) | ((z * 0x2545f4914f6cdd1dn) & mask);
    return wide % maxExclusive;
  };
}

const DAY = 86_400n;
const CASES = 300;

function absDiff(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}

async function deployHarness() {
  const { viem } = await network.create();
  return viem.deployContract("ReputationHarness");
}

describe("Reputation: TypeScript reference vs Solidity (ReputationHarness)", () => {
  let harness: Awaited<ReturnType<typeof deployHarness>>;

  beforeAll(async () => {
    harness = await deployHarness();
  });

  it(`decay agrees within ${DECAY_TOLERANCE_WEI} wei on ${CASES} random cases`, async () => {
    const rand = prng(20261122n);
    let worst = 0n;
    for (let i = 0; i < CASES; i++) {
      const value = i % 10 === 0 ? NEUTRAL : rand(ONE + 1n);
      const halfLife = 3_600n + rand(3_650n * DAY);
      // Mix short, one-half-life-ish and very long gaps (beyond 64 half-lives).
      const scale = [halfLife / 100n + 1n, halfLife * 3n, halfLife * 80n][i % 3]!;
      const elapsed = rand(scale);
      const params: ReputationParams = { halfLifeSeconds: halfLife, memoryWeight: 1n };
      const expected = decay(value, 0n, elapsed, params);
      const actual: bigint = await harness.read.decay([value, elapsed, halfLife]);
      const diff = absDiff(actual, expected);
      if (diff > worst) worst = diff;
      expect(diff, `decay(${value}, ${elapsed}, ${halfLife})`).toBeLessThanOrEqual(DECAY_TOLERANCE_WEI);
    }
    expect(worst).toBeLessThanOrEqual(DECAY_TOLERANCE_WEI);
  });

  it(`blend is bit-exact on ${CASES} random cases`, async () => {
    const rand = prng(7n);
    for (let i = 0; i < CASES; i++) {
      const current = rand(ONE + 1n);
      const score = rand(ONE + 1n);
      const value = i % 7 === 0 ? rand(1n << 250n) : rand(10n ** 24n);
      const weight = 1n + rand(10n ** 36n);
      const expected = blend(current, score, value, weight);
      const actual: bigint = await harness.read.blend([current, score, value, weight]);
      expect(actual, `blend(${current}, ${score}, ${value}, ${weight})`).toBe(expected);
    }
  });

  it(`update (decay then blend) agrees within ${DECAY_TOLERANCE_WEI} wei over ${CASES} random histories`, async () => {
    const rand = prng(42n);
    for (let i = 0; i < CASES; i++) {
      const params: ReputationParams = {
        halfLifeSeconds: 3_600n + rand(365n * DAY),
        memoryWeight: 1n + rand(10n ** 21n),
      };
      const state: ReputationState =
        i % 5 === 0
          ? { value: 0n, lastUpdate: 0n, initialized: false }
          : { value: rand(ONE + 1n), lastUpdate: 1_700_000_000n + rand(DAY), initialized: true };
      const now = 1_700_000_000n + DAY + rand(200n * DAY);
      const score = rand(ONE + 1n);
      const value = rand(10n ** 21n);
      const expected = update(state, score, value, now, params);
      const actual: ReputationState = await harness.read.update([
        state,
        score,
        value,
        now,
        params.halfLifeSeconds,
        params.memoryWeight,
      ]);
      expect(absDiff(actual.value, expected.value)).toBeLessThanOrEqual(DECAY_TOLERANCE_WEI);
      expect(actual.lastUpdate).toBe(now);
      expect(actual.initialized).toBe(true);
      const read: bigint = await harness.read.valueAt([state, now, params.halfLifeSeconds]);
      expect(absDiff(read, valueAt(state, now, params))).toBeLessThanOrEqual(DECAY_TOLERANCE_WEI);
    }
  });

  it("newcomers read START and do not decay; scores above 1e18 are rejected by both", async () => {
    const fresh: ReputationState = { value: 0n, lastUpdate: 0n, initialized: false };
    const params: ReputationParams = { halfLifeSeconds: 30n * DAY, memoryWeight: 10n ** 20n };
    expect(valueAt(fresh, 10n ** 10n, params)).toBe(START);
    expect(await harness.read.valueAt([fresh, 10n ** 10n, params.halfLifeSeconds])).toBe(START);
    expect(() => blend(START, ONE + 1n, 1n, 1n)).toThrow(/score/);
    await expect(harness.read.blend([START, ONE + 1n, 1n, 1n])).rejects.toThrow();
  });
});
