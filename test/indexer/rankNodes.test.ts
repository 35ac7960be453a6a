/** The ranking formula and its query schema, without a chain (indexer/lib/rankNodes.ts). */
import { describe, expect, it } from "vitest";
import { rankNodes, rankQuerySchema, type Candidate } from "../../indexer/lib/rankNodes.ts";

const E18 = 10n ** 18n;
const model = `0x${"11".repeat(32)}`;
const cand = (
  n: number,
  pricePerToken: bigint,
  latencySlaMs: number,
  reputation: bigint,
  freeStake = 1000n * E18,
): Candidate => ({
  address: `0x${n.toString(16).padStart(40, "0")}`,
  endpoint: `http://127.0.0.1:${8000 + n}`,
  signer: `0x${n.toString(16).padStart(40, "0")}`,
  pricePerToken,
  latencySlaMs,
  maxTokens: 512,
  maxBatch: 1,
  quantization: 2,
  reputation,
  freeStake,
  lockedStake: 0n,
});
const q = (extra: Record<string, string> = {}) => rankQuerySchema.parse({ model, ...extra });

describe("rankNodes", () => {
  const cheap = cand(1, 10n, 1000, 4n * 10n ** 17n);
  const fast = cand(2, 40n, 100, 5n * 10n ** 17n);
  const trusted = cand(3, 20n, 400, 9n * 10n ** 17n);

  it("computes the documented score and its parts", () => {
    const [first, ...rest] = rankNodes([cheap, fast, trusted], q());
    // trusted: price 10/20 = 0.5, reputation 0.9, latency 100/400 = 0.25 -> 0.5*0.5 + 0.3*0.9 + 0.2*0.25 = 0.57
    // cheap: 1, 0.4, 0.1 -> 0.5 + 0.12 + 0.02 = 0.64; fast: 0.25, 0.5, 1 -> 0.125 + 0.15 + 0.2 = 0.475
    expect([first!.address, ...rest.map((r) => r.address)]).toEqual([cheap.address, trusted.address, fast.address]);
    expect(first!.score).toBeCloseTo(0.64, 9);
    expect(first!.parts.price).toEqual({ value: "10", normalized: 1, weight: 0.5, contribution: 0.5 });
    expect(rest[0]!.score).toBeCloseTo(0.57, 9);
    expect(rest[1]!.parts.latency.normalized).toBe(1);
    expect(rest.map((r) => r.rank)).toEqual([2, 3]);
  });

  it("normalizes weights and filters on every constraint", () => {
    expect(
      rankNodes([cheap, fast, trusted], q({ wPrice: "0", wReputation: "2", wLatency: "0" }))[0]!.score,
    ).toBeCloseTo(0.9, 9);
    // Normalization is over the eligible set: without `fast`, trusted has the best latency (0.72 > 0.70).
    expect(rankNodes([cheap, fast, trusted], q({ maxPrice: "20" })).map((r) => r.address)).toEqual([
      trusted.address,
      cheap.address,
    ]);
    expect(rankNodes([cheap, fast, trusted], q({ maxLatencyMs: "400" })).length).toBe(2);
    expect(rankNodes([cheap, fast, trusted], q({ minReputation: "0.5" })).length).toBe(2);
    const poor = cand(4, 1n, 1, E18, 10n);
    expect(rankNodes([poor, cheap], q({ minFreeStake: String(11n) })).map((r) => r.address)).toEqual([cheap.address]);
    expect(rankNodes([cheap, fast, trusted], q({ limit: "1" })).length).toBe(1);
    expect(rankNodes([], q())).toEqual([]);
  });

  it("scores free offers and zero latency as best, ties by price then address", () => {
    const free = cand(5, 0n, 0, 5n * 10n ** 17n);
    const r = rankNodes([free, cheap], q());
    expect(r[0]!.address).toBe(free.address);
    expect(r[0]!.parts.price.normalized).toBe(1);
    expect(r[1]!.parts.price.normalized).toBe(0);
    const twin = { ...cheap, address: `0x${"0".repeat(39)}9` as const };
    expect(rankNodes([twin, cheap], q()).map((x) => x.address)).toEqual([cheap.address, twin.address]);
  });

  it("rejects malformed and unknown parameters", () => {
    for (const bad of [
      {},
      { model: "0x12" },
      { model, maxPrice: "1e18" },
      { model, minReputation: "2" },
      { model, wLatency: "x" },
      { model, wPrice: "0", wReputation: "0", wLatency: "0" },
      { model, limit: "500" },
      { model, sort: "price" },
    ]) {
      expect(rankQuerySchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
