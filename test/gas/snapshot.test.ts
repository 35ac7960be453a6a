import { describe, expect, it } from "vitest";
import { network } from "hardhat";
import * as abis from "../../agents/lib/generated/abis.ts";
import {
  compareSnapshots,
  readSnapshot,
  TOLERANCE,
  VARIABLE_TOLERANCE,
  type GasSnapshot,
} from "../../scripts/lib/gas.ts";
import { MEASURED_CONTRACTS, runGasScenario } from "../../scripts/lib/gasScenario.ts";
import { runGasFlows } from "../../scripts/lib/gasFlows.ts";

type AbiItem = { type: string; name?: string; stateMutability?: string };

describe("gas snapshot (gas/snapshot.json)", () => {
  it(`holds fixed figures to ${TOLERANCE * 100}% and randomness-dependent ones to ${VARIABLE_TOLERANCE * 100}%`, () => {
    const snap = (fixed: number, variable: number): GasSnapshot => ({
      note: "",
      hardfork: "osaka",
      txGasCap: 16_777_216,
      entries: { "A.f": { gas: fixed, calldata: 0 }, "B.draw": { gas: variable, calldata: 0, variable: true } },
    });
    expect(compareSnapshots(snap(100_000, 100_000), snap(104_000, 120_000)).grown).toEqual([]);
    expect(compareSnapshots(snap(100_000, 100_000), snap(106_000, 124_000)).grown).toEqual([
      "A.f: 100000 -> 106000 (+6.0%)",
    ]);
    expect(compareSnapshots(snap(100_000, 100_000), snap(100_000, 126_000)).grown).toEqual([
      "B.draw: 100000 -> 126000 (+26.0%)",
    ]);
  });

  it(`no figure grows more than ${TOLERANCE * 100}% and every external function is measured`, async () => {
    const { viem } = await network.create();
    const measured = await runGasScenario(viem);
    Object.assign(measured.entries, (await runGasFlows(await network.create())).entries);
    const committed = readSnapshot();
    const cmp = compareSnapshots(committed, measured);
    expect(cmp.grown, "figures grew: optimize, or run `npm run gas` and commit the new snapshot").toEqual([]);
    expect(cmp.missing, "functions in the snapshot that the scenario no longer measures").toEqual([]);
    expect(cmp.added, "functions measured but not in the committed snapshot: run `npm run gas`").toEqual([]);

    const all = abis as unknown as Record<string, readonly AbiItem[]>;
    const unmeasured: string[] = [];
    for (const name of MEASURED_CONTRACTS) {
      const abi = all[`${name.charAt(0).toLowerCase()}${name.slice(1)}Abi`];
      expect(abi, `generated ABI for ${name}`).toBeDefined();
      for (const item of abi ?? []) {
        if (item.type !== "function" || item.stateMutability === "view" || item.stateMutability === "pure") continue;
        if (!measured.entries[`${name}.${item.name}`]) unmeasured.push(`${name}.${item.name}`);
      }
    }
    expect(unmeasured, "external functions missing from the gas scenario").toEqual([]);
  });
});
