/**
 * Calibrates the re-scoring verification rule: honest leaves generated under varied settings
 * (threads, batch size, flash attention) vs corrupted ones (5% substituted tokens, another model,
 * another quantization, truncation), all re-scored by one validator setting. Writes
 * bench/calibration.json with per-leaf summary stats, the false-alarm and detection rates of a grid
 * of rules, and the rule chosen.
 *
 *   node bench/calibrate.ts --leaves 200 [--tokens 64] [--preset tiny] [--out bench/calibration.json]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { VERIFY_RESCORE, type InferenceInput, type Profile } from "../agents/lib/encodings.ts";
import { makeModel, type Preset } from "../agents/runtime/modelMaker.ts";
import { Runtime } from "../agents/runtime/Runtime.ts";
import { SeededRandom } from "../agents/runtime/SeededRandom.ts";
import { Verifier, type RescoreStats } from "../agents/runtime/Verifier.ts";

const { values } = parseArgs({
  options: {
    leaves: { type: "string", default: "200" },
    tokens: { type: "string", default: "64" },
    preset: { type: "string", default: "tiny" },
    out: { type: "string", default: "bench/calibration.json" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  process.stdout.write("node bench/calibrate.ts --leaves N [--tokens 64] [--preset tiny|small] [--out FILE]\n");
  process.exit(0);
}
const LEAVES = Number(values.leaves);
const TOKENS = Number(values.tokens);
const preset = values.preset as Preset;
const MAX_K = 8;

mkdirSync("bench/tmp", { recursive: true });
const started = Date.now();
const mk = (quant: "q8_0" | "q4_0", seed: bigint) =>
  makeModel({ preset, quant, seed, out: `bench/tmp/cal-${preset}-${quant}-s${seed}.gguf` });
const [base, otherQuant, otherModel] = await Promise.all([mk("q8_0", 1n), mk("q4_0", 1n), mk("q8_0", 2n)]);

const rt = await Runtime.create({ hashCacheFile: "bench/tmp/model-hashes.json" });
const verifier = new Verifier(rt);
const mBase = await rt.store.register(base.path, { trusted: true });
const mQ4 = await rt.store.register(otherQuant.path, { trusted: true });
const mOther = await rt.store.register(otherModel.path, { trusted: true });

const CONTEXT = 512;
const profileFor = (model: typeof mBase, threads: number, batchSize: number, flashAttention: boolean): Profile =>
  rt.profile({
    model: model.id,
    threads,
    batchSize,
    contextSize: CONTEXT,
    flashAttention,
    verification: {
      mode: VERIFY_RESCORE,
      topK: MAX_K,
      maxMissBps: 10_000,
      minMeanLogProbMicro: -2_000_000_000,
      exactBelowTokens: 0,
    },
  });
// The validator re-scores every leaf with one fixed setting.
const validator = profileFor(mBase, 1, 512, false);

const SETTINGS = [
  { name: "t1_b512_fa0", threads: 1, batchSize: 512, flashAttention: false },
  { name: "t2_b512_fa0", threads: 2, batchSize: 512, flashAttention: false },
  { name: "t1_b16_fa0", threads: 1, batchSize: 16, flashAttention: false },
  { name: "t1_b512_fa1", threads: 1, batchSize: 512, flashAttention: true },
];

const WORDS =
  "the a market node token price stake model verify batch leaf chain proof honest random river light stone north garden quiet number seven blue paper window run fast slow under over between story".split(
    " ",
  );
const rng = new SeededRandom(2026n, "calibration-prompts");
function prompt(i: number): string {
  const n = 4 + (rng.nextUint32() % 40);
  const words = Array.from({ length: n }, () => WORDS[rng.nextUint32() % WORDS.length]!);
  return `${i}. ${words.join(" ")}`;
}

type Row = {
  kind: string;
  setting: string;
  tokens: number;
  ranks: number[];
  meanLogProb: number;
  eosRank: number | null;
};
const rows: Row[] = [];
const summarize = (kind: string, setting: string, s: RescoreStats): Row => ({
  kind,
  setting,
  tokens: s.tokens,
  ranks: s.ranks ?? [],
  meanLogProb: s.meanLogProbMicro / 1e6,
  eosRank: s.eosRank,
});

let skippedShort = 0;
const inputs: InferenceInput[] = [];
for (let i = 0; i < LEAVES; i++) inputs.push({ prompt: prompt(i), maxTokens: TOKENS, stop: [], seed: 0n });

const reference: number[][] = [];
const identicalToReference: Record<string, number> = {};
for (const st of SETTINGS) {
  const p = profileFor(mBase, st.threads, st.batchSize, st.flashAttention);
  identicalToReference[st.name] = 0;
  const t0 = Date.now();
  for (const [i, input] of inputs.entries()) {
    const r = await rt.generate(p, input);
    if (st === SETTINGS[0]) reference.push(r.tokens);
    if (r.tokens.length === reference[i]!.length && r.tokens.every((t, j) => t === reference[i]![j]))
      identicalToReference[st.name]!++;
    const s = await verifier.rescore(input, r.tokens, validator, { details: true });
    rows.push(summarize("honest", st.name, s));
    if (st.name !== "t1_b512_fa0") continue;
    // Corruptions of the honest leaf from the reference setting.
    if (r.tokens.length < 16) {
      skippedShort++;
      continue;
    }
    const sub = [...r.tokens];
    const nSub = Math.max(1, Math.ceil(sub.length * 0.05));
    const positions = new Set<number>();
    while (positions.size < nSub) positions.add(rng.nextUint32() % sub.length);
    for (const pos of positions) {
      let t: number;
      do t = 3 + (rng.nextUint32() % 257);
      while (t === sub[pos]);
      sub[pos] = t;
    }
    rows.push(summarize("substituted_5pct", st.name, await verifier.rescore(input, sub, validator, { details: true })));
    if (r.tokens.length === TOKENS) {
      const cut = r.tokens.slice(0, Math.floor(TOKENS / 2));
      rows.push(summarize("truncated", st.name, await verifier.rescore(input, cut, validator, { details: true })));
    }
    const q4 = await rt.generate(profileFor(mQ4, 1, 512, false), input);
    if (q4.tokens.length >= 16)
      rows.push(
        summarize("other_quant_q4_0", st.name, await verifier.rescore(input, q4.tokens, validator, { details: true })),
      );
    const om = await rt.generate(profileFor(mOther, 1, 512, false), input);
    if (om.tokens.length >= 16)
      rows.push(
        summarize("other_model", st.name, await verifier.rescore(input, om.tokens, validator, { details: true })),
      );
  }
  process.stderr.write(`${st.name}: ${inputs.length} leaves in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

// Evaluate a grid of rules: pass iff misses(K) * 10000 / n <= maxMissBps and meanLogProb >= min and EOS check.
type Rule = { topK: number; maxMissBps: number; minMeanLogProb: number };
const pass = (r: Row, rule: Rule): boolean => {
  if (r.tokens < 16) return true; // exact mode territory (see exactBelowTokens)
  const misses = r.ranks.filter((x) => x >= rule.topK).length;
  if ((misses * 10_000) / r.tokens > rule.maxMissBps) return false;
  if (r.meanLogProb < rule.minMeanLogProb) return false;
  if (r.eosRank !== null && r.eosRank >= rule.topK) return false;
  return true;
};
const kinds = [...new Set(rows.map((r) => r.kind))];
const grid: Array<Rule & { falseAlarms: Record<string, number>; detection: Record<string, number> }> = [];
for (const topK of [1, 2, 3, 4, 6, 8]) {
  for (const maxMissBps of [0, 100, 200, 300, 500, 1000]) {
    for (const minMeanLogProb of [-100, -3, -2, -1.5, -1]) {
      const rule = { topK, maxMissBps, minMeanLogProb };
      const falseAlarms: Record<string, number> = {};
      for (const st of SETTINGS) {
        const h = rows.filter((r) => r.kind === "honest" && r.setting === st.name);
        falseAlarms[st.name] = h.filter((r) => !pass(r, rule)).length / Math.max(1, h.length);
      }
      const detection: Record<string, number> = {};
      for (const k of kinds.filter((k) => k !== "honest")) {
        const c = rows.filter((r) => r.kind === k);
        detection[k] = c.filter((r) => !pass(r, rule)).length / Math.max(1, c.length);
      }
      grid.push({ ...rule, falseAlarms, detection });
    }
  }
}
// Choose: no false alarm in any setting (flash attention on stands in for a validator whose numerics
// differ from the node's), >= 99% detection of 5% substitution, and headroom over the worst honest
// leaf seen (one more miss than the worst honest leaf of TOKENS tokens, half a nat of mean log-prob);
// then the most detection of the other corruptions; then the smallest miss budget with that headroom.
const honestRows = rows.filter((r) => r.kind === "honest" && r.tokens >= 16);
const worstMissBps = (k: number) =>
  Math.max(...honestRows.map((r) => (r.ranks.filter((x) => x >= k).length * 10_000) / r.tokens));
const worstMeanLogProb = Math.min(...honestRows.map((r) => r.meanLogProb));
const oneMissBps = 10_000 / TOKENS;
const others = (g: (typeof grid)[number]) => Object.values(g.detection).reduce((a, b) => a + b, 0);
const candidates = grid
  .filter(
    (g) =>
      Object.values(g.falseAlarms).every((x) => x === 0) &&
      (g.detection.substituted_5pct ?? 0) >= 0.99 &&
      g.maxMissBps >= worstMissBps(g.topK) + oneMissBps &&
      g.minMeanLogProb <= worstMeanLogProb - 0.5,
  )
  // Ties (headroom is already required above): larger K, then the smaller miss budget, then the
  // highest log-prob floor (free when it costs no false alarm; a backstop against substitutions
  // inside the top K).
  .sort(
    (a, b) =>
      others(b) - others(a) || b.topK - a.topK || a.maxMissBps - b.maxMissBps || b.minMeanLogProb - a.minMeanLogProb,
  );
const chosen = candidates[0] ?? null;

const honest = rows.filter((r) => r.kind === "honest");
const dist = (kind: string, setting?: string) => {
  const rs = rows.filter((r) => r.kind === kind && (setting === undefined || r.setting === setting));
  const agree = rs.map((r) => r.ranks.filter((x) => x === 0).length / Math.max(1, r.tokens));
  return {
    leaves: rs.length,
    meanArgmaxAgreement: agree.reduce((a, b) => a + b, 0) / Math.max(1, rs.length),
    meanLogProb: rs.reduce((a, r) => a + r.meanLogProb, 0) / Math.max(1, rs.length),
    minMeanLogProb: Math.min(...rs.map((r) => r.meanLogProb)),
    maxOutsideTop4: Math.max(...rs.map((r) => r.ranks.filter((x) => x >= 4).length)),
  };
};

const out = {
  generatedAt: new Date().toISOString(),
  conditions: {
    preset,
    leavesPerSetting: LEAVES,
    tokensPerLeaf: TOKENS,
    models: { base: base.sha256, otherQuant: otherQuant.sha256, otherModel: otherModel.sha256 },
    llamaBuild: rt.backend.llamaBuild,
    cpuVariant: rt.backend.cpuVariant,
    validatorSetting: "threads 1, batch 512, flash attention off",
    settings: SETTINGS,
    skippedShortLeaves: skippedShort,
    seconds: (Date.now() - started) / 1000,
    loadAverage1mAtEnd: (await import("node:os")).loadavg()[0],
    note: "Goal of issue 6: >= 3000 honest leaves per setting; this run is smaller (see leavesPerSetting).",
  },
  distributions: Object.fromEntries(kinds.map((k) => [k, dist(k)])),
  honestWorst: {
    meanLogProb: worstMeanLogProb,
    missBpsByTopK: Object.fromEntries([1, 2, 3, 4, 6, 8].map((k) => [k, worstMissBps(k)])),
  },
  // Per kind and K: how many leaves had 0, 1, 2, ... committed tokens outside the top K.
  missHistograms: Object.fromEntries(
    kinds.map((kind) => [
      kind,
      Object.fromEntries(
        [1, 2, 3, 4, 8].map((k) => {
          const h: Record<number, number> = {};
          for (const r of rows.filter((x) => x.kind === kind)) {
            const m = r.ranks.filter((x) => x >= k).length;
            h[m] = (h[m] ?? 0) + 1;
          }
          return [k, h];
        }),
      ),
    ]),
  ),
  // Honest leaves with token ids identical to the reference setting's (t1_b512_fa0), per setting.
  identicalToReference,
  honestBySetting: Object.fromEntries(SETTINGS.map((s) => [s.name, dist("honest", s.name)])),
  chosen,
  grid,
};
void honest;
writeFileSync(values.out!, `${JSON.stringify(out, null, 1)}\n`);
process.stderr.write(`chosen rule: ${JSON.stringify(chosen)}\n`);
await rt.close();
