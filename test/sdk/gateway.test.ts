/**
 * The gateway with the official `openai` client (streaming and not), the CLI commands as child
 * processes, and an auction end to end (the SDK posts, finalizes and verifies; a staked node
 * commits, reveals and delivers on the real chain and serves the output from a stand-in node API).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keccak256, parseUnits, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bidCommitment, outputHash } from "../../agents/lib/encodings.ts";
import { renderChat } from "../../agents/lib/chatTemplate.ts";
import { Auction, type JobView } from "../../agents/sdk/Auction.ts";
import { createMarket, resolveConfig } from "../../agents/sdk/config.ts";
import { startGateway, type RunningGateway } from "../../agents/sdk/gateway.ts";
import type { Market } from "../../agents/sdk/Market.ts";
import { chainHarness, devKey, MODEL, PRICE, PROFILE, type ChainHarness } from "./harness.ts";
import { fakeText, fakeTokens, startFakeNode, type FakeNode } from "./fakeNode.ts";

let h: ChainHarness;
let n1: FakeNode;
let n2: FakeNode;
let market: Market;
let gw: RunningGateway;
const KEY = devKey(8);
const requester = privateKeyToAccount(KEY).address;

const CLI = new URL("../../agents/cli/llmarket.ts", import.meta.url).pathname;
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        LLMARKET_RPC_URL: h.chain.url,
        LLMARKET_DEPLOYMENT: h.deploymentPath,
        LLMARKET_KEY: KEY,
        LLMARKET_STATE_DIR: join(h.dir, "state"),
        LLMARKET_CONFIG: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

beforeAll(async () => {
  h = await chainHarness();
  const opts = (i: number) => ({
    key: devKey(i),
    chainId: h.chainId,
    escrow: h.deployed.addresses.PairEscrow,
    game: h.deployed.addresses.ChallengeGame,
    modelId: MODEL,
    profileHash: PROFILE,
    pricePerToken: PRICE,
  });
  n1 = await startFakeNode(opts(1));
  n2 = await startFakeNode(opts(2));
  await h.registerNode(1, n1.url);
  await h.registerNode(2, n2.url);
  await h.fund(requester, parseUnits("1000", 18));
  market = await createMarket(
    resolveConfig(
      {
        rpc: h.chain.url,
        deployment: h.deploymentPath,
        key: KEY,
        node: [n1.url, n2.url],
        "state-dir": join(h.dir, "state"),
      },
      {},
    ),
  );
  await market.reserve(MODEL, parseUnits("2", 18), { count: 2 });
  gw = await startGateway({ market, defaultMaxTokens: 32 });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([n1, n2].filter(Boolean).map((n) => n.close()));
  await h?.cleanup();
});

describe("OpenAI-compatible gateway", () => {
  it("serves the official openai client: models, chat (plain and streaming), completions, errors", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused" });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(MODEL);

    const messages = [{ role: "user" as const, content: "say something" }];
    const expected = fakeTokens(renderChat(messages), 10).map(fakeText).join("");
    const chat = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10 });
    expect(chat.choices[0]!.message.content).toBe(expected);
    expect(chat.usage?.completion_tokens).toBe(10);

    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, stream: true });
    let text = "";
    let chunks = 0;
    let finish: string | null = null;
    for await (const ch of stream) {
      chunks++;
      text += ch.choices[0]?.delta?.content ?? "";
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(expected);
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe("length");

    const comp = await client.completions.create({ model: MODEL, prompt: "raw prompt", max_tokens: 6 });
    expect(comp.choices[0]!.text).toBe(fakeTokens("raw prompt", 6).map(fakeText).join(""));
    const compStream = await client.completions.create({
      model: MODEL,
      prompt: "raw prompt",
      max_tokens: 6,
      stream: true,
    });
    let ctext = "";
    for await (const ch of compStream) ctext += ch.choices[0]?.text ?? "";
    expect(ctext).toBe(comp.choices[0]!.text);

    const unknown = await client.chat.completions
      .create({ model: `0x${"cd".repeat(32)}`, messages, max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const tooBig = await client.chat.completions
      .create({ model: MODEL, messages: [], max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(OpenAI.BadRequestError);
    // Every answer was paid by voucher to the node that served it.
    expect(n1.vouchers.length + n2.vouchers.length).toBe(4);
  });

  it("returns 402 when the budget cap is reached", async () => {
    const capped = await createMarket(
      resolveConfig(
        {
          rpc: h.chain.url,
          deployment: h.deploymentPath,
          key: KEY,
          node: [n1.url],
          "state-dir": join(h.dir, "state"),
          "max-session": "0.01",
        },
        {},
      ),
    );
    const g = await startGateway({ market: capped, defaultMaxTokens: 32 });
    try {
      const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "unused", maxRetries: 0 });
      await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "a" }], max_tokens: 8 });
      const e = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: "user", content: "b" }], max_tokens: 8 })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect((e as Error).message).toMatch(/session cap/);
    } finally {
      await g.close();
    }
  });
});

describe("CLI", () => {
  it("ask (plain, streaming, --json), nodes, deposit, withdraw --status, errors", async () => {
    const nodeFlags = ["--node", n1.url];
    const plain = await cli(["ask", "hi there", "--model", MODEL, "--max-tokens", "5", ...nodeFlags]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trim()).toBe(
      fakeTokens(renderChat([{ role: "user", content: "hi there" }]), 5)
        .map(fakeText)
        .join("")
        .trim(),
    );
    const streamed = await cli(["ask", "hi there", "--model", MODEL, "--max-tokens", "5", "--stream", ...nodeFlags]);
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stdout.trim()).toBe(plain.stdout.trim());
    expect(streamed.stderr).toMatch(/receipt verified/);
    const json = await cli(["ask", "hi", "--model", MODEL, "--max-tokens", "3", "--raw", "--json", ...nodeFlags]);
    const r = JSON.parse(json.stdout);
    expect(r.tokens).toEqual(fakeTokens("hi", 3));
    expect(r.cost).toBe((3n * PRICE).toString());

    const nodes = await cli(["nodes", "--model", MODEL, "--json", "--node", n1.url, "--node", n2.url]);
    expect(JSON.parse(nodes.stdout).nodes).toHaveLength(2);
    const dep = await cli(["deposit", "--amount", "1.5", "--node-address", n2.address, "--json"]);
    expect(dep.code, dep.stderr).toBe(0);
    expect(JSON.parse(dep.stdout).deposited).toBe(parseUnits("1.5", 18).toString());
    const st = await cli(["withdraw", "--node-address", n2.address, "--status"]);
    expect(st.stdout).toMatch(/balance 3.5/);

    const noModel = await cli(["ask", "x", "--model", `0x${"ee".repeat(32)}`, ...nodeFlags]);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/error: .*serving it/);
    const noKey = await cli(["ask", "x", "--model", MODEL, ...nodeFlags, "--key", "0x12"]);
    expect(noKey.stderr).toMatch(/32-byte hex private key/);
    const bad = await cli(["deposit", "--bogus"]);
    expect(bad.code).toBe(2);
  });
});

describe("auction", () => {
  it("posts a job, finalizes it, and returns the winner's output verified against the on-chain delivery", async () => {
    const auction = new Auction(market);
    const nodeWallet = h.wallets[1]!;
    const posted = await auction.post({
      model: MODEL,
      prompt: "auction me",
      maxTokens: 6,
      reservePricePerToken: PRICE,
      commitSeconds: 30,
      revealSeconds: 30,
      deliverySeconds: 600,
    });
    expect(posted.escrow).toBeGreaterThanOrEqual(6n * PRICE);
    // The node bids, reveals and (after finalize by the SDK) delivers.
    const salt = keccak256(toHex("salt"));
    await h.wait(
      await h.c.market.write.commitBid(
        [posted.jobId, bidCommitment(posted.jobId, nodeWallet.account.address, PRICE / 2n, salt)],
        { account: nodeWallet.account },
      ),
    );
    await h.testClient.increaseTime({ seconds: 31 });
    await h.testClient.mine({ blocks: 1 });
    await h.wait(await h.c.market.write.revealBid([posted.jobId, PRICE / 2n, salt], { account: nodeWallet.account }));
    await h.testClient.increaseTime({ seconds: 31 });
    await h.testClient.mine({ blocks: 1 });
    const phases: string[] = [];
    const tokensOut = fakeTokens(posted.prompt, 6);
    const result = auction.awaitResult(posted.jobId, {
      pollMs: 100,
      onProgress: (j: JobView) => {
        phases.push(j.phase);
        if (j.phase === "Delivery") {
          const oh = outputHash(PROFILE, tokensOut);
          n1.jobs.set(posted.jobId.toString(), {
            prompt: posted.prompt,
            text: tokensOut.map(fakeText).join(""),
            tokens: tokensOut,
            outputHash: oh,
          });
          void h.c.market.write.deliver([posted.jobId, oh, tokensOut.length], { account: nodeWallet.account });
        }
      },
    });
    const r = await result;
    expect(phases).toContain("AwaitingFinalize");
    expect(r.winner.toLowerCase()).toBe(nodeWallet.account.address.toLowerCase());
    expect(r.tokens).toEqual(tokensOut);
    expect(r.pricePerToken).toBe(PRICE); // alone: paid the reserve (second price)
    const jobs = await auction.myJobs();
    expect(jobs.map((j) => j.jobId)).toContain(posted.jobId);

    // A winner serving an output that differs from its delivery is caught.
    n1.jobs.set(posted.jobId.toString(), {
      prompt: posted.prompt,
      text: "forged",
      tokens: [1, 2, 3, 4, 5, 6],
      outputHash: outputHash(PROFILE, [1, 2, 3, 4, 5, 6]),
    });
    await expect(auction.verifiedOutput(posted.jobId)).rejects.toThrow(/does not match its on-chain delivery/);
  });
});
