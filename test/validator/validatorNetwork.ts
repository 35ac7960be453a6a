/**
 * A real network for the validator tests and bench/validator-e2e.ts: a `hardhat node` chain with
 * interval mining (1 block/s, so committees see blocks pass), the protocol deployed with the demo's
 * short windows, the tiny generated model, node agents as child processes (`llmarket node start`,
 * killable with SIGKILL by pid), validator agents in process (sharing one llama.cpp runtime) or
 * as child processes (`llmarket validator start`), and an SDK requester per node.
 *
 * Accounts (Hardhat's well-known development mnemonic, local chain only): 0 deployer.
 * Every process listens on 127.0.0.1 and is stopped by pid in `stopAll`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { bytesToHex, parseUnits, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { ZERO32, modelId as toModelId } from "../../agents/lib/encodings.ts";
import { writeDeployment } from "../../agents/lib/deployments.ts";
import { makeModel } from "../../agents/runtime/modelMaker.ts";
import { Runtime } from "../../agents/runtime/Runtime.ts";
import { createMarket, resolveConfig } from "../../agents/sdk/config.ts";
import type { Market } from "../../agents/sdk/Market.ts";
import { loadValidatorConfig } from "../../agents/validator/ValidatorConfig.ts";
import { Validator, jsonLogger } from "../../agents/validator/Validator.ts";
import { DEMO_PARAMS, deployProtocol, type ProtocolParams } from "../../scripts/lib/deployProtocol.ts";
import { freePort, startLocalChain, stopProcess, type LocalChain } from "../../scripts/lib/localChain.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CLI = join(ROOT, "agents/cli/llmarket.ts");
const MNEMONIC = "test test test test test test test test test test test junk";
export const NODE_PRICE = parseUnits("0.00001", 18);

export const devKey = (i: number): Hex =>
  bytesToHex(mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey!);
export const devAddress = (i: number): Address => mnemonicToAccount(MNEMONIC, { addressIndex: i }).address;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 120_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

export type NodeProcess = { name: string; address: Address; url: string; child: ChildProcess; log: string };
export type ValidatorProcess = { name: string; address: Address; url: string; child: ChildProcess; log: string };

export async function validatorNetwork(o: { params?: Partial<ProtocolParams>; dir?: string } = {}) {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "llmarket-validator-net-"));
  const logDir = join(dir, "logs");
  mkdirSync(logDir, { recursive: true });
  const chain: LocalChain = await startLocalChain();
  const children: ChildProcess[] = [];
  const inProcess: Validator[] = [];
  let rt: Runtime | undefined;

  /** Stops every process and in-process agent this network started (by pid), then the chain. */
  const stopAll = async (): Promise<void> => {
    for (const v of inProcess.splice(0)) await v.stop().catch(() => {});
    for (const c of children.splice(0).reverse()) await stopProcess(c, 5_000).catch(() => {});
    await rt?.close().catch(() => {});
    await chain.stop();
  };

  try {
    const conn = await network.create({ network: "localhost", override: { url: chain.url } });
    const viem = conn.viem;
    const publicClient = await viem.getPublicClient();
    const testClient = await viem.getTestClient();
    await testClient.request({ method: "evm_setIntervalMining" as never, params: [1000] as never });
    const params = { ...DEMO_PARAMS, ...o.params };
    const d = await deployProtocol(viem, { params });
    const deploymentsFile = writeDeployment(d.deployment, join(dir, "deployments"));
    const c = {
      token: await viem.getContractAt("TestToken", d.addresses.TestToken),
      staking: await viem.getContractAt("Staking", d.addresses.Staking),
      settlement: await viem.getContractAt("BatchSettlement", d.addresses.BatchSettlement),
      game: await viem.getContractAt("ChallengeGame", d.addresses.ChallengeGame),
      committee: await viem.getContractAt("Committee", d.addresses.Committee),
      models: await viem.getContractAt("ModelRegistry", d.addresses.ModelRegistry),
    };
    const wait = async (hash: Hex) => {
      const r = await publicClient.waitForTransactionReceipt({ hash });
      if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
      return r;
    };

    const modelPath = join(dir, "tiny-q8_0.gguf");
    const made = await makeModel({ preset: "tiny", quant: "q8_0", seed: 1n, out: modelPath });
    const model = toModelId(made.sha256);
    await wait(
      await c.models.write.registerModel([
        model,
        `file://${modelPath}`,
        {
          family: "llama",
          parameterCount: BigInt(made.parameters),
          quantization: 7,
          contextLength: 1024,
          minMemoryMb: 16,
          defaultProfileHash: ZERO32,
        },
        0n,
      ]),
    );
    rt = await Runtime.create();
    const runtime = rt;

    const keyFile = (name: string, i: number): string => {
      const p = join(dir, "keys", `${name}.key`);
      mkdirSync(join(dir, "keys"), { recursive: true });
      writeFileSync(p, devKey(i), { mode: 0o600 });
      return p;
    };

    /** Spawns `node llmarket.ts <args>`; resolves when GET url/health answers 200. */
    const spawnAgent = async (
      name: string,
      args: string[],
      url: string,
    ): Promise<{ child: ChildProcess; log: string }> => {
      const log = join(logDir, `${name}.log`);
      const out = createWriteStream(log, { flags: "a" });
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: ROOT,
        env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true", NODE_NO_WARNINGS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      children.push(child);
      await until(
        `${name} to answer /health`,
        async () => {
          if (child.exitCode !== null)
            throw new Error(`${name} exited with ${child.exitCode}: ${readFileSync(log, "utf8").slice(-2000)}`);
          return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
        },
        180_000,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${readFileSync(log, "utf8").slice(-3000)}`);
      });
      return { child, log };
    };

    /** A node agent (`llmarket node start`) for account i, registered with the minimum stake. */
    const startNode = async (name: string, i: number, extra: string[] = [], dataDir?: string): Promise<NodeProcess> => {
      await wait(await c.token.write.faucet([devAddress(i), parseUnits("100000", 18)]));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const args = [
        "node",
        "start",
        "--rpc-url",
        chain.url,
        "--deployments",
        deploymentsFile,
        "--key-file",
        keyFile(name, i),
        "--model",
        `${modelPath}:${NODE_PRICE}`,
        "--threads",
        "1",
        "--context-size",
        "256",
        "--max-tokens",
        "64",
        "--data-dir",
        dataDir ?? join(dir, name),
        "--listen",
        `127.0.0.1:${port}`,
        "--register",
        "--no-auctions",
        "--batch-max-age",
        "1",
        "--poll-ms",
        "200",
        ...extra,
      ];
      const { child, log } = await spawnAgent(name, args, url);
      return { name, address: devAddress(i), url, child, log };
    };

    /** Validator flags shared by the in-process and child-process agents. */
    const validatorFlags = (name: string, extra: Record<string, string> = {}): Record<string, string> => ({
      rpcUrl: chain.url,
      deployments: deploymentsFile,
      dataDir: join(dir, name),
      declare: "true",
      stake: "2000",
      pollMs: "200",
      fetchRetries: "1",
      fetchTimeoutMs: "2000",
      withdrawEverySeconds: "1",
      ...extra,
    });

    /** A validator agent in this process (shares the llama.cpp runtime); logs to logs/<name>.log. */
    const startValidator = async (
      name: string,
      i: number,
      extra: Record<string, string> = {},
      onEvent?: (event: string, fields: Record<string, unknown>) => void,
    ): Promise<Validator> => {
      const cfg = loadValidatorConfig(
        { ...validatorFlags(name, extra), models: [modelPath], listen: "127.0.0.1:0" },
        { LLMARKET_VALIDATOR_KEY: devKey(i) },
      );
      const out = createWriteStream(join(logDir, `${name}.log`), { flags: "a" });
      const write = jsonLogger((l) => out.write(l + "\n"));
      const log = (event: string, fields: Record<string, unknown> = {}): void => {
        write(event, fields);
        onEvent?.(event, fields);
      };
      const v = await Validator.create(cfg, { runtime, log });
      inProcess.push(v);
      await v.start();
      return v;
    };
    const stopValidator = async (v: Validator): Promise<void> => {
      inProcess.splice(inProcess.indexOf(v), 1);
      await v.stop();
    };

    /** A validator agent as a child process (`llmarket validator start`), killable by pid. */
    const spawnValidator = async (
      name: string,
      i: number,
      extra: Record<string, string> = {},
    ): Promise<ValidatorProcess> => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const flags = { ...validatorFlags(name, extra), listen: `127.0.0.1:${port}` };
      const kebab = (k: string) => k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
      const args = ["validator", "start", "--key-file", keyFile(name, i), "--model", modelPath];
      for (const [k, v] of Object.entries(flags))
        args.push(...(k === "declare" ? ["--declare"] : [`--${kebab(k)}`, v]));
      const { child, log } = await spawnAgent(name, args, url);
      return { name, address: devAddress(i), url, child, log };
    };

    /** Kills a child process with SIGKILL by pid and waits for it to exit. */
    const kill9 = async (child: ChildProcess): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      process.kill(child.pid!, "SIGKILL");
      await exited;
      children.splice(children.indexOf(child), 1);
    };

    /** Stops a child process gracefully (SIGTERM, then SIGKILL after 5 s) by pid. */
    const stopChild = async (child: ChildProcess): Promise<void> => {
      await stopProcess(child, 5_000);
      children.splice(children.indexOf(child), 1);
    };

    /** An SDK requester (account i) with escrow deposited for one node. */
    const requester = async (i: number, node: NodeProcess): Promise<Market> => {
      await wait(await c.token.write.faucet([devAddress(i), parseUnits("1000", 18)]));
      const m = await createMarket(
        resolveConfig(
          {
            rpc: chain.url,
            deployment: deploymentsFile,
            key: devKey(i),
            node: [node.url],
            "state-dir": join(dir, `requester-${i}-${node.name}`),
          },
          {},
        ),
      );
      await m.deposit(node.address, parseUnits("5", 18));
      return m;
    };

    // ---- what the tests look at
    const stakeOf = async (who: Address): Promise<bigint> => {
      const [free, locked, unbonding] = await c.staking.read.stakeOf([who]);
      return free + locked + unbonding;
    };
    /** Batches a node committed and whether each was voided (slashed). */
    const batchesOf = async (node: Address) => {
      const evs = await c.settlement.getEvents.BatchCommitted(
        { node },
        { fromBlock: BigInt(d.deployment.deployBlock) },
      );
      return Promise.all(
        evs.map(async (e) => ({
          batchId: e.args.batchId!,
          committedAt: e.args.committedAt!,
          block: e.blockNumber,
          voided: (await c.settlement.read.stateOf([e.args.batchId!])).voided,
        })),
      );
    };
    /** A validator's wealth: token balance plus every credit it could withdraw. */
    const wealthOf = async (who: Address): Promise<bigint> =>
      (await c.token.read.balanceOf([who])) +
      (await c.game.read.creditOf([who])) +
      (await c.staking.read.creditOf([who])) +
      (await c.committee.read.creditOf([who]));
    const seatOf = (disputeId: bigint, round: number, who: Address) => c.committee.read.seatOf([disputeId, round, who]);
    const membersOf = (disputeId: bigint, round: number) => c.committee.read.membersOf([disputeId, round]);
    const chainNow = async (): Promise<bigint> => (await publicClient.getBlock()).timestamp;

    return {
      dir,
      logDir,
      chain,
      viem,
      publicClient,
      testClient,
      d,
      c,
      params: d.params,
      deploymentsFile,
      modelPath,
      model,
      runtime,
      wait,
      startNode,
      startValidator,
      stopValidator,
      spawnValidator,
      kill9,
      stopChild,
      requester,
      stakeOf,
      batchesOf,
      wealthOf,
      seatOf,
      membersOf,
      chainNow,
      stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

export type ValidatorNetwork = Awaited<ReturnType<typeof validatorNetwork>>;

/** The value of one Prometheus sample of an agent's /metrics (0 when absent), e.g.
 * `llmarket_validator_challenges_total{kind="0",state="committed"}`. */
export async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(sample + " "));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** One direct request through the SDK (a leaf for the node's next batch). */
export async function ask(market: Market, model: Hex, prompt: string, maxTokens = 16) {
  return market.complete({ model, prompt, maxTokens });
}
