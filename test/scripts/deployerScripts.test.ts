/**
 * The deployer scripts on a real chain (`hardhat node`): deploy (and its idempotent re-run), fund,
 * register a model from a generated GGUF, register and stake a node (and re-run), and the clear
 * errors for an unknown network, an unreachable RPC and bad arguments.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDeployment } from "../../agents/lib/deployments.ts";
import { makeModel } from "../../agents/runtime/modelMaker.ts";
import { startLocalChain, type LocalChain } from "../../scripts/lib/localChain.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const run = (script: string, args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", script), ...args], {
    cwd: ROOT,
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true" },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

describe("deployer scripts", () => {
  let chain: LocalChain;
  let dir: string;
  const net = () => ["--network", "localhost", "--rpc", chain.url, "--deployments", join(dir, "deployments")];

  beforeAll(async () => {
    chain = await startLocalChain();
    dir = mkdtempSync(join(tmpdir(), "llmarket-scripts-"));
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it("deploy writes deployments/<chainId>.json and a re-run does nothing", () => {
    const first = run("deploy.ts", net());
    expect(first.code, first.out).toBe(0);
    const d = readDeployment(31337, join(dir, "deployments"));
    expect(Object.keys(d.contracts)).toHaveLength(11);
    const again = run("deploy.ts", net());
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/already has a deployment; nothing to do|already has a deployment/);
    expect(readDeployment(31337, join(dir, "deployments")).contracts.Staking!.address).toBe(
      d.contracts.Staking!.address,
    );
  });

  it("fund, register-model and register-node work and are idempotent", async () => {
    const model = await makeModel({ preset: "tiny", quant: "q8_0", seed: 3n, out: join(dir, "tiny.gguf") });
    const node = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // Hardhat dev account 1
    const f = run("fund.ts", [...net(), "--to", node, "--amount", "5000"]);
    expect(f.code, f.out).toBe(0);
    const reg = run("register-model.ts", [...net(), "--model", join(dir, "tiny.gguf")]);
    expect(reg.code, reg.out).toBe(0);
    expect(reg.out).toContain(`registered model 0x${model.sha256}`);
    const reg2 = run("register-model.ts", [...net(), "--model", join(dir, "tiny.gguf")]);
    expect(reg2.code, reg2.out).toBe(0);
    expect(reg2.out).toMatch(/already registered/);
    const args = [
      ...net(),
      "--account",
      "1",
      "--endpoint",
      "http://127.0.0.1:8700",
      "--model",
      `0x${model.sha256}:1000`,
    ];
    const rn = run("register-node.ts", args);
    expect(rn.code, rn.out).toBe(0);
    expect(rn.out).toMatch(/registered node/);
    const rn2 = run("register-node.ts", args);
    expect(rn2.code, rn2.out).toBe(0);
    expect(rn2.out).toMatch(/already registered/);
  });

  it("says clearly what is wrong: unknown network, unreachable RPC, unregistered model, bad input", () => {
    const unknown = run("deploy.ts", ["--network", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(/Cannot use network "nope"/);
    const down = run("deploy.ts", [
      "--network",
      "localhost",
      "--rpc",
      "http://127.0.0.1:9",
      "--deployments",
      join(dir, "x"),
    ]);
    expect(down.code).toBe(2);
    expect(down.out).toMatch(/does not answer/);
    const badModel = run("register-node.ts", [...net(), "--endpoint", "http://x", "--model", `0x${"ab".repeat(32)}:1`]);
    expect(badModel.code).toBe(2);
    expect(badModel.out).toMatch(/is not registered/);
    const notGguf = run("register-model.ts", [...net(), "--model", join(ROOT, "package.json")]);
    expect(notGguf.code).toBe(2);
    expect(notGguf.out).toMatch(/not a readable GGUF/);
    const badTo = run("fund.ts", [...net(), "--to", "0x123"]);
    expect(badTo.code).toBe(2);
    expect(badTo.out).toMatch(/is not an address/);
  });
});
