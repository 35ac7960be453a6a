/**
 * The SDK and the gateway against the real node agent (`llmarket node start`, llama.cpp on a tiny
 * generated model, its own processes) on a real chain: two agents, direct requests verified and
 * vouchered, the official openai client through the gateway, and fail-over when the first node is
 * killed with SIGKILL during a stream.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUnits, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createMarket, resolveConfig } from "../../agents/sdk/config.ts";
import { startGateway } from "../../agents/sdk/gateway.ts";
import type { Market, StreamEvent } from "../../agents/sdk/Market.ts";
import { devKey, nodeHarness } from "../node/nodeHarness.ts";
import type { ChildProcess } from "node:child_process";

type H = Awaited<ReturnType<typeof nodeHarness>>;
let h: H;
let a: { child: ChildProcess; url: string; log: () => string };
let b: { child: ChildProcess; url: string; log: () => string };
let market: Market;
let modelId: Hex;
const KEY = devKey(3); // the harness's req1: funded, escrow with node 1

beforeAll(async () => {
  h = await nodeHarness();
  a = await h.spawnAgent(await h.flags(join(h.dir, "a")));
  const keyB = devKey(7);
  const addrB = privateKeyToAccount(keyB).address;
  await h.wait(await h.c.token.write.faucet([addrB, parseUnits("30000", 18)]));
  const keyFileB = join(h.dir, "b.key");
  writeFileSync(keyFileB, keyB + "\n", { mode: 0o600 });
  const flagsB = (await h.flags(join(h.dir, "b"))).map((f) => (f === h.keyFile ? keyFileB : f));
  b = await h.spawnAgent(flagsB);
  market = await createMarket(
    resolveConfig(
      { rpc: h.chain.url, deployment: h.deployments, key: KEY, node: [a.url, b.url], "state-dir": join(h.dir, "sdk") },
      {},
    ),
  );
  const models = (await (await fetch(`${a.url}/v1/models`)).json()) as { data: { llmarket: { modelId: Hex } }[] };
  modelId = models.data[0]!.llmarket.modelId;
  await market.reserve(modelId, parseUnits("10", 18), { count: 2 });
}, 240_000);

afterAll(async () => {
  for (const p of [a, b]) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
  await h?.conn.close();
  await h?.chain.stop();
});

describe("SDK against the real node agent", () => {
  it("direct request: verified output and receipt, voucher accepted by the node", async () => {
    const r = await market.complete({ model: modelId, messages: [{ role: "user", content: "Hello" }], maxTokens: 8 });
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.voucher.accepted).toBe(true);
    expect(market.evidence.all(r.node)).toHaveLength(1);
  });

  it("gateway with the official openai client, streaming and not", async () => {
    const gw = await startGateway({ market, defaultMaxTokens: 16 });
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused" });
      const plain = await client.chat.completions.create({
        model: modelId,
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 8,
      });
      let streamed = "";
      for await (const ch of await client.chat.completions.create({
        model: modelId,
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 8,
        stream: true,
      })) {
        streamed += ch.choices[0]?.delta?.content ?? "";
      }
      expect(streamed).toBe(plain.choices[0]!.message.content); // greedy profile: the same answer
    } finally {
      await gw.close();
    }
  });

  it("fails over to the second agent when the first is killed with SIGKILL mid-stream", async () => {
    const cands = await market.discovery.candidates(modelId);
    const first = cands.find((c) => c.endpoint === a.url)!;
    const second = cands.find((c) => c.endpoint === b.url)!;
    const s = market.stream({ model: modelId, prompt: "Once upon a time", maxTokens: 64, candidates: [first, second] });
    const events: StreamEvent[] = [];
    let text = "";
    for await (const e of s) {
      events.push(e);
      if (e.type === "text") {
        text += e.text;
        if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill("SIGKILL");
      }
    }
    const r = await s.result;
    expect(text).toBe(r.text);
    // Killed on its first token; only when the whole answer beat the signal did node A finish.
    if (r.node === first.address)
      console.warn("node A finished before SIGKILL landed; fail-over not exercised in this run");
    else {
      expect(events.some((e) => e.type === "failover")).toBe(true);
      expect(market.state.pair(first.address).pending).toEqual([]);
    }
  });
});
