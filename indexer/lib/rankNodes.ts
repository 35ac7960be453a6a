/**
 * Node ranking for GET /nodes/ranked: hard constraints filter, then a weighted score.
 *
 *   price     = cheapest / price          (1 for the cheapest offer; a free offer scores 1)
 *   latency   = fastest / latencySlaMs    (1 for the fastest advertised SLA; 0 ms scores 1)
 *   reputation = current reputation / 1e18 (decayed to the latest block; newcomers 0.4)
 *   score = (wPrice * price + wReputation * reputation + wLatency * latency) / (wPrice + wReputation + wLatency)
 *
 * Price and latency are relative to the best offer among the candidates that pass the
 * constraints (scale-free: wei prices and milliseconds need no units); reputation is absolute.
 * Ties break on lower price, then address. Pure: the API feeds it rows, tests call it directly.
 */
import { z } from "zod";

export const RANK_DEFAULTS = { wPrice: 0.5, wReputation: 0.3, wLatency: 0.2, limit: 10 } as const;

const uintString = (what: string) =>
  z
    .string()
    .regex(/^\d{1,78}$/, `${what} must be a non-negative integer in token wei (decimal digits)`)
    .transform((s) => BigInt(s));
const weight = (name: string) =>
  z.coerce
    .number({ invalid_type_error: `${name} must be a number` })
    .finite(`${name} must be finite`)
    .min(0, `${name} must be >= 0`)
    .max(1000, `${name} must be <= 1000`);

/** Query parameters of GET /nodes/ranked. Unknown parameters are rejected (typos would silently do nothing). */
export const rankQuerySchema = z
  .object({
    model: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "model must be a 32-byte hex model id (0x + 64 hex digits)"),
    maxPrice: uintString("maxPrice").optional(),
    minReputation: z.coerce
      .number({ invalid_type_error: "minReputation must be a number" })
      .min(0, "minReputation must be in [0, 1]")
      .max(1, "minReputation must be in [0, 1]")
      .optional(),
    minFreeStake: uintString("minFreeStake").optional(),
    maxLatencyMs: z.coerce
      .number({ invalid_type_error: "maxLatencyMs must be a number" })
      .int("maxLatencyMs must be an integer")
      .min(0, "maxLatencyMs must be >= 0")
      .optional(),
    wPrice: weight("wPrice").default(RANK_DEFAULTS.wPrice),
    wReputation: weight("wReputation").default(RANK_DEFAULTS.wReputation),
    wLatency: weight("wLatency").default(RANK_DEFAULTS.wLatency),
    limit: z.coerce
      .number({ invalid_type_error: "limit must be a number" })
      .int("limit must be an integer")
      .min(1, "limit must be in [1, 100]")
      .max(100, "limit must be in [1, 100]")
      .default(RANK_DEFAULTS.limit),
  })
  .strict()
  .refine((q) => q.wPrice + q.wReputation + q.wLatency > 0, {
    message: "at least one of wPrice, wReputation, wLatency must be > 0",
    path: ["wPrice"],
  });
export type RankQuery = z.infer<typeof rankQuerySchema>;

export type Candidate = {
  address: `0x${string}`;
  endpoint: string;
  signer: `0x${string}`;
  pricePerToken: bigint;
  latencySlaMs: number;
  maxTokens: number;
  maxBatch: number;
  quantization: number;
  /** Current (decayed) reputation, 1e18 fixed point. */
  reputation: bigint;
  freeStake: bigint;
  lockedStake: bigint;
};

export type ScorePart = { value: string | number; normalized: number; weight: number; contribution: number };
export type RankedNode = Omit<Candidate, "pricePerToken" | "reputation" | "freeStake" | "lockedStake"> & {
  rank: number;
  pricePerToken: string;
  reputation: string;
  freeStake: string;
  lockedStake: string;
  score: number;
  parts: { price: ScorePart; reputation: ScorePart; latency: ScorePart };
};

const ONE = 10n ** 18n;
const SCALE = 1_000_000_000n;

/** a / b as a float in [0, 1] from bigints (b > 0, a <= b). */
function ratio(a: bigint, b: bigint): number {
  return Number((a * SCALE) / b) / Number(SCALE);
}

const round = (x: number): number => Math.round(x * 1e9) / 1e9;

/** Whether `c` passes the hard constraints of `q`. */
export function passes(c: Candidate, q: RankQuery): boolean {
  if (q.maxPrice !== undefined && c.pricePerToken > q.maxPrice) return false;
  if (q.minFreeStake !== undefined && c.freeStake < q.minFreeStake) return false;
  if (q.maxLatencyMs !== undefined && c.latencySlaMs > q.maxLatencyMs) return false;
  if (q.minReputation !== undefined && c.reputation < BigInt(Math.round(q.minReputation * 1e18))) return false;
  return true;
}

/** Filters `candidates` by the constraints of `q`, scores and sorts them, and keeps `q.limit`. */
export function rankNodes(candidates: readonly Candidate[], q: RankQuery): RankedNode[] {
  const eligible = candidates.filter((c) => passes(c, q));
  if (eligible.length === 0) return [];
  const cheapest = eligible.reduce((m, c) => (c.pricePerToken < m ? c.pricePerToken : m), eligible[0]!.pricePerToken);
  const fastest = eligible.reduce((m, c) => Math.min(m, c.latencySlaMs), eligible[0]!.latencySlaMs);
  const wSum = q.wPrice + q.wReputation + q.wLatency;
  const scored = eligible.map((c) => {
    const price = c.pricePerToken === 0n ? 1 : ratio(cheapest, c.pricePerToken);
    const latency = c.latencySlaMs === 0 ? 1 : fastest / c.latencySlaMs;
    const reputation = ratio(c.reputation > ONE ? ONE : c.reputation, ONE);
    const part = (value: string | number, normalized: number, w: number): ScorePart => ({
      value,
      normalized: round(normalized),
      weight: w,
      contribution: round((w * normalized) / wSum),
    });
    const parts = {
      price: part(c.pricePerToken.toString(), price, q.wPrice),
      reputation: part(c.reputation.toString(), reputation, q.wReputation),
      latency: part(c.latencySlaMs, latency, q.wLatency),
    };
    const score = round((q.wPrice * price + q.wReputation * reputation + q.wLatency * latency) / wSum);
    return { c, score, parts };
  });
  scored.sort(
    (a, b) =>
      b.score - a.score ||
      (a.c.pricePerToken < b.c.pricePerToken ? -1 : a.c.pricePerToken > b.c.pricePerToken ? 1 : 0) ||
      a.c.address.localeCompare(b.c.address),
  );
  return scored.slice(0, q.limit).map(({ c, score, parts }, i) => ({
    rank: i + 1,
    address: c.address,
    endpoint: c.endpoint,
    signer: c.signer,
    pricePerToken: c.pricePerToken.toString(),
    latencySlaMs: c.latencySlaMs,
    maxTokens: c.maxTokens,
    maxBatch: c.maxBatch,
    quantization: c.quantization,
    reputation: c.reputation.toString(),
    freeStake: c.freeStake.toString(),
    lockedStake: c.lockedStake.toString(),
    score,
    parts,
  }));
}
