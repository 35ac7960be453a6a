/**
 * The demo scenario, headless (issue 11): `scripts/demo.ts --json` on a real local chain with the
 * indexer, three node agents (one cheating), five validators, the gateway and requester traffic.
 * Asserts the outcome: every direct and auction job done, batches settled and paid to the honest
 * nodes, and the cheating node slashed by a committee verdict.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

type Summary = {
  jobs: { direct: number; auction: number; perNode: Record<string, number> };
  tokens: number;
  batches: { committed: number; chunksSettled: number; leavesSettled: number };
  slashes: { node: string; reason: string; slashed: string }[];
  earnings: Record<string, string>;
  latencyMs: { ttftP50: number };
};

describe("the demo, end to end", () => {
  it("settles honest work and slashes the cheating node", { timeout: 600_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "llmarket-e2e-"));
    const script = new URL("../../scripts/demo.ts", import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [script, "--json", "--preset", "tiny", "--timeout", "420", "--data-dir", dataDir],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true" },
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    expect(code, `demo exited ${code}:\n${err.slice(-3000)}`).toBe(0);
    const s = JSON.parse(out) as Summary;
    expect(s.jobs.direct).toBe(12);
    expect(s.jobs.auction).toBe(2);
    for (const n of Object.values(s.jobs.perNode)) expect(n).toBeGreaterThan(0);
    expect(s.tokens).toBeGreaterThan(0);
    expect(s.batches.chunksSettled).toBeGreaterThan(0);
    const cheaterSlashes = s.slashes.filter((x) => x.node.includes("cheater"));
    expect(cheaterSlashes.length).toBeGreaterThan(0);
    expect(Number(cheaterSlashes[0]!.slashed)).toBeGreaterThan(0);
    expect(s.slashes.some((x) => !x.node.includes("cheater"))).toBe(false);
    expect(Number(s.earnings.node1)).toBeGreaterThan(0);
    expect(Number(s.earnings.node2)).toBeGreaterThan(0);
    expect(s.latencyMs.ttftP50).toBeGreaterThan(0);
  });
});
