/**
 * Calibrates the re-scoring verification rule: honest leaves generated under varied settings
 * (threads, batch size, flash attention) vs corrupted ones (5% substituted tokens, another model,
 * another quantization, truncation), all re-scored by one validator setting. Writes
 * bench/calibration.json (or --out) with per-kind summary stats, the false-alarm and detection
 * rates of a grid of rules, and the rule chosen.
 *
 * Long runs are never lost: every finished leaf is appended to a JSONL checkpoint
 * (bench/tmp/calibration-<preset>.jsonl by default) and `--resume` continues from it; `--report`
 * rebuilds the JSON from the checkpoint alone. Progress (leaves done, rate, ETA) goes to stderr.
 *
 *   node bench/calibrate.ts --leaves 3000 [--tokens 64] [--preset tiny] [--resume] [--out FILE]
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { VERIFY_RESCORE, type InferenceInput, type Profile } from "../agents/lib/encodings.ts";
import { makeModel, PRESETS, type Preset } from "../agents/runtime/modelMaker.ts";
import { Runtime } from "../agents/runtime/Runtime.ts";
import { SeededRandom } from "../agents/runtime/SeededRandom.ts";
import { Verifier, type RescoreStats } from "../agents/runtime/Verifier.ts";

const HELP = `Usage: node bench/calibrate.ts [options]

Calibrates the re-scoring verification rule (docs/verification.md) on generated models.

Options:
  --leaves N           honest leaves per generation setting (default 200; the issue's goal is 3000)
  --tokens N           tokens per leaf (default 64)
  --preset P           model preset: ${Object.keys(PRESETS).join(", ")} (default tiny)
  --settings LIST      comma-separated generation settings to run (default all:
                       t1_b512_fa0,t2_b512_fa0,t1_b16_fa0,t1_b512_fa1; t1_b512_fa0 is the
                       reference, run with the corruptions; the others compare with it)
  --out FILE           report (default bench/calibration.json for tiny, bench/calibration-<preset>.json)
  --checkpoint FILES   JSONL checkpoint (default bench/tmp/calibration-<preset>.jsonl); more files
                       after a comma are read too (not written), e.g. one from a second process
                       running --settings t2_b512_fa0 with its own checkpoint
  --resume             continue the checkpoint (its preset, tokens and model hashes must match)
  --fresh              discard an existing checkpoint and start over
  --report             only rebuild the report from the checkpoint (no generation)
  --max-minutes M      stop generating after M minutes, then write the report of what is done
  -h, --help           this help

Work order: the single-thread settings leaf by leaf (the reference with its corruptions, then the
others on the same input), then threads 2 (the slowest here: see docs/verification.md). SIGINT/SIGTERM finish the
leaf in progress, write the report and exit; --resume continues later.`;

const { values } = parseArgs({
  options: {
    leaves: { type: "string", default: "200" },
    tokens: { type: "string", default: "64" },
    preset: { type: "string", default: "tiny" },
    settings: { type: "string" },
    out: { type: "string" },
    checkpoint: { type: "string" },
    resume: { type: "boolean", default: false },
    fresh: { type: "boolean", default: false },
    report: { type: "boolean", default: false },
    "max-minutes": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const fail = (msg: string): never => {
  process.stderr.write(`calibrate: ${msg}\n`);
  process.exit(2);
};
const LEAVES = Number(values.leaves);
const TOKENS = Number(values.tokens);
if (!Number.isInteger(LEAVES) || LEAVES < 1) fail(`--leaves must be a positive integer, got ${values.leaves}`);
if (!Number.isInteger(TOKENS) || TOKENS < 16) fail(`--tokens must be an integer >= 16, got ${values.tokens}`);
const preset = values.preset as Preset;
if (!(preset in PRESETS)) fail(`unknown preset ${preset}; use ${Object.keys(PRESETS).join(", ")}`);
const OUT = values.out ?? (preset === "tiny" ? "bench/calibration.json" : `bench/calibration-${preset}.json`);
const [CHECKPOINT, ...EXTRA_CHECKPOINTS] = (values.checkpoint ?? `bench/tmp/calibration-${preset}.jsonl`).split(
  ",",
) as [string, ...string[]];
const MAX_MS = values["max-minutes"] === undefined ? Infinity : Number(values["max-minutes"]) * 60_000;
if (Number.isNaN(MAX_MS) || MAX_MS <= 0) fail(`--max-minutes must be a positive number`);
const MAX_K = 8;
const CONTEXT = 512;
/** Leaves shorter than this are exact-mode territory (see the rule's exactBelowTokens). */
const MIN_RESCORE_TOKENS = 16;
/** Every Nth honest leaf whose ids equal the reference's is re-scored anyway, to check the reuse. */
const SPOT_CHECK_EVERY = 50;

type Setting = { name: string; threads: number; batchSize: number; flashAttention: boolean };
const ALL_SETTINGS: Setting[] = [
  { name: "t1_b512_fa0", threads: 1, batchSize: 512, flashAttention: false },
  { name: "t2_b512_fa0", threads: 2, batchSize: 512, flashAttention: false },
  { name: "t1_b16_fa0", threads: 1, batchSize: 16, flashAttention: false },
  { name: "t1_b512_fa1", threads: 1, batchSize: 512, flashAttention: true },
];
const REFERENCE = ALL_SETTINGS[0]!;
const wanted = values.settings === undefined ? null : new Set(values.settings.split(",").map((s) => s.trim()));
for (const s of wanted ?? []) {
  if (!ALL_SETTINGS.some((x) => x.name === s))
    fail(`unknown setting ${s}; use ${ALL_SETTINGS.map((x) => x.name).join(", ")}`);
}
// Reference first (the others compare with it), then single-thread settings, then the slow ones.
const RUN_ORDER = ALL_SETTINGS.filter((s) => wanted === null || wanted.has(s.name)).sort((a, b) =>
  a === REFERENCE ? -1 : b === REFERENCE ? 1 : a.threads - b.threads,
);

// ---------------------------------------------------------------------------------------------
// Checkpoint: a header line (conditions) then one line per finished unit (setting x leaf index).

type Row = {
  kind: string;
  setting: string;
  tokens: number;
  ranks: number[];
  meanLogProb: number;
  eosRank: number | null;
  /** Honest rows: stats copied from the reference leaf (same input and ids) instead of re-scored. */
  reused?: boolean;
};
type Unit = {
  setting: string;
  i: number;
  ms: number;
  rows: Row[];
  /** The honest leaf's token ids (compared with the reference setting's in the report). */
  ids?: number[];
  /** Honest units whose ids matched: whether a spot-check re-score agreed with the reference stats. */
  spotCheck?: boolean;
};
type Header = {
  header: true;
  preset: string;
  tokensPerLeaf: number;
  models: { base: string; otherQuant: string; otherModel: string };
  llamaBuild: string;
  cpuVariant: string;
  startedAt: string;
};

const units = new Map<string, Unit>();
const key = (setting: string, i: number) => `${setting}#${i}`;
let header: Header | null = null;

function loadCheckpoint(file: string, own: boolean): void {
  const lines = readFileSync(file, "utf8").split("\n");
  const good: string[] = [];
  let dropped = false;
  for (const [n, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let v: Header | Unit;
    try {
      v = JSON.parse(line) as Header | Unit;
    } catch {
      if (n >= lines.length - 2) {
        process.stderr.write(`calibrate: dropping a partial last line of ${file}\n`);
        dropped = true;
        continue;
      }
      return fail(`${file}: line ${n + 1} is not JSON`);
    }
    good.push(line);
    if ("header" in v) {
      if (header !== null && JSON.stringify({ ...header, startedAt: 0 }) !== JSON.stringify({ ...v, startedAt: 0 }))
        fail(`${file} was made with other models, build or preset than the first checkpoint`);
      header ??= v;
    } else if (!units.has(key(v.setting, v.i))) units.set(key(v.setting, v.i), v);
  }
  // Rewrite without a partial last line so appends start on a clean line.
  if (own && dropped) writeFileSync(file, good.map((l) => `${l}\n`).join(""));
}

mkdirSync("bench/tmp", { recursive: true });
const haveCheckpoint = existsSync(CHECKPOINT);
if (values.report) {
  if (!haveCheckpoint) fail(`--report needs the checkpoint ${CHECKPOINT}`);
  loadCheckpoint(CHECKPOINT, false); // read only: a running calibration may be appending to it
} else if (haveCheckpoint && values.resume) {
  loadCheckpoint(CHECKPOINT, true);
} else if (haveCheckpoint && !values.fresh) {
  fail(`${CHECKPOINT} exists: pass --resume to continue it, --fresh to discard it, or --report`);
}
for (const f of EXTRA_CHECKPOINTS) {
  if (!existsSync(f)) fail(`no checkpoint ${f}`);
  loadCheckpoint(f, false);
}
if (header !== null) {
  const h: Header = header;
  if (h.preset !== preset || h.tokensPerLeaf !== TOKENS)
    fail(`checkpoint is for preset ${h.preset}, ${h.tokensPerLeaf} tokens; asked ${preset}, ${TOKENS}`);
}

// ---------------------------------------------------------------------------------------------
// Inputs (each derived from its index alone, so a resumed run sees the same ones).

const WORDS =
  "the a market node token price stake model verify batch leaf chain proof honest random river light stone north garden quiet number seven blue paper window run fast slow under over between story".split(
    " ",
  );
function input(i: number): InferenceInput {
  const rng = new SeededRandom(2026n, `calibration-prompt-${i}`);
  const n = 4 + (rng.nextUint32() % 40);
  const words = Array.from({ length: n }, () => WORDS[rng.nextUint32() % WORDS.length]!);
  return { prompt: `${i}. ${words.join(" ")}`, maxTokens: TOKENS, stop: [], seed: 0n };
}
/** 5% of the tokens (at least one) replaced by a different random byte token. */
function substitute(i: number, ids: readonly number[]): number[] {
  const rng = new SeededRandom(2026n, `calibration-substitute-${i}`);
  const sub = [...ids];
  const nSub = Math.max(1, Math.ceil(sub.length * 0.05));
  const positions = new Set<number>();
  while (positions.size < nSub) positions.add(rng.nextUint32() % sub.length);
  for (const pos of positions) {
    let t: number;
    do t = 3 + (rng.nextUint32() % 257);
    while (t === sub[pos]);
    sub[pos] = t;
  }
  return sub;
}
const summarize = (kind: string, setting: string, s: RescoreStats): Row => ({
  kind,
  setting,
  tokens: s.tokens,
  ranks: s.ranks ?? [],
  meanLogProb: s.meanLogProbMicro / 1e6,
  eosRank: s.eosRank,
});
const sameIds = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((t, j) => t === b[j]);

// ---------------------------------------------------------------------------------------------
// Generation (skipped with --report).

let stopRequested = false;
let stoppedEarly = false;
const runStarted = Date.now();
const unitsBefore = units.size;

if (!values.report) {
  const mk = async (quant: "q8_0" | "q4_0", seed: bigint) => {
    const out = `bench/tmp/cal-${preset}-${quant}-s${seed}.gguf`;
    // The generator is deterministic (same preset, quant and seed give the same file); the hash
    // check against the checkpoint header below catches a stale file.
    if (existsSync(out)) return { path: out };
    process.stderr.write(`making ${out}\n`);
    return makeModel({ preset, quant, seed, out });
  };
  const made = [await mk("q8_0", 1n), await mk("q4_0", 1n), await mk("q8_0", 2n)];
  const rt = await Runtime.create({ hashCacheFile: "bench/tmp/model-hashes.json" });
  const verifier = new Verifier(rt);
  const [mBase, mQ4, mOther] = [
    await rt.store.register(made[0]!.path, { trusted: true }),
    await rt.store.register(made[1]!.path, { trusted: true }),
    await rt.store.register(made[2]!.path, { trusted: true }),
  ];
  const models = { base: mBase.sha256, otherQuant: mQ4.sha256, otherModel: mOther.sha256 };
  if (header === null) {
    header = {
      header: true,
      preset,
      tokensPerLeaf: TOKENS,
      models,
      llamaBuild: rt.backend.llamaBuild,
      cpuVariant: rt.backend.cpuVariant,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(CHECKPOINT, `${JSON.stringify(header)}\n`);
  } else {
    const h: Header = header;
    if (JSON.stringify(h.models) !== JSON.stringify(models)) fail(`checkpoint was made with other model files`);
    if (h.llamaBuild !== rt.backend.llamaBuild || h.cpuVariant !== rt.backend.cpuVariant)
      fail(`checkpoint was made with ${h.llamaBuild} on ${h.cpuVariant}`);
  }

  const profileFor = (model: typeof mBase, s: Omit<Setting, "name">): Profile =>
    rt.profile({
      model: model.id,
      threads: s.threads,
      batchSize: s.batchSize,
      contextSize: CONTEXT,
      flashAttention: s.flashAttention,
      // Collect everything (ranks up to MAX_K); the rules are applied afterwards.
      verification: {
        mode: VERIFY_RESCORE,
        topK: MAX_K,
        maxMissBps: 10_000,
        minMeanLogProbMicro: -2_000_000_000,
        exactBelowTokens: 0,
      },
    });
  // The validator re-scores every leaf with one fixed setting.
  const validator = profileFor(mBase, REFERENCE);
  const corruptSetting = { threads: 1, batchSize: 512, flashAttention: false };
  const rescore = async (inp: InferenceInput, ids: readonly number[]) =>
    verifier.rescore(inp, ids, validator, { details: true });

  process.on("SIGINT", () => (stopRequested = true));
  process.on("SIGTERM", () => (stopRequested = true));

  const runUnit = async (st: Setting, i: number): Promise<void> => {
    const p = profileFor(mBase, st);
    const u0 = performance.now();
    const inp = input(i);
    const r = await rt.generate(p, inp);
    const rows: Row[] = [];
    const unit: Unit = { setting: st.name, i, ms: 0, rows };
    if (st === REFERENCE) {
      unit.ids = r.tokens;
      rows.push(summarize("honest", st.name, await rescore(inp, r.tokens)));
      // Corruptions of the reference leaf (leaves too short for statistics are exact-mode territory).
      if (r.tokens.length >= MIN_RESCORE_TOKENS) {
        rows.push(summarize("substituted_5pct", st.name, await rescore(inp, substitute(i, r.tokens))));
        if (r.tokens.length === TOKENS)
          rows.push(summarize("truncated", st.name, await rescore(inp, r.tokens.slice(0, Math.floor(TOKENS / 2)))));
        const q4 = await rt.generate(profileFor(mQ4, corruptSetting), inp);
        if (q4.tokens.length >= MIN_RESCORE_TOKENS)
          rows.push(summarize("other_quant_q4_0", st.name, await rescore(inp, q4.tokens)));
        const om = await rt.generate(profileFor(mOther, corruptSetting), inp);
        if (om.tokens.length >= MIN_RESCORE_TOKENS)
          rows.push(summarize("other_model", st.name, await rescore(inp, om.tokens)));
      }
    } else {
      unit.ids = r.tokens;
      // The reference leaf is missing when the reference runs in another process (--settings).
      const ref = units.get(key(REFERENCE.name, i));
      const identical = ref?.ids !== undefined && sameIds(r.tokens, ref.ids);
      const refRow = ref?.rows.find((x) => x.kind === "honest");
      // The validator's re-score depends only on (input, token ids): a leaf identical to the
      // reference's has the reference's stats. Every SPOT_CHECK_EVERY-th one is re-scored anyway.
      if (identical && refRow !== undefined && i % SPOT_CHECK_EVERY !== 0) {
        rows.push({ ...refRow, setting: st.name, reused: true });
      } else {
        const row = { ...summarize("honest", st.name, await rescore(inp, r.tokens)), reused: false };
        rows.push(row);
        if (identical && refRow !== undefined) {
          const strip = (x: Row) => JSON.stringify([x.tokens, x.ranks, x.meanLogProb, x.eosRank]);
          unit.spotCheck = strip(row) === strip(refRow);
          if (!unit.spotCheck) process.stderr.write(`SPOT CHECK FAILED: ${st.name} leaf ${i} re-scored differently\n`);
        }
      }
    }
    unit.ms = Math.round(performance.now() - u0);
    appendFileSync(CHECKPOINT, `${JSON.stringify(unit)}\n`);
    units.set(key(st.name, i), unit);
  };

  // Single-thread settings are interleaved leaf by leaf (a run stopped early has as many leaves of
  // each); multi-thread ones, the slowest here, come after.
  const groups = [RUN_ORDER.filter((s) => s.threads === 1), RUN_ORDER.filter((s) => s.threads > 1)].filter(
    (g) => g.length > 0,
  );
  const totalUnits = RUN_ORDER.length * LEAVES;
  const doneOf = (g: Setting[]) =>
    g.reduce((a, st) => a + [...Array(LEAVES).keys()].filter((i) => units.has(key(st.name, i))).length, 0);
  const fmt = (sec: number) => (sec < 3600 ? `${Math.round(sec / 60)} min` : `${(sec / 3600).toFixed(1)} h`);
  let lastProgress = 0;
  for (const g of groups) {
    const names = g.map((x) => x.name).join("+");
    const t0 = Date.now();
    const before = doneOf(g);
    let doneHere = 0;
    for (let i = 0; i < LEAVES && !stopRequested; i++) {
      for (const st of g) {
        if (units.has(key(st.name, i)) || stopRequested) continue;
        if (Date.now() - runStarted > MAX_MS) {
          stopRequested = true;
          break;
        }
        await runUnit(st, i);
        doneHere++;
      }
      const now = Date.now();
      if (now - lastProgress > 15_000 || i === LEAVES - 1) {
        lastProgress = now;
        const rate = doneHere / Math.max(0.001, (now - t0) / 1000);
        const left = g.length * LEAVES - before - doneHere;
        const all = doneOf(RUN_ORDER);
        process.stderr.write(
          `[${new Date().toISOString().slice(11, 19)}] ${names}: ${before + doneHere}/${g.length * LEAVES} leaves ` +
            `(${g.map((st) => doneOf([st])).join("/")}), ${rate.toFixed(2)} leaves/s, ETA ${fmt(left / Math.max(rate, 1e-9))} ` +
            `for this group; all settings ${all}/${totalUnits}; load ${loadavg()[0]!.toFixed(1)}\n`,
        );
      }
    }
    if (stopRequested) break;
  }
  stoppedEarly = stopRequested;
  if (stoppedEarly) process.stderr.write(`stopped early; --resume continues from ${CHECKPOINT}\n`);
  await rt.close();
}

// ---------------------------------------------------------------------------------------------
// Report: every finished unit in the checkpoint, up to --leaves per setting.

if (header === null) fail(`no checkpoint header in ${CHECKPOINT}`);
const hdr: Header = header!;
const used = [...units.values()].filter((u) => u.i < LEAVES);
const rows: Row[] = used.flatMap((u) => u.rows);
const SETTINGS = ALL_SETTINGS.filter((s) => used.some((u) => u.setting === s.name));
const honestLeaves = Object.fromEntries(SETTINGS.map((s) => [s.name, used.filter((u) => u.setting === s.name).length]));
const kinds = [...new Set(rows.map((r) => r.kind))];
const counts = Object.fromEntries(kinds.map((k) => [k, rows.filter((r) => r.kind === k).length]));
// Honest leaves whose token ids equal the reference setting's for the same input, per setting
// (only leaves whose reference leaf is in the checkpoint count), and distinct honest leaves.
const identicalToReference: Record<string, { identical: number; compared: number }> = {};
const distinctIds = new Set<string>();
for (const s of SETTINGS) {
  identicalToReference[s.name] = { identical: 0, compared: 0 };
  for (const u of used.filter((x) => x.setting === s.name)) {
    if (u.ids === undefined) continue;
    // Distinct token sequences among the leaves the rule judges (16+ tokens; shorter ones go to exact mode).
    if (u.ids.length >= MIN_RESCORE_TOKENS) distinctIds.add(`${u.i}:${u.ids.join(",")}`);
    const ref = units.get(key(REFERENCE.name, u.i))?.ids;
    if (ref === undefined) continue;
    identicalToReference[s.name]!.compared++;
    if (sameIds(ref, u.ids)) identicalToReference[s.name]!.identical++;
  }
}
const distinctHonest = distinctIds.size;
const spot = used.filter((u) => u.spotCheck !== undefined);
const reuse = {
  reusedStats: rows.filter((r) => r.reused === true).length,
  spotChecks: spot.length,
  spotCheckMismatches: spot.filter((u) => u.spotCheck === false).length,
};

// Misses outside the top K, precomputed per row.
const KS = [1, 2, 3, 4, 6, 8];
const misses = new Map<Row, Record<number, number>>();
for (const r of rows) misses.set(r, Object.fromEntries(KS.map((k) => [k, r.ranks.filter((x) => x >= k).length])));

// Evaluate a grid of rules: pass iff misses(K) * 10000 / n <= maxMissBps and meanLogProb >= min and EOS check.
type Rule = { topK: number; maxMissBps: number; minMeanLogProb: number };
const pass = (r: Row, rule: Rule): boolean => {
  if (r.tokens < MIN_RESCORE_TOKENS) return true; // exact mode territory (see exactBelowTokens)
  if ((misses.get(r)![rule.topK]! * 10_000) / r.tokens > rule.maxMissBps) return false;
  if (r.meanLogProb < rule.minMeanLogProb) return false;
  if (r.eosRank !== null && r.eosRank >= rule.topK) return false;
  return true;
};
type Graded = Rule & {
  falseAlarms: Record<string, number>;
  falseAlarmCount: number;
  detection: Record<string, number>;
};
const honestBy = new Map(
  SETTINGS.map((s) => [s.name, rows.filter((r) => r.kind === "honest" && r.setting === s.name)]),
);
const corruptBy = new Map(kinds.filter((k) => k !== "honest").map((k) => [k, rows.filter((r) => r.kind === k)]));
const grid: Graded[] = [];
for (const topK of KS) {
  for (const maxMissBps of [0, 100, 200, 300, 500, 700, 1000]) {
    for (const minMeanLogProb of [-100, -3, -2, -1.5, -1]) {
      const rule = { topK, maxMissBps, minMeanLogProb };
      const falseAlarms: Record<string, number> = {};
      let falseAlarmCount = 0;
      for (const [name, h] of honestBy) {
        const bad = h.filter((r) => !pass(r, rule)).length;
        falseAlarmCount += bad;
        falseAlarms[name] = bad / Math.max(1, h.length);
      }
      const detection: Record<string, number> = {};
      for (const [k, c] of corruptBy) detection[k] = c.filter((r) => !pass(r, rule)).length / Math.max(1, c.length);
      grid.push({ ...rule, falseAlarms, falseAlarmCount, detection });
    }
  }
}
// Choose: no false alarm in any setting (flash attention on stands in for a validator whose numerics
// differ from the node's), >= 99% detection of 5% substitution, and headroom over the worst honest
// leaf seen (one more miss than the worst honest leaf of TOKENS tokens, half a nat of mean log-prob);
// then the most detection of the other corruptions; ties: larger K, the smaller miss budget, the
// highest log-prob floor (free when it costs no false alarm; a backstop against substitutions
// inside the top K).
const honestRows = rows.filter((r) => r.kind === "honest" && r.tokens >= MIN_RESCORE_TOKENS);
const worstMissBps = (k: number) => Math.max(...honestRows.map((r) => (misses.get(r)![k]! * 10_000) / r.tokens));
const worstMeanLogProb = Math.min(...honestRows.map((r) => r.meanLogProb));
const oneMissBps = 10_000 / TOKENS;
const others = (g: Graded) => Object.values(g.detection).reduce((a, b) => a + b, 0);
const candidates = grid
  .filter(
    (g) =>
      g.falseAlarmCount === 0 &&
      (g.detection.substituted_5pct ?? 0) >= 0.99 &&
      g.maxMissBps >= worstMissBps(g.topK) + oneMissBps &&
      g.minMeanLogProb <= worstMeanLogProb - 0.5,
  )
  .sort(
    (a, b) =>
      others(b) - others(a) || b.topK - a.topK || a.maxMissBps - b.maxMissBps || b.minMeanLogProb - a.minMeanLogProb,
  );
const chosenRule = candidates[0] ?? null;
const honestTotal = honestRows.length;
// One-sided 95% upper bounds on the rate when 0 (or x) events were seen in n trials (exact for 0).
const upper95 = (x: number, n: number) => (x === 0 ? 1 - 0.05 ** (1 / n) : Math.min(1, (x + 2 * Math.sqrt(x) + 2) / n));
const chosen =
  chosenRule === null
    ? null
    : {
        ...chosenRule,
        honestLeaves: honestTotal,
        distinctHonestLeaves: distinctHonest,
        falseAlarmRate: chosenRule.falseAlarmCount / Math.max(1, honestTotal),
        falseAlarmUpper95Distinct: upper95(chosenRule.falseAlarmCount, distinctHonest),
        substituted5pctDetected: Math.round(
          (chosenRule.detection.substituted_5pct ?? 0) * (counts.substituted_5pct ?? 0),
        ),
        substituted5pctLeaves: counts.substituted_5pct ?? 0,
      };

const dist = (rs: Row[]) => {
  const agree = rs.map((r) => r.ranks.filter((x) => x === 0).length / Math.max(1, r.tokens));
  return {
    leaves: rs.length,
    meanArgmaxAgreement: agree.reduce((a, b) => a + b, 0) / Math.max(1, rs.length),
    meanLogProb: rs.reduce((a, r) => a + r.meanLogProb, 0) / Math.max(1, rs.length),
    minMeanLogProb: Math.min(...rs.map((r) => r.meanLogProb)),
    maxMeanLogProb: Math.max(...rs.map((r) => r.meanLogProb)),
    maxOutsideTop4: Math.max(...rs.map((r) => misses.get(r)![4]!)),
  };
};
const seconds = Object.fromEntries(
  SETTINGS.map((s) => {
    const us = used.filter((u) => u.setting === s.name);
    return [
      s.name,
      {
        total: us.reduce((a, u) => a + u.ms, 0) / 1000,
        msPerLeaf: us.reduce((a, u) => a + u.ms, 0) / Math.max(1, us.length),
      },
    ];
  }),
);

const out = {
  generatedAt: new Date().toISOString(),
  conditions: {
    preset,
    leavesRequested: LEAVES,
    // The fewest honest leaves of any setting (see honestLeaves for each).
    leavesPerSetting: Math.min(...Object.values(honestLeaves)),
    honestLeaves,
    // Distinct token sequences among honest leaves of 16+ tokens (the false-alarm bound counts these).
    distinctHonestLeaves: distinctHonest,
    // Honest leaves that ended (EOS) before 16 tokens: exact-mode territory, not judged by the rule.
    shortHonestLeaves: rows.filter((r) => r.kind === "honest" && r.tokens < MIN_RESCORE_TOKENS).length,
    corruptedLeaves: Object.fromEntries(Object.entries(counts).filter(([k]) => k !== "honest")),
    tokensPerLeaf: TOKENS,
    models: hdr.models,
    llamaBuild: hdr.llamaBuild,
    cpuVariant: hdr.cpuVariant,
    validatorSetting: "threads 1, batch 512, flash attention off",
    settings: SETTINGS,
    complete: Object.values(honestLeaves).every((n) => n >= LEAVES) && SETTINGS.length === ALL_SETTINGS.length,
    stoppedEarly,
    checkpointStartedAt: hdr.startedAt,
    // Wall time of each setting's leaves (generation + re-scoring; the reference includes the
    // corruptions), summed over all runs that filled the checkpoint.
    seconds,
    thisRun: { seconds: (Date.now() - runStarted) / 1000, leaves: units.size - unitsBefore },
    loadAverage1mAtEnd: loadavg()[0],
    statsReuse: reuse,
  },
  distributions: Object.fromEntries(kinds.map((k) => [k, dist(rows.filter((r) => r.kind === k))])),
  honestWorst: {
    meanLogProb: worstMeanLogProb,
    missBpsByTopK: Object.fromEntries(KS.map((k) => [k, worstMissBps(k)])),
  },
  // Per kind and K: how many leaves had 0, 1, 2, ... committed tokens outside the top K.
  missHistograms: Object.fromEntries(
    kinds.map((kind) => [
      kind,
      Object.fromEntries(
        [1, 2, 3, 4, 8].map((k) => {
          const h: Record<number, number> = {};
          for (const r of rows.filter((x) => x.kind === kind)) {
            const m = misses.get(r)![k]!;
            h[m] = (h[m] ?? 0) + 1;
          }
          return [k, h];
        }),
      ),
    ]),
  ),
  // Honest leaves with token ids identical to the reference setting's (t1_b512_fa0) for the same input.
  identicalToReference,
  honestBySetting: Object.fromEntries([...honestBy].map(([name, rs]) => [name, dist(rs)])),
  chosen,
  grid,
};
writeFileSync(OUT, `${JSON.stringify(out, null, 1)}\n`);
process.stderr.write(
  `${OUT}: honest leaves ${JSON.stringify(honestLeaves)}; chosen rule: ${JSON.stringify(chosenRule === null ? null : { topK: chosenRule.topK, maxMissBps: chosenRule.maxMissBps, minMeanLogProb: chosenRule.minMeanLogProb, falseAlarms: chosenRule.falseAlarmCount, detection: chosenRule.detection })}\n`,
);
