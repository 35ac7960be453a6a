/**
 * `node scripts/economics.ts [--out bench/economics.json]`: the numbers behind docs/economics.md.
 *
 * 1. Cheating: a batch of n leaves, each sampled with probability p and a wrong leaf detected with
 *    probability d when checked. A node that cheats on k leaves saves k·g (g = gamma × leaf price)
 *    and, if any cheated leaf is caught (q_k = 1 - (1 - p·d)^k), is slashed S = slashFactor × payout
 *    and forfeits the unsettled payout. Cheating loses iff q_k × (S + payout) > k·g for every k.
 *    Because q_k / k falls with k, the binding case is k = n: minimum slashFactor = gamma / q_n - 1.
 * 2. Capture: an attacker holding share s of a model's validator weight needs a majority of n
 *    seats. Stake-weighted draws of many small validators ≈ binomial(n, s); N equal validators of
 *    which K are the attacker's ≈ hypergeometric. Forcing a Neutral tie by abstention needs all n.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { out: { type: "string", default: "bench/economics.json" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log("Usage: node scripts/economics.ts [--out bench/economics.json]\nWrites the cheating and capture tables.");
  process.exit(0);
}

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** P(X >= m) for X ~ Binomial(n, s). */
function binomialTail(n: number, s: number, m: number): number {
  let total = 0;
  for (let k = m; k <= n; k++) total += choose(n, k) * s ** k * (1 - s) ** (n - k);
  return total;
}

/** P(X >= m) for X ~ Hypergeometric(population N, successes K, draws n). */
function hyperTail(N: number, K: number, n: number, m: number): number {
  let total = 0;
  for (let k = m; k <= Math.min(n, K); k++) total += (choose(K, k) * choose(N - K, n - k)) / choose(N, n);
  return total;
}

const round = (x: number, digits = 6): number => Number(x.toPrecision(digits));

// ---------------------------------------------------------------- cheating
const batchSizes = [1, 16, 64, 256, 1024];
const samplingRates = [0.001, 0.005, 0.01, 0.02, 0.05];
const detection = [0.6, 0.9, 1.0];
const gamma = 1; // worst case: a cheated leaf saves its whole price
const cheating = [] as Array<Record<string, number>>;
for (const n of batchSizes)
  for (const p of samplingRates)
    for (const d of detection) {
      const qn = 1 - (1 - p * d) ** n;
      const q1 = p * d;
      cheating.push({
        leaves: n,
        samplingRate: p,
        detectionRate: d,
        catchProbabilityAllCheated: round(qn),
        catchProbabilityOneCheated: round(q1),
        // q_n (slashFactor + 1) > gamma  =>  slashFactor > gamma / q_n - 1
        minSlashFactorBps: Math.max(0, Math.ceil((gamma / qn - 1) * 10_000)),
      });
    }

// ---------------------------------------------------------------- capture
const shares = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5];
const sizes = [1, 3, 5, 7, 11, 15, 23, 47];
const capture = [] as Array<Record<string, number>>;
for (const s of shares)
  for (const n of sizes) {
    const m = (n + 1) / 2;
    capture.push({
      attackerShare: s,
      seats: n,
      majorityBinomial: round(binomialTail(n, s, m)),
      majorityHypergeometric100: round(hyperTail(100, Math.round(100 * s), Math.min(n, 100), m)),
      allSeatsBinomial: round(s ** n),
    });
  }

// The appeal ladder with the defaults: 5 -> 11 -> 23. An honest party appeals a captured round,
// so a capture must hold the last round that is decisive: P(capture of 23).
const ladder = [5, 11, 23];
const appealLadder = shares.map((s) => ({
  attackerShare: s,
  firstRound: round(binomialTail(5, s, 3)),
  finalRoundOf23: round(binomialTail(23, s, 12)),
  everyRound: round(ladder.reduce((acc, n) => acc * binomialTail(n, s, (n + 1) / 2), 1)),
}));

// ---------------------------------------------------------------- defaults and what they imply
const defaults = {
  samplingRate: 0.01,
  detectionRate: 0.9,
  leavesPerBatch: 256,
  slashFactorBps: 10_000,
  lockFactorBps: 20_000,
  committeeSize: 5,
  maxAppeals: 2,
  committeeShareBps: 2_000,
  challengerShareBps: 1_000,
  voteBondTokens: 10,
  nonVoterPenaltyBps: 5_000,
  penaltyToPotBps: 5_000,
  appealFeeTokens: 20,
};
const q256 = 1 - (1 - defaults.samplingRate * defaults.detectionRate) ** defaults.leavesPerBatch;
const implied = {
  catchProbabilityWholeBatchCheated: round(q256),
  expectedLossPerPayoutWholeBatchCheated: round(q256 * (defaults.slashFactorBps / 10_000 + 1) - 1),
  catchProbabilityOneLeafCheated: round(defaults.samplingRate * defaults.detectionRate),
  // One cheated leaf among 256: expected loss q1 × (S + P) versus gain g = P / 256.
  expectedLossOverGainOneLeaf: round(
    (defaults.samplingRate * defaults.detectionRate * (defaults.slashFactorBps / 10_000 + 1) * 256) / 1,
  ),
  captureOdds10PercentStake: round(binomialTail(5, 0.1, 3)),
  captureOdds10PercentStakeFinalRound: round(binomialTail(23, 0.1, 12)),
  abstentionTieCost: "all 5 seats (p = s^5) or, for the ladder, every seat of every round",
};

const out = {
  generatedBy: "scripts/economics.ts",
  model: {
    cheating:
      "cheat on k of n leaves; caught w.p. 1-(1-p·d)^k; loses slash S = slashFactor × payout plus the voided payout",
    capture: "majority of n seats; binomial(n, s) for stake-weighted draws, hypergeometric over 100 equal validators",
    gamma,
  },
  defaults,
  implied,
  cheating,
  capture,
  appealLadder,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, JSON.stringify(out, null, 2) + "\n");
console.log(`wrote ${values.out}: ${cheating.length} cheating rows, ${capture.length} capture rows`);
for (const row of appealLadder) console.log(JSON.stringify(row));
console.log(JSON.stringify(implied));
