/**
 * The three ways to buy, against the real thing (test/sdk/marketHarness.ts: hardhat node, two
 * real node agents, the Ponder indexer): the OpenAI-compatible gateway with the official `openai`
 * client (in process and as `llmarket gateway`), the CLI commands as child processes, and auctions
 * end to end: the SDK (and `llmarket ask --auction`) posts a job, the node agents commit and
 * reveal sealed bids on their own, the winner runs the job and delivers, and the requester checks
 * the output against the on-chain delivery. The test only moves the chain's clock forward once
 * both bids are in (and again once both are revealed), instead of waiting for the phases.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUnits } from "viem";
import { outputHash } from "../../agents/lib/encodings.ts";
import { Auction, type JobView } from "../../agents/sdk/Auction.ts";
import { startGateway, type RunningGateway } from "../../agents/sdk/gateway.ts";
import type { Market } from "../../agents/sdk/Market.ts";
import { stopProcess } from "../../scripts/lib/localChain.ts";
import { COST_A, COST_B, devKey, marketHarness, settled, until, type MarketHarness } from "./marketHarness.ts";

let h: MarketHarness;
let market: Market;
let gw: RunningGateway;
const REQUESTER = 5;
const children: ChildProcess[] = [];

const CLI = new URL("../../agents/cli/llmarket.ts", import.meta.url).pathname;
const cliEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  LLMARKET_RPC_URL: h.chain.url,
  LLMARKET_DEPLOYMENT: h.deploymentPath,
  LLMARKET_KEY: devKey(REQUESTER),
  LLMARKET_INDEXER_URL: h.ponder.url,
  LLMARKET_STATE_DIR: join(h.dir, `state-${REQUESTER}`),
  LLMARKET_CONFIG: "",
  LLMARKET_NODES: "",
});
type CliRun = {
  done: Promise<{ code: number; stdout: string; stderr: string }>;
  child: ChildProcess;
  out: () => string;
};
function cli(args: string[]): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })),
  );
  return { done, child, out: () => stdout };
}
const run = (args: string[]) => cli(args).done;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Moves the chain's clock past the commit phase once both node agents have committed a bid, and
 * past the reveal phase once both have revealed; returns when the job leaves the reveal phase.
 */
async function driveAuction(jobId: bigint): Promise<void> {
  const c = h.fx.c.market;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [job, phase] = await Promise.all([c.read.getJob([jobId]), c.read.phase([jobId])]);
    const now = (await h.fx.publicClient.getBlock()).timestamp;
    if (phase === 1 && job.bidCount === 2) await h.fx.advance(BigInt(job.commitEnd) - now + 1n);
    else if (phase === 2) {
      const [[, , sa], [, , sb]] = await Promise.all([
        c.read.bidOf([jobId, h.a.address]),
        c.read.bidOf([jobId, h.b.address]),
      ]);
      if (sa === 2 && sb === 2) await h.fx.advance(BigInt(job.revealEnd) - now + 1n);
    } else if (phase >= 3) return;
    if (Date.now() > deadline) throw new Error(`auction ${jobId} stuck in phase ${phase} with ${job.bidCount} bids`);
    await sleep(150);
  }
}

beforeAll(async () => {
  h = await marketHarness();
  market = await h.market(REQUESTER);
  await market.reserve(h.model, parseUnits("2", 18), { count: 2 });
  gw = await startGateway({ market, defaultMaxTokens: 32 });
}, 300_000);

afterAll(async () => {
  for (const c of children) await stopProcess(c).catch(() => {});
  await gw?.close();
  await h?.cleanup();
});

describe("OpenAI-compatible gateway", () => {
  it("serves the official openai client: models, chat and completions, streaming and not, errors", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const receiptsBefore = market.evidence.all(h.a.address).length + market.evidence.all(h.b.address).length;
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(h.model);

    const messages = [{ role: "user" as const, content: "say something" }];
    const chat = await client.chat.completions.create({ model: h.model, messages, max_tokens: 12 });
    const text = chat.choices[0]!.message.content!;
    expect(text.length).toBeGreaterThan(0);
    expect(chat.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chat.usage?.completion_tokens).toBeLessThanOrEqual(12);

    // Another input (a repeated one is answered from the node's result cache in one piece).
    const stream = await client.chat.completions.create({
      model: h.model,
      messages: [{ role: "user", content: "say something else" }],
      max_tokens: 12,
      stream: true,
    });
    let streamed = "";
    let chunks = 0;
    let finish: string | null = null;
    for await (const ch of stream) {
      chunks++;
      streamed += ch.choices[0]?.delta?.content ?? "";
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(finish === "length" || finish === "stop").toBe(true);
    // The same input through the SDK directly gives the same verified answer.
    const again = await market.complete({
      model: h.model,
      messages: [{ role: "user", content: "say something else" }],
      maxTokens: 12,
    });
    expect(settled(streamed)).toBe(settled(again.text));

    const comp = await client.completions.create({ model: h.model, prompt: "raw prompt", max_tokens: 6 });
    const compStream = await client.completions.create({
      model: h.model,
      prompt: "raw prompt",
      max_tokens: 6,
      stream: true,
    });
    let ctext = "";
    for await (const ch of compStream) ctext += ch.choices[0]?.text ?? "";
    expect(settled(ctext)).toBe(settled(comp.choices[0]!.text));

    const unknown = await client.chat.completions
      .create({ model: `0x${"cd".repeat(32)}`, messages, max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const empty = await client.chat.completions.create({ model: h.model, messages: [], max_tokens: 4 }).catch((e) => e);
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    // Every answer was verified and paid by voucher; its receipt kept.
    const receiptsAfter = market.evidence.all(h.a.address).length + market.evidence.all(h.b.address).length;
    expect(receiptsAfter - receiptsBefore).toBe(5);
  });

  it("returns 402 with the reason when the budget cap is reached", async () => {
    const capped = await h.market(REQUESTER, { "max-session": "0.012" });
    const g = await startGateway({ market: capped, defaultMaxTokens: 32 });
    try {
      const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "unused", maxRetries: 0 });
      await client.chat.completions.create({
        model: h.model,
        messages: [{ role: "user", content: "a" }],
        max_tokens: 8,
      });
      const e = await client.chat.completions
        .create({ model: h.model, messages: [{ role: "user", content: "b" }], max_tokens: 32 })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect((e as Error).message).toMatch(/session cap/);
    } finally {
      await g.close();
    }
  });

  it("`llmarket gateway` as its own process, found by the indexer, stopped by pid", async () => {
    const g = cli(["gateway", "--port", "0", "--json", "--max-tokens", "16"]);
    const base = await until("the gateway to print its URL", async () => {
      if (g.child.exitCode !== null) throw new Error(`gateway exited ${g.child.exitCode}`);
      return /"url": "(http:\/\/127\.0\.0\.1:\d+)"/.exec(g.out())?.[1];
    });
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
    let text = "";
    for await (const ch of await client.chat.completions.create({
      model: h.model,
      messages: [{ role: "user", content: "through the gateway process" }],
      max_tokens: 8,
      stream: true,
    }))
      text += ch.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    process.kill(g.child.pid!, "SIGTERM");
    const r = await g.done;
    expect(r.code).toBe(0);
  });
});

describe("CLI against the indexer and the node agents", () => {
  it("nodes, deposit, ask (plain, streamed, --json), withdraw --status, jobs, and clear errors", async () => {
    const models = await run(["nodes", "--json"]);
    expect(models.code, models.stderr).toBe(0);
    expect(JSON.parse(models.stdout).models.map((m: { id: string }) => m.id)).toContain(h.model);
    const nodes = await run(["nodes", "--model", h.model, "--json"]);
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(JSON.parse(nodes.stdout).nodes.map((n: { address: string }) => n.address)).toEqual([
      h.a.address,
      h.b.address,
    ]);
    const human = await run(["nodes", "--model", h.model]);
    expect(human.stdout).toMatch(/rank\s+node/);
    expect(human.stdout).toContain(h.a.address);

    const dep = await run(["deposit", "--amount", "0.5", "--node-address", h.b.address, "--json"]);
    expect(dep.code, dep.stderr).toBe(0);
    expect(JSON.parse(dep.stdout).deposited).toBe(parseUnits("0.5", 18).toString());

    const plain = await run(["ask", "hi there", "--model", h.model, "--max-tokens", "8", "--no-stream"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/tokens from 0x[0-9a-fA-F]{40}, cost .*receipt verified/);
    const json = await run(["ask", "hi there", "--model", h.model, "--max-tokens", "8", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r.node).toBe(h.a.address);
    expect(settled(r.text)).toBe(settled(plain.stdout.replace(/\n$/, "")));
    expect(BigInt(r.cost)).toBe(BigInt(r.tokens.length) * BigInt(r.ticket.pricePerToken));
    const streamed = await run(["ask", "hello stream", "--model", h.model, "--max-tokens", "8"]); // streams by default
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stderr).toMatch(/→ node 0x/);
    expect(streamed.stderr).toMatch(/receipt verified, voucher accepted/);
    const cheap = await run(["ask", "hi", "--model", h.model, "--max-tokens", "4", "--max-price", "0.0007", "--json"]);
    expect(JSON.parse(cheap.stdout).node).toBe(h.b.address); // A's 0.001 is above the cap

    const st = await run(["withdraw", "--node-address", h.b.address, "--status"]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/balance 2\.5/);
    const jobs = await run(["jobs"]);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.stdout).toMatch(/no auction jobs posted by this account/); // the auctions come later

    const noModel = await run(["ask", "x", "--model", `0x${"ee".repeat(32)}`]);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/^error: Unknown model/);
    const overCap = await run(["ask", "x", "--model", h.model, "--max-tokens", "8", "--max-request", "0.001"]);
    expect(overCap.code).toBe(1);
    expect(overCap.stderr).toMatch(/per-request cap/);
    const badKey = await run(["ask", "x", "--model", h.model, "--key", "0x12"]);
    expect(badKey.stderr).toMatch(/32-byte hex private key/);
    const bad = await run(["deposit", "--bogus"]);
    expect(bad.code).toBe(2);
  });
});

describe("auctions with real node agents bidding", () => {
  it("the SDK posts a job, both agents bid sealed, the cheaper one wins at the second price, runs it and delivers; the output is verified against the chain", async () => {
    const auction = new Auction(market);
    const posted = await auction.post({
      model: h.model,
      prompt: "An auction about llamas",
      maxTokens: 16,
      reservePricePerToken: parseUnits("0.001", 18),
      commitSeconds: 30,
      revealSeconds: 30,
      deliverySeconds: 600,
    });
    const phases: string[] = [];
    const [result] = await Promise.all([
      auction.awaitResult(posted.jobId, { pollMs: 200, onProgress: (j: JobView) => phases.push(j.phase) }),
      driveAuction(posted.jobId),
    ]);
    expect(phases).toEqual(expect.arrayContaining(["Commit", "Reveal", "Done"]));
    // B's cost is lower: it wins, and is paid A's bid (cost x 1.2 with the default 20% margin).
    expect(result.winner).toBe(h.b.address);
    const reveals = await h.fx.c.market.getEvents.BidRevealed(
      { jobId: posted.jobId },
      { fromBlock: 0n, toBlock: "latest" },
    );
    const bids = new Map(reveals.map((e) => [e.args.bidder!.toLowerCase(), e.args.price!]));
    expect(bids.get(h.a.address.toLowerCase())).toBe((COST_A * 12n) / 10n);
    expect(bids.get(h.b.address.toLowerCase())).toBe((COST_B * 12n) / 10n);
    expect(result.pricePerToken).toBe((COST_A * 12n) / 10n);
    const [hash, count] = await h.fx.c.market.read.deliveryOf([posted.jobId]);
    expect(result.tokens.length).toBe(count);
    const profile = (await market.discovery.candidates(h.model)).find((c) => c.address === h.b.address)!.profileHash;
    expect(outputHash(profile, result.tokens)).toBe(hash);
    expect(result.text.length).toBeGreaterThan(0);
    expect((await auction.myJobs()).map((j) => j.jobId)).toContain(posted.jobId);
    const shown = await run(["jobs", "--job", String(posted.jobId), "--output", "--json"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout).output.tokens).toEqual(result.tokens);
  });

  it("`llmarket ask --auction` waits with progress and prints the verified answer", async () => {
    const jobsBefore = (await new Auction(market).myJobs()).map((j) => j.jobId);
    const p = cli([
      "ask",
      "An auction about llamas",
      "--raw",
      "--model",
      h.model,
      "--auction",
      "--max-price",
      "0.001",
      "--max-tokens",
      "16",
      "--commit",
      "30",
      "--reveal",
      "30",
    ]);
    const jobId = await until("the CLI to post its job", async () => {
      const mine = await new Auction(market).myJobs();
      return mine.map((j) => j.jobId).find((id) => !jobsBefore.includes(id));
    });
    await driveAuction(jobId);
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`posted job ${jobId}`));
    expect(r.stderr).toMatch(/waiting for bids/);
    expect(r.stderr).toMatch(/output verified against the chain/);
    expect(r.stderr).toContain(`delivered by ${h.b.address}`);
    // Same input, same profile: the same answer as the SDK's auction.
    const first = await new Auction(market).verifiedOutput(jobsBefore.at(-1)!);
    expect(r.stdout).toBe(first.text + "\n");
  });
});

describe("gateway fault tolerance", () => {
  it("a node killed with SIGKILL mid-stream is replaced: the openai client reads one clean answer", async () => {
    const g = await startGateway({ market, defaultMaxTokens: 256 });
    try {
      const messages = [{ role: "user" as const, content: "A long story through the gateway" }];
      // B's answer alone, asked by another requester (B's result cache is per requester).
      const other = await h.market(9);
      await other.deposit(h.b.address, parseUnits("1", 18));
      const bOnly = (await other.discovery.candidates(h.model)).filter((c) => c.address === h.b.address);
      const reference = await other.complete({ model: h.model, messages, maxTokens: 200, candidates: bOnly });
      expect(reference.tokens.length).toBeGreaterThan(50);
      const receiptsOfB = market.evidence.all(h.b.address).length;

      const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: h.model, messages, max_tokens: 200, stream: true });
      let text = "";
      let pieces = 0;
      for await (const ch of stream) {
        const t = ch.choices[0]?.delta?.content ?? "";
        if (t) pieces++;
        text += t;
        if (pieces === 3) h.kill("A"); // A is the first candidate (fastest round trip)
      }
      expect(h.node("A").child.signalCode).toBe("SIGKILL");
      expect(settled(text)).toBe(settled(reference.text));
      expect(market.evidence.all(h.b.address)).toHaveLength(receiptsOfB + 1); // B served and was paid
      expect(market.state.pair(h.a.address).pending).toEqual([]); // A's ticket resolved unpaid
    } finally {
      await g.close();
    }
  });
});
