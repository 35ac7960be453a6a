/**
 * `npm run bench`: runs every benchmark of the project, then writes bench/results.json (a list of
 * { name, value, unit, lowerIsBetter, conditions } plus machine information) and
 * docs/benchmarks.md generated from it.
 *
 *   node scripts/bench.ts [--reuse] [--only settlement,market,...]
 *
 * --reuse skips running and rebuilds the report from the JSON files already in bench/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";

type Row = { name: string; value: number; unit: string; lowerIsBetter: boolean; conditions: string; source?: string };

const ROOT = new URL("..", import.meta.url).pathname;
const BENCHES: { name: string; script: string; json: string; args?: string[]; note: string }[] = [
  {
    name: "settlement",
    script: "bench/settlement.ts",
    json: "bench/settlement.json",
    note: "batch settlement gas per leaf",
  },
  { name: "market", script: "bench/market.ts", json: "bench/market.json", note: "auction and voucher gas" },
  {
    name: "runtime",
    script: "bench/runtime.ts",
    json: "bench/runtime.json",
    note: "llama.cpp throughput, overhead, memory",
  },
  {
    name: "calibration",
    script: "bench/calibrate.ts",
    json: "bench/calibration.json",
    // Continues (or, when complete, only re-reports) the checkpoint in bench/tmp/.
    args: ["--leaves", "3000", "--resume"],
    note: "re-scoring false alarms and detection",
  },
  { name: "indexer", script: "bench/indexer.ts", json: "bench/indexer.json", note: "Ponder live latency and backfill" },
  { name: "node", script: "bench/node.ts", json: "bench/node.json", note: "node agent HTTP overhead" },
  {
    name: "validator",
    script: "bench/validator.ts",
    json: "bench/validator.json",
    note: "detection probability and time to slash",
  },
  {
    name: "validator-e2e",
    script: "bench/validator-e2e.ts",
    json: "bench/validator-e2e.json",
    note: "bad commit to slash and catch rate with real node and validator agents",
  },
  { name: "e2e", script: "bench/e2e.ts", json: "bench/e2e.json", note: "end-to-end direct request latency" },
];
const REQUIRED = [
  "settle_gas_per_leaf_b16",
  "settle_gas_per_leaf_b256",
  "settle_gas_per_leaf_b1024",
  "settle_gas_per_leaf_b4096",
  "commit_batch_gas",
  "auction_commit_gas",
  "auction_reveal_gas",
  "auction_finalize_gas_5_bidders",
  "post_job_gas",
  "voucher_redeem_gas",
  "dispute_resolve_gas",
  "runtime_overhead_ratio",
  "rescore_false_alarm_rate",
  "rescore_detection_rate_5pct",
  "http_ttft_overhead_ms_p50",
  "http_throughput_overhead_ratio",
  "indexer_live_latency_ms_p50",
  "indexer_backfill_events_per_s",
  "gen_tokens_per_s_small",
  "e2e_direct_ttft_ms_p50",
];

const { values } = parseArgs({
  options: {
    reuse: { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench [-- --reuse] [-- --only settlement,market]

Runs: ${BENCHES.map((b) => b.name).join(", ")}. The calibration (3,000 leaves per setting) takes
hours on a shared 2-core machine, mostly its threads-2 setting; it checkpoints in bench/tmp/ and
continues where it stopped (see node bench/calibrate.ts --help).
Writes bench/results.json and docs/benchmarks.md. --reuse rebuilds them from bench/*.json.`);
  process.exit(0);
}

const only = values.only ? new Set(values.only.split(",")) : null;
const ran: string[] = [];
const failed: string[] = [];
if (!values.reuse) {
  for (const b of BENCHES) {
    if (only && !only.has(b.name)) continue;
    if (!existsSync(ROOT + b.script)) {
      console.log(`- ${b.name}: no ${b.script} yet, skipped`);
      continue;
    }
    console.log(`\n=== ${b.name} (${b.note}): node ${b.script}`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [ROOT + b.script, ...(b.args ?? [])], {
      stdio: "inherit",
      cwd: ROOT,
      env: process.env,
    });
    console.log(`=== ${b.name}: exit ${r.status} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    (r.status === 0 ? ran : failed).push(b.name);
  }
}

function loadRows(json: string): Row[] {
  if (!existsSync(ROOT + json)) return [];
  const d = JSON.parse(readFileSync(ROOT + json, "utf8")) as unknown;
  const list = Array.isArray(d) ? d : ((d as { results?: unknown }).results as unknown[] | undefined);
  if (!Array.isArray(list)) return [];
  return (list as Row[])
    .filter((r) => typeof r.name === "string" && typeof r.value === "number")
    .map((r) => ({ ...r, source: json }));
}

const rows: Row[] = [];
for (const b of BENCHES) rows.push(...loadRows(b.json));

// Figures derived from reports that are not lists of rows.
type Calibration = {
  conditions: {
    preset: string;
    tokensPerLeaf: number;
    honestLeaves: Record<string, number>;
    distinctHonestLeaves: number;
    corruptedLeaves: Record<string, number>;
  };
  chosen: {
    topK: number;
    maxMissBps: number;
    minMeanLogProb: number;
    falseAlarmCount: number;
    falseAlarmUpper95Distinct: number;
    /** Honest leaves the rule judged (16+ tokens). */
    honestLeaves: number;
    detection: Record<string, number>;
  } | null;
};
for (const [file, suffix] of [
  ["bench/calibration.json", ""],
  ["bench/calibration-small.json", "_small"],
] as const) {
  if (!existsSync(ROOT + file)) continue;
  const cal = JSON.parse(readFileSync(ROOT + file, "utf8")) as Calibration;
  const c = cal.conditions;
  if (cal.chosen === null || c.honestLeaves === undefined) continue;
  const n = cal.chosen.honestLeaves;
  const bySetting = Object.entries(c.honestLeaves)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const rule = `top ${cal.chosen.topK}, ${cal.chosen.maxMissBps} bps, mean log-prob >= ${cal.chosen.minMeanLogProb}`;
  rows.push({
    name: `rescore_false_alarm_rate${suffix}`,
    value: cal.chosen.falseAlarmCount / n,
    unit: "fraction",
    lowerIsBetter: true,
    conditions: `${cal.chosen.falseAlarmCount} false alarms in ${n} honest leaves of up to ${c.tokensPerLeaf} tokens judged by the rule (16+ tokens; generated: ${bySetting}; ${c.distinctHonestLeaves} distinct token sequences, 95% upper bound ${cal.chosen.falseAlarmUpper95Distinct.toPrecision(2)}), ${c.preset} preset, rule ${rule}; goal <= 0.001`,
    source: file,
  });
  rows.push({
    name: `rescore_detection_rate_5pct${suffix}`,
    value: cal.chosen.detection.substituted_5pct ?? NaN,
    unit: "fraction",
    lowerIsBetter: false,
    conditions: `${c.tokensPerLeaf}-token leaves with 5% substituted tokens, ${c.corruptedLeaves.substituted_5pct ?? 0} leaves, ${c.preset} preset, rule ${rule}; goal >= 0.99`,
    source: file,
  });
}
if (existsSync(ROOT + "gas/snapshot.json")) {
  const snap = JSON.parse(readFileSync(ROOT + "gas/snapshot.json", "utf8")) as {
    entries: Record<string, { gas: number; note?: string }>;
  };
  const fin = snap.entries["Committee.finalize"];
  if (fin) {
    rows.push({
      name: "dispute_resolve_gas",
      value: fin.gas,
      unit: "gas",
      lowerIsBetter: true,
      conditions: `Committee.finalize of a 5-seat dispute (${fin.note ?? ""}); gasUsed minus 21,000, from gas/snapshot.json`,
      source: "gas/snapshot.json",
    });
  }
}

const seen = new Set<string>();
const unique = rows.filter((r) => (seen.has(r.name) ? false : (seen.add(r.name), true)));
const missing = REQUIRED.filter((n) => !seen.has(n));
const machine = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  loadAverage1m: os.loadavg()[0],
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
const out = { generatedAt: new Date().toISOString(), machine, ran, failed, missing, results: unique };
writeFileSync(ROOT + "bench/results.json", JSON.stringify(out, null, 2) + "\n");

const fmt = (v: number): string =>
  Number.isInteger(v) ? v.toLocaleString("en-US") : Math.abs(v) < 1 ? v.toPrecision(3) : v.toFixed(2);
let md = `# Benchmarks\n\nGenerated by \`npm run bench\` from bench/results.json (${out.generatedAt}). Do not edit.\n\n`;
md += `Machine: ${machine.cpus} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}; shared and noisy, so compare ratios measured in one run.\n\n`;
if (missing.length) md += `Not measured yet: ${missing.map((m) => `\`${m}\``).join(", ")}.\n\n`;
md += "| name | value | unit | better | conditions | source |\n| --- | ---: | --- | --- | --- | --- |\n";
for (const r of unique) {
  md += `| \`${r.name}\` | ${fmt(r.value)} | ${r.unit} | ${r.lowerIsBetter ? "lower" : "higher"} | ${(typeof r.conditions === "string" ? r.conditions : JSON.stringify(r.conditions)).replace(/\|/g, "/")} | ${r.source ?? ""} |\n`;
}
writeFileSync(ROOT + "docs/benchmarks.md", md);
console.log(`\nbench/results.json: ${unique.length} figures; missing: ${missing.length ? missing.join(", ") : "none"}`);
if (failed.length) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
