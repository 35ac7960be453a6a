/**
 * `npm run gas`: measures every external state-changing function of the protocol's contracts on a
 * fresh in-process chain and writes gas/snapshot.json and gas/snapshot.md. Without --write it
 * prints the comparison against the committed snapshot instead.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { SNAPSHOT_JSON, compareSnapshots, readSnapshot, writeSnapshot } from "./lib/gas.ts";
import { runGasScenario } from "./lib/gasScenario.ts";
import { runGasFlows } from "./lib/gasFlows.ts";

const { values } = parseArgs({
  options: { write: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
});
if (values.help) {
  console.log(`Usage: node scripts/gas-snapshot.ts [--write]   (npm run gas = --write)

Runs scripts/lib/gasScenario.ts on Hardhat's in-process chain. Figures are gasUsed minus the
21,000 base (calldata included) at the default hardfork (Osaka). --write updates
gas/snapshot.{json,md}; without it, prints growth against the committed snapshot.`);
  process.exit(0);
}

const { viem } = await network.create();
console.log("running the gas scenario on a fresh in-process chain...");
const measured = await runGasScenario(viem);
console.log("running the protocol flows on another fresh chain...");
const flows = await runGasFlows(await network.create());
Object.assign(measured.entries, flows.entries);
measured.entries = Object.fromEntries(Object.entries(measured.entries).sort(([a], [b]) => a.localeCompare(b)));
if (values.write) {
  writeSnapshot(measured);
  console.log(`wrote ${Object.keys(measured.entries).length} figures to gas/snapshot.{json,md}`);
} else {
  if (!existsSync(SNAPSHOT_JSON)) throw new Error("no committed snapshot: run `npm run gas`");
  const cmp = compareSnapshots(readSnapshot(), measured);
  console.log(JSON.stringify(cmp, null, 2));
}
