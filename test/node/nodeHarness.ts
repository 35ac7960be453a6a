/**
 * A real chain (`hardhat node`), the deployed protocol, a tiny generated model, funded requesters
 * and a staked validator, for the node agent tests. The node runs in process (NodeAgent.start) or
 * as a child process (`llmarket node start`) where a test needs kill -9.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { bytesToHex, parseEventLogs, parseUnits, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { writeDeployment } from "../../agents/lib/deployments.ts";
import { renderChat, type ChatMessage } from "../../agents/lib/chatTemplate.ts";
import { inputHash, type Ticket } from "../../agents/lib/encodings.ts";
import { buildTicket, signTicket, signVoucher } from "../../agents/lib/tickets.ts";
import { DEMO_PARAMS, deployProtocol, type DeployedProtocol } from "../../scripts/lib/deployProtocol.ts";
import { freePort, startLocalChain, type LocalChain } from "../../scripts/lib/localChain.ts";

export const MNEMONIC = "test test test test test test test test test test test junk";
export const NODE_PRICE = 1000n;

export function devKey(i: number): Hex {
  const acc = mnemonicToAccount(MNEMONIC, { addressIndex: i });
  return bytesToHex(acc.getHdKey().privateKey!);
}

export async function nodeHarness() {
  const chain: LocalChain = await startLocalChain();
  try {
    return await setUp(chain);
  } catch (e) {
    await chain.stop(); // never leave a chain process behind when set-up fails
    throw e;
  }
}

async function setUp(chain: LocalChain) {
  const dir = mkdtempSync(join(tmpdir(), "llmarket-node-"));
  const conn = await network.create({ network: "localhost", override: { url: chain.url } });
  const viem = conn.viem;
  const publicClient = await viem.getPublicClient();
  const testClient = await viem.getTestClient();
  const wallets = await viem.getWalletClients();
  const d: DeployedProtocol = await deployProtocol(viem, { params: { ...DEMO_PARAMS } });
  writeDeployment(d.deployment, dir);
  const deployments = join(dir, `${d.deployment.chainId}.json`);
  const a = d.addresses;
  const c = {
    token: await viem.getContractAt("TestToken", a.TestToken),
    staking: await viem.getContractAt("Staking", a.Staking),
    escrow: await viem.getContractAt("PairEscrow", a.PairEscrow),
    market: await viem.getContractAt("AuctionMarket", a.AuctionMarket),
    settlement: await viem.getContractAt("BatchSettlement", a.BatchSettlement),
    game: await viem.getContractAt("ChallengeGame", a.ChallengeGame),
  };
  const wait = async (hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return r;
  };
  const [, nodeWallet, validator, req1, req2, poor] = wallets;
  const node = nodeWallet!.account.address;
  const fund = async (who: Address, amount: bigint) => wait(await c.token.write.faucet([who, amount]));
  await fund(node, parseUnits("30000", 18));
  // Validator: staked and declared for any model (declared after the model id is known).
  await fund(validator!.account.address, parseUnits("6000", 18));
  await wait(await c.token.write.approve([a.Staking, parseUnits("5000", 18)], { account: validator!.account }));
  await wait(await c.staking.write.stake([parseUnits("5000", 18)], { account: validator!.account }));
  await wait(await c.token.write.approve([a.ChallengeGame, 2n ** 255n], { account: validator!.account }));
  for (const r of [req1!, req2!]) {
    await fund(r.account.address, parseUnits("100000", 18));
    await wait(await c.token.write.approve([a.PairEscrow, 2n ** 255n], { account: r.account }));
    await wait(await c.token.write.approve([a.AuctionMarket, 2n ** 255n], { account: r.account }));
    await wait(await c.escrow.write.deposit([node, parseUnits("50000", 18)], { account: r.account }));
  }
  const model = join(dir, "tiny.gguf");
  execFileSync(
    process.execPath,
    ["scripts/model-make.ts", "--preset", "tiny", "--quant", "q8_0", "--seed", "1", "--out", model],
    {
      stdio: "ignore",
    },
  );
  const keyFile = join(dir, "node.key");
  writeFileSync(keyFile, devKey(1) + "\n", { mode: 0o600 });
  const now = async (): Promise<bigint> => (await publicClient.getBlock()).timestamp;
  const advance = async (seconds: number): Promise<void> => {
    await testClient.increaseTime({ seconds });
    await testClient.mine({ blocks: 1 });
  };
  const escrowDomain = { chainId: d.deployment.chainId, verifyingContract: a.PairEscrow };
  const gameDomain = { chainId: d.deployment.chainId, verifyingContract: a.ChallengeGame };

  /** Flags for `llmarket node start`. */
  const flags = async (dataDir: string, extra: string[] = []): Promise<string[]> => [
    "--rpc-url",
    chain.url,
    "--deployments",
    deployments,
    "--key-file",
    keyFile,
    "--model",
    `${model}:${NODE_PRICE}`,
    "--threads",
    "1",
    "--context-size",
    "256",
    "--max-tokens",
    "64",
    "--data-dir",
    dataDir,
    "--listen",
    `127.0.0.1:${await freePort()}`,
    "--poll-ms",
    "100",
    "--batch-max-age",
    "0",
    "--register",
    "--register-model",
    "--stake",
    String(parseUnits("20000", 18)),
    "--log-level",
    "warn",
    ...extra,
  ];

  /** Spawns the agent as a child process; resolves with its URL when /health answers. */
  const spawnAgent = async (args: string[]): Promise<{ child: ChildProcess; url: string; log: () => string }> => {
    const listen = args[args.indexOf("--listen") + 1]!;
    const child = spawn(process.execPath, ["agents/cli/llmarket.ts", "node", "start", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true" },
    });
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    const url = `http://${listen}`;
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}:\n${out}`);
      const ok = await fetch(`${url}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return { child, url, log: () => out };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`agent did not start:\n${out}`);
  };

  const until = async <T>(
    what: string,
    fn: () => Promise<T | undefined | null | false>,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn().catch(() => undefined);
      if (v !== undefined && v !== null && v !== false) return v as T;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const sequences = new Map<Address, bigint>();
  /** A signed ticket and body for a completion request from `requester`. */
  const request = async (
    url: string,
    requester = req1!,
    o: {
      prompt?: string;
      messages?: ChatMessage[];
      maxTokens?: number;
      stream?: boolean;
      sequence?: bigint;
      expiry?: bigint;
      price?: bigint;
    } = {},
  ) => {
    const models = (await (await fetch(`${url}/v1/models`)).json()) as {
      data: { id: Hex; llmarket: { profileHash: Hex; pricePerToken: string } }[];
    };
    const m = models.data[0]!;
    const prompt = o.messages ? renderChat(o.messages) : (o.prompt ?? "Once upon a time");
    const maxTokens = o.maxTokens ?? 12;
    const addr = requester.account.address;
    const seq = o.sequence ?? (sequences.get(addr) ?? 0n) + 1n;
    if (o.sequence === undefined) sequences.set(addr, seq);
    const ticket: Ticket = buildTicket(
      {
        requester: addr,
        node,
        model: m.id,
        input: inputHash({ prompt, maxTokens, stop: [], seed: 0n }),
        maxTokens,
        pricePerToken: o.price ?? BigInt(m.llmarket.pricePerToken),
        sequence: seq,
        profile: m.llmarket.profileHash,
        ...(o.expiry === undefined ? {} : { expiry: o.expiry }),
      },
      { nowSeconds: await now(), lifetimeSeconds: 300n },
    );
    const signature = await signTicket(requester, ticket, escrowDomain);
    const body = {
      ...(o.messages ? { messages: o.messages } : { prompt }),
      max_tokens: maxTokens,
      stream: o.stream ?? false,
      llmarket: {
        ticket: JSON.parse(JSON.stringify(ticket, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))),
        signature,
      },
    };
    return { ticket, signature, body, profileHash: m.llmarket.profileHash, model: m.id };
  };

  const post = (url: string, path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  const voucher = async (url: string, requester: ProtocolWallet, cumulativeAmount: bigint, throughSequence: bigint) => {
    const v = { requester: requester.account.address, node, cumulativeAmount, throughSequence };
    const signature = await signVoucher(requester, v, escrowDomain);
    return post(url, "/v1/vouchers", {
      voucher: { ...v, cumulativeAmount: String(cumulativeAmount), throughSequence: String(throughSequence) },
      signature,
    });
  };

  const batchIdOf = (logs: Parameters<typeof parseEventLogs>[0]["logs"]) =>
    parseEventLogs({ abi: c.settlement.abi, logs, eventName: "BatchCommitted" })[0]?.args.batchId;

  return {
    dir,
    chain,
    conn,
    viem,
    publicClient,
    testClient,
    d,
    c,
    wait,
    node,
    nodeWallet: nodeWallet!,
    validator: validator!,
    req1: req1!,
    req2: req2!,
    poor: poor!,
    model,
    keyFile,
    deployments,
    now,
    advance,
    flags,
    spawnAgent,
    until,
    request,
    post,
    voucher,
    escrowDomain,
    gameDomain,
    batchIdOf,
  };
}

type ProtocolWallet = Awaited<
  ReturnType<Awaited<ReturnType<typeof network.create>>["viem"]["getWalletClients"]>
>[number];
export type NodeHarness = Awaited<ReturnType<typeof setUp>>;

/** Parses an SSE body into its JSON data events (without [DONE]). */
export function parseSse(text: string): Record<string, unknown>[] {
  return text
    .split("\n\n")
    .map((b) => b.trim())
    .filter((b) => b.startsWith("data: ") && b !== "data: [DONE]")
    .map((b) => JSON.parse(b.slice(6)) as Record<string, unknown>);
}
