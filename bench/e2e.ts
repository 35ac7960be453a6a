/**
 * End-to-end figures from one demo run (scripts/demo.ts --json): time to first token of streamed
 * direct requests through the SDK and the gateway, whole-request latency, settlement gas per job
 * and the demo's duration. Writes bench/e2e.json.
 *
 *   node bench/e2e.ts [--preset small|tiny] [--out bench/e2e.json]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "small" },
    out: { type: "string", default: new URL("./e2e.json", import.meta.url).pathname },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("Usage: node bench/e2e.ts [--preset small|tiny] [--out bench/e2e.json]");
  process.exit(0);
}
const dataDir = mkdtempSync(join(tmpdir(), "llmarket-bench-e2e-"));
const r = spawnSync(
  process.execPath,
  [new URL("../scripts/demo.ts", import.meta.url).pathname, "--json", "--preset", values.preset, "--data-dir", dataDir],
  {
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 2 ** 20,
  },
);
if (r.status !== 0) {
  console.error(`demo failed (exit ${r.status}); logs in ${dataDir}/logs`);
  process.exit(1);
}
const s = JSON.parse(r.stdout.toString()) as {
  seconds: number;
  latencyMs: { ttftP50: number; ttftP95: number; totalP50: number; totalP95: number };
  settlementGasPerJob: number | null;
  jobs: { direct: number; auction: number };
};
const cond = `scripts/demo.ts, ${values.preset} preset Q8_0, 3 node agents (1 thread each) + 5 validators + indexer + gateway on this 2-core machine, ${s.jobs.direct} streamed direct requests of 24 tokens`;
const results = [
  { name: "e2e_direct_ttft_ms_p50", value: s.latencyMs.ttftP50, unit: "ms", lowerIsBetter: true, conditions: cond },
  { name: "e2e_direct_ttft_ms_p95", value: s.latencyMs.ttftP95, unit: "ms", lowerIsBetter: true, conditions: cond },
  { name: "e2e_direct_total_ms_p50", value: s.latencyMs.totalP50, unit: "ms", lowerIsBetter: true, conditions: cond },
  { name: "e2e_direct_total_ms_p95", value: s.latencyMs.totalP95, unit: "ms", lowerIsBetter: true, conditions: cond },
  {
    name: "e2e_settlement_gas_per_job",
    value: Math.round(s.settlementGasPerJob ?? NaN),
    unit: "gas/job",
    lowerIsBetter: true,
    conditions: `${cond}; small batches (a few leaves each), all-in gasUsed of commit + settle / leaves`,
  },
  { name: "demo_seconds", value: s.seconds, unit: "s", lowerIsBetter: true, conditions: `${cond}; goal under 300 s` },
];
for (const x of results) console.log(`${x.name}: ${x.value} ${x.unit}`);
writeFileSync(values.out, JSON.stringify({ generatedAt: new Date().toISOString(), results }, null, 2) + "\n");
