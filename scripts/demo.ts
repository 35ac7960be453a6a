/**
 * `npm run demo`: the whole market on one machine. Starts a local chain (`hardhat node`),
 * deploys the protocol with short demo windows, generates the demo model, starts the indexer,
 * three node agents (one with the fault switch on), five validators and an OpenAI-compatible
 * gateway, sends requester traffic (streamed direct requests through the SDK and the gateway, and
 * auction jobs), waits until batches settle and the cheating node is slashed, prints a summary
 * and exits 0. `--keep` leaves everything running and prints the URLs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import OpenAI from "openai";
import { formatUnits, parseEventLogs, parseUnits, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { ZERO32, modelId as toModelId } from "../agents/lib/encodings.ts";
import { writeDeployment } from "../agents/lib/deployments.ts";
import { makeModel } from "../agents/runtime/modelMaker.ts";
import { createMarket, resolveConfig } from "../agents/sdk/config.ts";
import { Auction } from "../agents/sdk/Auction.ts";
import { DEMO_PARAMS, deployProtocol } from "./lib/deployProtocol.ts";
import { freePort, startLocalChain, stopProcess } from "./lib/localChain.ts";

const { values } = parseArgs({
  options: {
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    preset: { type: "string", default: "small" },
    requests: { type: "string", default: "9" },
    auctions: { type: "string", default: "2" },
    "max-tokens": { type: "string", default: "24" },
    timeout: { type: "string", default: "280" },
    "data-dir": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run demo [-- options]

Runs the whole market locally and exits 0 once batches have settled and the cheating node has
been slashed. Progress is printed throughout; logs of every process go to <data-dir>/logs.

  --keep               leave everything running and print the URLs (Ctrl-C stops it all)
  --json               print the summary as JSON (the end-to-end test reads it)
  --preset <p>         model preset: small (~134M, default) or tiny
  --requests <n>       streamed direct requests (default 9, spread over the three nodes)
  --auctions <n>       auction jobs (default 2)
  --max-tokens <n>     tokens per request (default 24)
  --timeout <s>        give up after this many seconds (default 280)
  --data-dir <dir>     where models, keys, stores and logs go (default .data/demo-<time>)`);
  process.exit(0);
}

const ROOT = new URL("..", import.meta.url).pathname;
const CLI = join(ROOT, "agents/cli/llmarket.ts");
const MNEMONIC = "test test test test test test test test test test test junk"; // Hardhat's dev accounts
const t0 = Date.now();
const deadline = t0 + Number(values.timeout) * 1000;
const dataDir = values["data-dir"] ?? join(ROOT, ".data", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
const logDir = join(dataDir, "logs");
mkdirSync(logDir, { recursive: true });
const say = (msg: string): void => {
  if (!values.json) console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
  else console.error(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
};

const children: { name: string; child: ChildProcess }[] = [];
let stopChain: (() => Promise<void>) | null = null;
async function stopAll(): Promise<void> {
  for (const { child } of [...children].reverse()) await stopProcess(child, 5000).catch(() => {});
  if (stopChain) await stopChain().catch(() => {});
  stopChain = null;
}
process.on("SIGINT", () => {
  void stopAll().then(() => process.exit(130));
});

/** Spawns `node <args>` with output to logs/<name>.log; resolves when `ready` answers true. */
async function start(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<boolean>,
): Promise<ChildProcess> {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true", NODE_NO_WARNINGS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  children.push({ name, child });
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode}; see ${join(logDir, `${name}.log`)}`);
    if (await ready().catch(() => false)) return child;
    if (Date.now() > until)
      throw new Error(`${name} did not become ready in 120 s; see ${join(logDir, `${name}.log`)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
const httpOk = (url: string) => async (): Promise<boolean> =>
  (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

try {
  // ---- chain and contracts
  say("starting a local chain (hardhat node on 127.0.0.1)");
  const chain = await startLocalChain();
  stopChain = chain.stop;
  const conn = await network.create({ network: "localhost", override: { url: chain.url } });
  const viem = conn.viem;
  const pub = await viem.getPublicClient();
  const test = await viem.getTestClient();
  await test.request({ method: "evm_setIntervalMining" as never, params: [1000] as never }); // committees count blocks
  say("deploying the protocol (11 contracts, demo windows of seconds)");
  const { deployment, addresses } = await deployProtocol(viem, { params: DEMO_PARAMS });
  const deploymentsFile = writeDeployment(deployment, join(dataDir, "deployments"));
  const token = await viem.getContractAt("TestToken", addresses.TestToken);
  const models = await viem.getContractAt("ModelRegistry", addresses.ModelRegistry);
  const settlement = await viem.getContractAt("BatchSettlement", addresses.BatchSettlement);
  const wait = async (hash: Hex) => pub.waitForTransactionReceipt({ hash });

  // ---- the demo model
  say(`generating the ${values.preset} model (deterministic GGUF, Q8_0)`);
  const modelPath = join(dataDir, `${values.preset}-q8_0.gguf`);
  const made = await makeModel({ preset: values.preset as "small", quant: "q8_0", seed: 1n, out: modelPath });
  const model = toModelId(made.sha256);
  await wait(
    await models.write.registerModel([
      model,
      `file://${modelPath}`,
      {
        family: "llama",
        parameterCount: BigInt(made.parameters),
        quantization: 7,
        contextLength: 2048,
        minMemoryMb: 512,
        defaultProfileHash: ZERO32,
      },
      parseUnits("0.0000001", 18),
    ]),
  );
  say(
    `model ${model.slice(0, 18)}… registered (${(made.bytes / 2 ** 20).toFixed(0)} MiB, ${(made.parameters / 1e6).toFixed(0)}M parameters)`,
  );

  // ---- keys (Hardhat's well-known development accounts; local chain only)
  const keyOf = (i: number): Hex => {
    const k = mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey!;
    return `0x${Buffer.from(k).toString("hex")}`;
  };
  const keyFile = (name: string, i: number): string => {
    const p = join(dataDir, "keys", `${name}.key`);
    mkdirSync(join(dataDir, "keys"), { recursive: true });
    writeFileSync(p, keyOf(i), { mode: 0o600 });
    return p;
  };
  const addr = (i: number): Address => mnemonicToAccount(MNEMONIC, { addressIndex: i }).address;
  for (const i of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    await wait(await token.write.faucet([addr(i), parseUnits("100000", 18)]));

  // ---- indexer
  const indexerPort = await freePort();
  say("starting the indexer (Ponder on embedded PGlite)");
  await start(
    "indexer",
    [
      "indexer/start.ts",
      "--deployment",
      deploymentsFile,
      "--rpc",
      chain.url,
      "--port",
      String(indexerPort),
      "--pglite-dir",
      join(dataDir, "pglite"),
      "--quiet",
    ],
    {},
    httpOk(`http://127.0.0.1:${indexerPort}/ready`),
  );
  const indexerUrl = `http://127.0.0.1:${indexerPort}`;

  // ---- three node agents, the third one cheating
  const price = parseUnits("0.00001", 18);
  const nodes: { name: string; address: Address; url: string; cheat: boolean }[] = [];
  for (const [k, cheat] of [false, false, true].entries()) {
    const name = `node${k + 1}${cheat ? "-cheater" : ""}`;
    const port = await freePort();
    say(`starting ${name} on 127.0.0.1:${port}${cheat ? " with --fault wrong-output:1" : ""}`);
    await start(
      name,
      [
        CLI,
        "node",
        "start",
        "--rpc-url",
        chain.url,
        "--deployments",
        deploymentsFile,
        "--key-file",
        keyFile(name, k + 1),
        "--model",
        `${modelPath}:${price}`,
        "--threads",
        "1",
        "--context-size",
        "512",
        "--data-dir",
        join(dataDir, name),
        "--listen",
        `127.0.0.1:${port}`,
        "--register",
        "--batch-max-age",
        "8",
        "--poll-ms",
        "300",
        // A cost per token makes auction bids meaningful (the default 0 bids the floor, 1 wei).
        "--cost-per-token",
        String((price * BigInt(2 + k)) / 4n),
        ...(cheat ? ["--fault", "wrong-output:1"] : []),
      ],
      {},
      httpOk(`http://127.0.0.1:${port}/health`),
    );
    nodes.push({ name, address: addr(k + 1), url: `http://127.0.0.1:${port}`, cheat });
  }

  // ---- five validators
  for (let v = 0; v < 5; v++) {
    const port = await freePort();
    const name = `validator${v + 1}`;
    say(`starting ${name}`);
    await start(
      name,
      [
        CLI,
        "validator",
        "start",
        "--rpc-url",
        chain.url,
        "--deployments",
        deploymentsFile,
        "--key-file",
        keyFile(name, 4 + v),
        "--model",
        modelPath,
        "--data-dir",
        join(dataDir, name),
        "--listen",
        `127.0.0.1:${port}`,
        "--declare",
        "--sample-p",
        "0.3",
        "--poll-ms",
        "300",
      ],
      {},
      httpOk(`http://127.0.0.1:${port}/health`),
    );
  }

  // ---- requesters: the SDK (one market per node, so every node gets work), the gateway, auctions
  const sdkCfg = (i: number, nodeUrls: string[], state: string) =>
    resolveConfig(
      { rpc: chain.url, deployment: deploymentsFile, key: keyOf(i), node: nodeUrls, "state-dir": join(dataDir, state) },
      {},
    );
  const markets = [];
  for (const n of nodes) {
    const m = await createMarket(sdkCfg(9, [n.url], "requester-direct"));
    await m.reserve(model, parseUnits("5", 18), { count: 1 });
    markets.push(m);
  }
  say(`requester ${addr(9).slice(0, 10)}… reserved 5 LLMT of escrow with each node`);
  const gatewayPort = await freePort();
  const gwMarket = await createMarket(
    sdkCfg(
      10,
      nodes.map((n) => n.url),
      "requester-gateway",
    ),
  );
  await gwMarket.reserve(model, parseUnits("5", 18), { count: 3 });
  await start(
    "gateway",
    [
      CLI,
      "gateway",
      "--port",
      String(gatewayPort),
      "--rpc",
      chain.url,
      "--deployment",
      deploymentsFile,
      "--key",
      keyOf(10),
      ...nodes.flatMap((n) => ["--node", n.url]),
      "--state-dir",
      join(dataDir, "requester-gateway"),
      "--model",
      model,
    ],
    {},
    httpOk(`http://127.0.0.1:${gatewayPort}/v1/models`),
  );
  say(`gateway on http://127.0.0.1:${gatewayPort}/v1`);

  const maxTokens = Number(values["max-tokens"]);
  const ttft: number[] = [];
  const total: number[] = [];
  let tokens = 0;
  const perNode = new Map<string, number>();
  const prompts = [
    "Tell me about llamas.",
    "What is a Merkle tree?",
    "Why do validators re-execute?",
    "Explain sealed bids.",
    "Hello, market!",
  ];
  const nReq = Number(values.requests);
  say(`sending ${nReq} streamed direct requests through the SDK`);
  for (let i = 0; i < nReq; i++) {
    const m = markets[i % markets.length]!;
    const start0 = Date.now();
    let first = 0;
    const s = m.stream({ model, messages: [{ role: "user", content: prompts[i % prompts.length]! }], maxTokens });
    for await (const e of s) if (e.type === "text" && first === 0) first = Date.now() - start0;
    const r = await s.result;
    ttft.push(first);
    total.push(Date.now() - start0);
    tokens += r.tokens.length;
    perNode.set(r.node.toLowerCase(), (perNode.get(r.node.toLowerCase()) ?? 0) + 1);
  }
  say(`sending 3 streamed requests through the gateway with the official openai client`);
  const openai = new OpenAI({ baseURL: `http://127.0.0.1:${gatewayPort}/v1`, apiKey: "demo" });
  for (let i = 0; i < 3; i++) {
    const start0 = Date.now();
    let first = 0;
    const stream = await openai.chat.completions.create({
      model,
      messages: [{ role: "user", content: prompts[i]! }],
      max_tokens: maxTokens,
      stream: true,
    });
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content && first === 0) first = Date.now() - start0;
    ttft.push(first);
    total.push(Date.now() - start0);
  }
  const nAuctions = Number(values.auctions);
  say(`posting ${nAuctions} auction jobs (sealed bids, second price)`);
  const auctionMarket = await createMarket(
    sdkCfg(
      11,
      nodes.map((n) => n.url),
      "requester-auction",
    ),
  );
  const auction = new Auction(auctionMarket);
  const jobs = [];
  for (let i = 0; i < nAuctions; i++) {
    jobs.push(
      await auction.post({
        model,
        prompt: `Auction job ${i}: write a haiku about GPUs.`,
        maxTokens,
        reservePricePerToken: price * 2n,
        commitSeconds: 30,
        revealSeconds: 30,
        deliverySeconds: 120,
      }),
    );
  }
  const auctionResults = await Promise.all(
    jobs.map((j) => auction.awaitResult(j.jobId, { pollMs: 1000, timeoutMs: Math.max(10_000, deadline - Date.now()) })),
  );
  for (const r of auctionResults) tokens += r.tokens.length;
  say(
    `auctions delivered: ${auctionResults.map((r) => `job ${r.jobId} to ${r.winner.slice(0, 8)}… at ${formatUnits(r.pricePerToken, 18)}`).join("; ")}`,
  );

  // ---- wait for settlement and the slash
  const cheater = nodes.find((n) => n.cheat)!;
  say("waiting for batches to settle and the cheating node to be slashed (validators re-execute; a committee votes)");
  const fromBlock = BigInt(deployment.deployBlock);
  let settled = new Set<string>();
  let slashed: { node: Address; reason: number; amount: bigint; batchId: bigint }[] = [];
  let lastNote = 0;
  for (;;) {
    const commits = await pub.getContractEvents({
      address: addresses.BatchSettlement,
      abi: settlement.abi,
      eventName: "BatchCommitted",
      fromBlock,
    });
    const chunks = await pub.getContractEvents({
      address: addresses.BatchSettlement,
      abi: settlement.abi,
      eventName: "ChunkSettled",
      fromBlock,
    });
    const voids = await pub.getContractEvents({
      address: addresses.BatchSettlement,
      abi: settlement.abi,
      eventName: "BatchVoided",
      fromBlock,
    });
    const nodeOfBatch = new Map(commits.map((e) => [e.args.batchId!, e.args.node!.toLowerCase()]));
    settled = new Set(chunks.filter((e) => e.args.paid! > 0n).map((e) => nodeOfBatch.get(e.args.batchId!) ?? ""));
    slashed = voids.map((e) => ({
      node: e.args.node!,
      reason: Number(e.args.reason),
      amount: e.args.slashed!,
      batchId: e.args.batchId!,
    }));
    const honestSettled = nodes.filter((n) => !n.cheat && settled.has(n.address.toLowerCase())).length;
    const cheaterSlashed = slashed.some((s) => s.node.toLowerCase() === cheater.address.toLowerCase());
    if (honestSettled === 2 && cheaterSlashed) break;
    if (Date.now() > deadline)
      throw new Error(`timed out: ${honestSettled}/2 honest nodes settled, cheater slashed: ${cheaterSlashed}`);
    if (Date.now() - lastNote > 15_000) {
      say(`… ${commits.length} batches committed, ${chunks.length} chunks settled, ${voids.length} batches voided`);
      lastNote = Date.now();
    }
    await new Promise((r) => setTimeout(r, 2000));
  }

  // ---- summary
  const commits = await pub.getContractEvents({
    address: addresses.BatchSettlement,
    abi: settlement.abi,
    eventName: "BatchCommitted",
    fromBlock,
  });
  const chunks = await pub.getContractEvents({
    address: addresses.BatchSettlement,
    abi: settlement.abi,
    eventName: "ChunkSettled",
    fromBlock,
  });
  const nodeOfBatch = new Map(commits.map((e) => [e.args.batchId!, e.args.node!.toLowerCase()]));
  let settleGas = 0n;
  let settledLeaves = 0;
  const leavesOfBatch = new Map(commits.map((e) => [e.args.batchId!, Number(e.args.leafCount)]));
  for (const e of [...commits, ...chunks])
    settleGas += (await pub.getTransactionReceipt({ hash: e.transactionHash! })).gasUsed;
  for (const e of chunks) settledLeaves += leavesOfBatch.get(e.args.batchId!) ?? 0;
  const earnings = new Map<string, bigint>();
  for (const e of chunks) {
    const n = nodeOfBatch.get(e.args.batchId!) ?? "";
    earnings.set(n, (earnings.get(n) ?? 0n) + e.args.toNode!);
  }
  const summary = {
    seconds: Math.round((Date.now() - t0) / 1000),
    model: { id: model, preset: values.preset, parameters: made.parameters },
    jobs: {
      direct: nReq + 3,
      auction: auctionResults.length,
      perNode: Object.fromEntries(nodes.map((n) => [n.name, perNode.get(n.address.toLowerCase()) ?? 0])),
    },
    tokens,
    batches: { committed: commits.length, chunksSettled: chunks.length, leavesSettled: settledLeaves },
    settlementGasPerJob: settledLeaves ? Number(settleGas) / settledLeaves : null,
    latencyMs: { ttftP50: pct(ttft, 50), ttftP95: pct(ttft, 95), totalP50: pct(total, 50), totalP95: pct(total, 95) },
    slashes: slashed.map((s) => ({
      node: nodes.find((n) => n.address.toLowerCase() === s.node.toLowerCase())?.name ?? s.node,
      batchId: s.batchId.toString(),
      reason: ["silent", "guilty", "equivocation", "ticket mismatch"][s.reason] ?? String(s.reason),
      slashed: formatUnits(s.amount, 18),
    })),
    earnings: Object.fromEntries(
      nodes.map((n) => [n.name, formatUnits(earnings.get(n.address.toLowerCase()) ?? 0n, 18)]),
    ),
    urls: {
      chain: chain.url,
      indexer: indexerUrl,
      gateway: `http://127.0.0.1:${gatewayPort}/v1`,
      nodes: Object.fromEntries(nodes.map((n) => [n.name, n.url])),
    },
    dataDir,
  };
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log("\n==== LLMarket demo summary ====");
    console.log(
      `jobs: ${summary.jobs.direct} direct (streamed; per node ${JSON.stringify(summary.jobs.perNode)}), ${summary.jobs.auction} auction`,
    );
    console.log(`tokens generated: ${summary.tokens}`);
    console.log(
      `batches: ${summary.batches.committed} committed, ${summary.batches.chunksSettled} chunks settled (${summary.batches.leavesSettled} leaves)`,
    );
    console.log(
      `settlement gas per job: ${summary.settlementGasPerJob?.toFixed(0)} (commit + settle transactions / leaves settled)`,
    );
    console.log(
      `latency: time to first token p50 ${summary.latencyMs.ttftP50} ms, p95 ${summary.latencyMs.ttftP95} ms; whole request p50 ${summary.latencyMs.totalP50} ms, p95 ${summary.latencyMs.totalP95} ms`,
    );
    for (const s of summary.slashes)
      console.log(`slash: ${s.node} lost ${s.slashed} LLMT (batch ${s.batchId}, ${s.reason})`);
    for (const [n, e] of Object.entries(summary.earnings)) console.log(`earnings: ${n} ${e} LLMT`);
    console.log(`finished in ${summary.seconds} s; logs in ${logDir}`);
  }
  if (values.keep) {
    console.log(
      `\nStill running (Ctrl-C stops everything):\n  chain    ${chain.url}\n  indexer  ${indexerUrl}/graphql\n  gateway  ${summary.urls.gateway}`,
    );
    for (const n of nodes) console.log(`  ${n.name.padEnd(14)} ${n.url}`);
    await new Promise(() => {});
  }
  await stopAll();
  process.exit(0);
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`logs: ${logDir}`);
  await stopAll();
  process.exit(1);
}
