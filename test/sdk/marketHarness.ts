/**
 * The whole buying side's world, for the SDK, CLI and gateway tests: a `hardhat node`, the
 * protocol (test/utils/protocolFixture.ts), a tiny generated model, two real node agents
 * (`llmarket node start`, llama.cpp, each its own process so it can be killed with SIGKILL and
 * restarted) and the Ponder indexer (its own process) that the SDK discovers them through.
 *
 * - node A: dev account 2, price 0.001, cost 0.0004 per token, latency SLA 50 ms, direct on
 *   127.0.0.1.
 * - node B: dev account 3, price 0.0006, cost 0.0002 per token, latency SLA 200 ms, registered
 *   behind a relay that adds 300 ms to every request (test/sdk/slowLink.ts: the one way to make a
 *   local node far away). Cheaper, so the indexer ranks B first; slower, so the SDK's round-trip
 *   refinement puts A first.
 * - dev account 1 is the fixture's node for another model at an unreachable endpoint; accounts
 *   5..9 are funded requesters (`market(i)` builds an SDK Market for account i).
 *
 * Everything started is stopped by `cleanup` (by process id), also when set-up fails half way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { bytesToHex, parseUnits, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { writeDeployment } from "../../agents/lib/deployments.ts";
import { modelId as toModelId } from "../../agents/lib/encodings.ts";
import { makeModel } from "../../agents/runtime/modelMaker.ts";
import { createMarket, resolveConfig } from "../../agents/sdk/config.ts";
import type { Market } from "../../agents/sdk/Market.ts";
import { startPonder, type PonderProcess } from "../../indexer/lib/ponderProcess.ts";
import { freePort, startLocalChain, stopProcess } from "../../scripts/lib/localChain.ts";
import { protocolFixture } from "../utils/protocolFixture.ts";
import { startSlowLink, type SlowLink } from "./slowLink.ts";

export const MNEMONIC = "test test test test test test test test test test test junk";
export function devKey(index: number): Hex {
  return bytesToHex(mnemonicToAccount(MNEMONIC, { addressIndex: index }).getHdKey().privateKey!);
}
export const devAddress = (index: number): Address => mnemonicToAccount(MNEMONIC, { addressIndex: index }).address;

export const PRICE_A = parseUnits("0.001", 18);
export const PRICE_B = parseUnits("0.0006", 18);
export const COST_A = parseUnits("0.0004", 18);
export const COST_B = parseUnits("0.0002", 18);
export const SLA_A_MS = 50;
export const SLA_B_MS = 200;
export const RELAY_DELAY_MS = 300;
/** The node agents' largest max_tokens. */
export const NODE_MAX_TOKENS = 256;

export type RunningNode = {
  name: "A" | "B";
  index: number;
  address: Address;
  /** Where the agent listens. */
  listenUrl: string;
  /** The endpoint registered on chain (B: the relay). */
  endpoint: string;
  child: ChildProcess;
  log: () => string;
};

/**
 * Text without a trailing U+FFFD: the tiny model's random byte tokens can end mid UTF-8 sequence,
 * which the node decodes as U+FFFD in a whole answer but not in its last streamed piece. The SDK
 * verifies token ids (docs/sdk.md: detokenization is not verified), so text compares up to that.
 */
export const settled = (t: string): string => t.replace(/\ufffd+$/u, "");

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(everyMs);
  }
}

export async function marketHarness() {
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    return { ...(await setUp(stops)), cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

async function setUp(stops: (() => Promise<void>)[]) {
  const dir = mkdtempSync(join(tmpdir(), "llmarket-sdk-"));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const chain = await startLocalChain();
  stops.push(chain.stop);
  const conn = await network.create({ network: "localhost", override: { url: chain.url } });
  stops.push(() => conn.close());
  const fx = await protocolFixture({ connection: conn, requesters: 0, validators: 0 });
  const deploymentPath = writeDeployment(fx.deployed.deployment, dir);

  const modelPath = join(dir, "tiny-q8_0.gguf");
  const made = await makeModel({ preset: "tiny", quant: "q8_0", seed: 1n, out: modelPath });
  const model = toModelId(made.sha256);

  const fund = async (who: Address, amount: bigint) => fx.wait(await fx.c.token.write.faucet([who, amount]));
  for (const i of [2, 3]) await fund(devAddress(i), parseUnits("30000", 18));
  for (const i of [5, 6, 7, 8, 9]) await fund(devAddress(i), parseUnits("1000", 18));

  const nodes = new Map<"A" | "B", RunningNode>();
  const flagsOf = new Map<"A" | "B", string[]>();

  const spawnAgent = async (name: "A" | "B", index: number, endpoint: string): Promise<RunningNode> => {
    const args = flagsOf.get(name)!;
    const listen = args[args.indexOf("--listen") + 1]!;
    const child = spawn(process.execPath, ["agents/cli/llmarket.ts", "node", "start", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true" },
    });
    stops.push(() => stopProcess(child));
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    const listenUrl = `http://${listen}`;
    await until(
      `node ${name} to answer /health`,
      async () => {
        if (child.exitCode !== null) throw new Error(`node ${name} exited ${child.exitCode}:\n${out}`);
        return (await fetch(`${listenUrl}/health`)).ok;
      },
      120_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${out.slice(-3000)}`);
    });
    const n: RunningNode = { name, index, address: devAddress(index), listenUrl, endpoint, child, log: () => out };
    nodes.set(name, n);
    return n;
  };

  const startNode = async (
    name: "A" | "B",
    index: number,
    price: bigint,
    cost: bigint,
    relayDelayMs?: number,
  ): Promise<{ node: RunningNode; relay?: SlowLink }> => {
    const port = await freePort();
    const keyFile = join(dir, `node${name}.key`);
    writeFileSync(keyFile, devKey(index) + "\n", { mode: 0o600 });
    let relay: SlowLink | undefined;
    if (relayDelayMs !== undefined) {
      relay = await startSlowLink(`http://127.0.0.1:${port}`, relayDelayMs);
      stops.push(relay.close);
    }
    const dataDir = join(dir, `node${name}`);
    mkdirSync(dataDir, { recursive: true });
    flagsOf.set(name, [
      ...["--rpc-url", chain.url, "--deployments", deploymentPath, "--key-file", keyFile],
      ...["--model", `${modelPath}:${price}`, "--threads", "1", "--context-size", "512"],
      ...["--max-tokens", String(NODE_MAX_TOKENS), "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`],
      ...["--poll-ms", "100", "--batch-max-age", "0", "--cost-per-token", String(cost)],
      ...["--register", "--register-model", "--stake", String(parseUnits("20000", 18)), "--log-level", "warn"],
      ...(relay ? ["--public-url", relay.url] : []),
    ]);
    const node = await spawnAgent(name, index, relay?.url ?? `http://127.0.0.1:${port}`);
    return { node, relay };
  };

  // One at a time: the first registers the model, the second finds it registered.
  const { node: a } = await startNode("A", 2, PRICE_A, COST_A);
  const { node: b, relay } = await startNode("B", 3, PRICE_B, COST_B, RELAY_DELAY_MS);

  // Each operator states its latency SLA on chain (the agent registers 1000 ms).
  for (const [n, sla, price] of [
    [a, SLA_A_MS, PRICE_A],
    [b, SLA_B_MS, PRICE_B],
  ] as const) {
    const w = fx.wallets[n.index]!;
    await fx.wait(
      await fx.c.nodes.write.setCapability(
        [
          {
            modelId: model,
            quantization: 7,
            maxBatch: 1,
            maxTokens: NODE_MAX_TOKENS,
            latencySlaMs: sla,
            pricePerToken: price,
          },
        ],
        { account: w.account },
      ),
    );
  }

  const ponder: PonderProcess = await startPonder({
    deploymentPath,
    rpcUrl: chain.url,
    port: await freePort(),
    schema: "llmarket_sdk",
    pgliteDir: join(dir, "pglite"),
    pollingMs: 100,
  });
  stops.push(() => ponder.stop());
  const indexed = async (): Promise<void> => ponder.waitForBlock(await fx.publicClient.getBlockNumber(), 60_000);
  await indexed();

  /** An SDK Market for dev account `index`, discovering through the indexer (or `flags`). */
  const market = (index: number, flags: Record<string, unknown> = {}): Promise<Market> =>
    createMarket(
      resolveConfig(
        {
          rpc: chain.url,
          deployment: deploymentPath,
          key: devKey(index),
          indexer: ponder.url,
          "state-dir": join(dir, `state-${index}`),
          ...flags,
        },
        {},
      ),
    );

  /** SIGKILL by pid. */
  const kill = (name: "A" | "B"): void => {
    const n = nodes.get(name)!;
    if (n.child.exitCode === null && n.child.signalCode === null) process.kill(n.child.pid!, "SIGKILL");
  };
  /** Starts a killed node again on the same data directory and port. */
  const restart = async (name: "A" | "B"): Promise<RunningNode> => {
    const n = nodes.get(name)!;
    if (n.child.exitCode === null && n.child.signalCode === null) await stopProcess(n.child);
    return spawnAgent(name, n.index, n.endpoint);
  };

  return {
    dir,
    chain,
    fx,
    deploymentPath,
    model,
    modelPath,
    ponder,
    relay: relay!,
    node: (name: "A" | "B"): RunningNode => nodes.get(name)!,
    a,
    b,
    market,
    kill,
    restart,
    indexed,
  };
}
export type MarketHarness = Awaited<ReturnType<typeof marketHarness>>;
