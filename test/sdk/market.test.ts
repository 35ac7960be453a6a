/**
 * The requester SDK against a real chain (hardhat node, full protocol deployed) and stand-in node
 * agents (test/sdk/fakeNode.ts: the node HTTP API with real tickets, receipts and vouchers; one of
 * them in its own process so it can be killed with SIGKILL mid-stream). Direct requests, fail-over,
 * verification, budget and escrow errors, restarts of the state file, withdrawal thaw.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUnits, recoverAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createMarket, resolveConfig } from "../../agents/sdk/config.ts";
import {
  AllCandidatesFailedError,
  BudgetExceededError,
  InsufficientEscrowError,
  NoCandidateError,
} from "../../agents/sdk/errors.ts";
import type { Market, StreamEvent } from "../../agents/sdk/Market.ts";
import { chainHarness, devKey, MODEL, PRICE, PROFILE, type ChainHarness } from "./harness.ts";
import { fakeText, fakeTokens, startFakeNode, type FakeNode } from "./fakeNode.ts";
import { renderChat } from "../../agents/lib/chatTemplate.ts";

let h: ChainHarness;
let good: FakeNode; // account 1
let backup: FakeNode; // account 2
let liar: FakeNode; // account 4, wrong output hash
let poor: FakeNode; // account 5, no escrow
let killable: ChildProcess; // account 3, own process, slow tokens
let killableUrl = "";
const REQUESTER_KEY = devKey(9);
const requester = privateKeyToAccount(REQUESTER_KEY).address;

function nodeOpts(index: number) {
  return {
    key: devKey(index),
    chainId: h.chainId,
    escrow: h.deployed.addresses.PairEscrow,
    game: h.deployed.addresses.ChallengeGame,
    modelId: MODEL,
    profileHash: PROFILE,
    pricePerToken: PRICE,
  };
}

async function spawnFakeNode(index: number, extra: object): Promise<{ child: ChildProcess; url: string }> {
  const o = { ...nodeOpts(index), pricePerToken: PRICE.toString(), ...extra };
  const child = spawn(process.execPath, [new URL("./fakeNodeMain.ts", import.meta.url).pathname, JSON.stringify(o)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      const m = /READY (\S+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`fake node exited ${code}`)));
  });
  return { child, url };
}

function market(nodes: string[], extra: Record<string, string> = {}, stateDir = join(h.dir, "state")): Promise<Market> {
  return createMarket(
    resolveConfig(
      {
        rpc: h.chain.url,
        deployment: h.deploymentPath,
        key: REQUESTER_KEY,
        node: nodes,
        "state-dir": stateDir,
        config: undefined,
        ...extra,
      },
      {},
    ),
  );
}

beforeAll(async () => {
  h = await chainHarness();
  good = await startFakeNode(nodeOpts(1));
  backup = await startFakeNode(nodeOpts(2));
  liar = await startFakeNode({ ...nodeOpts(4), wrongOutput: true });
  poor = await startFakeNode(nodeOpts(5));
  const k = await spawnFakeNode(3, { tokenDelayMs: 150 });
  killable = k.child;
  killableUrl = k.url;
  await h.registerNode(1, good.url);
  await h.registerNode(2, backup.url);
  await h.registerNode(3, killableUrl);
  await h.registerNode(4, liar.url);
  await h.registerNode(5, poor.url);
  await h.fund(requester, parseUnits("1000", 18));
});

afterAll(async () => {
  if (killable?.exitCode === null && killable.signalCode === null && killable.pid)
    process.kill(killable.pid, "SIGKILL");
  await Promise.all([good, backup, liar, poor].filter(Boolean).map((n) => n.close()));
  await h?.cleanup();
});

describe("requester SDK on a real chain", () => {
  it("reserves escrow with the top candidates, then serves a verified direct request and pays by voucher", async () => {
    const m = await market([good.url, backup.url, killableUrl, liar.url]);
    const reserved = await m.reserve(MODEL, parseUnits("5", 18), { count: 4 });
    expect(reserved.map((r) => r.deposited)).toEqual(Array(4).fill(parseUnits("5", 18)));
    const again = await m.reserve(MODEL, parseUnits("5", 18), { count: 4 });
    expect(again.every((r) => r.deposited === 0n)).toBe(true); // already topped up: no transaction

    const messages = [{ role: "user" as const, content: "hello market" }];
    const r = await m.complete({
      model: MODEL,
      messages,
      maxTokens: 8,
      candidates: [(await m.discovery.candidates(MODEL)).find((c) => c.endpoint === good.url)!],
    });
    const tokens = fakeTokens(renderChat(messages), 8);
    expect(r.tokens).toEqual(tokens);
    expect(r.text).toBe(tokens.map(fakeText).join(""));
    expect(r.cost).toBe(8n * PRICE);
    expect(r.voucher.accepted).toBe(true);
    expect(good.vouchers.at(-1)).toMatchObject({
      requester,
      cumulativeAmount: 8n * PRICE,
      throughSequence: r.ticket.sequence,
    });
    // Receipts are kept as evidence.
    const ev = m.evidence.all(good.address);
    expect(ev).toHaveLength(1);
    expect(ev[0]!.receipt).toEqual(r.llmarket.receipt);
    // The voucher is signed under the escrow's own EIP-712 domain (what redemption checks).
    const last = m.state.pair(good.address).lastVoucher!;
    const digest = await h.c.escrow.read.voucherDigest([last.voucher]);
    expect(await recoverAddress({ hash: digest, signature: last.signature })).toBe(requester);
    const pair = await m.pair(good.address);
    expect(pair.owed).toBe(8n * PRICE); // vouchered, not yet redeemed: not available for new tickets
    expect(pair.available).toBe(parseUnits("5", 18) - 8n * PRICE);
  });

  it("never reuses a sequence across restarts (state file)", async () => {
    const m1 = await market([good.url]);
    const a = await m1.complete({ model: MODEL, prompt: "one", maxTokens: 4 });
    const m2 = await market([good.url]); // a new process on the same state file
    const b = await m2.complete({ model: MODEL, prompt: "two", maxTokens: 4 });
    expect(b.ticket.sequence).toBe(a.ticket.sequence + 1n);
    expect(b.voucher.cumulativeAmount).toBe(a.voucher.cumulativeAmount + 4n * PRICE);
    const state = JSON.parse(readFileSync(m2.state.path, "utf8"));
    expect(state.pairs[good.address.toLowerCase()].nextSequence).toBe((b.ticket.sequence + 1n).toString());
  });

  it("fails over when the streaming node is killed with SIGKILL mid-stream; the caller sees one clean answer and the dead node is not paid", async () => {
    const m = await market([killableUrl, backup.url]);
    const cands = await m.discovery.candidates(MODEL);
    const ordered = [cands.find((c) => c.endpoint === killableUrl)!, cands.find((c) => c.endpoint === backup.url)!];
    const prompt = "a long story please";
    const s = m.stream({ model: MODEL, prompt, maxTokens: 12, candidates: ordered });
    const events: StreamEvent[] = [];
    let text = "";
    for await (const e of s) {
      events.push(e);
      if (e.type === "text") {
        text += e.text;
        // Kill the first node after its second token.
        if (events.filter((x) => x.type === "text").length === 2 && killable.exitCode === null)
          process.kill(killable.pid!, "SIGKILL");
      }
    }
    const r = await s.result;
    const expected = fakeTokens(prompt, 12).map(fakeText).join("");
    expect(text).toBe(expected); // no repeated prefix
    expect(r.text).toBe(expected);
    expect(r.node).toBe(backup.address);
    expect(events.some((e) => e.type === "failover")).toBe(true);
    expect(events.some((e) => e.type === "reset")).toBe(false);
    expect(r.attempts.map((a) => a.ok)).toEqual([false, true]);
    // The killed node gave no receipt: no voucher increase for its pair, its ticket is covered at 0.
    const killedAddr = ordered[0]!.address;
    const st = m.state.pair(killedAddr);
    expect(st.cumulative).toBe(0n);
    expect(st.pending).toEqual([]);
    expect(st.through).toBe(1n);
    expect(m.evidence.all(killedAddr)).toHaveLength(0);
  });

  it("rejects an answer whose output hash does not match, fails over, and does not pay the liar", async () => {
    const m = await market([liar.url, good.url]);
    const cands = await m.discovery.candidates(MODEL);
    const ordered = [cands.find((c) => c.endpoint === liar.url)!, cands.find((c) => c.endpoint === good.url)!];
    const r = await m.complete({ model: MODEL, prompt: "check me", maxTokens: 4, candidates: ordered });
    expect(r.node).toBe(good.address);
    expect(r.attempts[0]!.error).toMatch(/not paid/);
    expect(liar.vouchers).toHaveLength(0);
    expect(m.state.pair(liar.address).cumulative).toBe(0n);
  });

  it("budget caps: per request and per session", async () => {
    const perReq = await market([good.url], { "max-request": "0.003" });
    await expect(perReq.complete({ model: MODEL, prompt: "x", maxTokens: 4 })).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
    const perSession = await market([good.url], { "max-session": "0.007" });
    await perSession.complete({ model: MODEL, prompt: "x", maxTokens: 4 }); // 0.004
    const err = await perSession.complete({ model: MODEL, prompt: "y", maxTokens: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect((err as Error).message).toMatch(/session cap/);
    expect(perSession.budget.spent).toBe(4n * PRICE);
  });

  it("insufficient escrow, unknown model and unreachable nodes give clear errors", async () => {
    const m = await market([poor.url]);
    const e1 = await m.complete({ model: MODEL, prompt: "x", maxTokens: 4 }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(InsufficientEscrowError);
    expect((e1 as Error).message).toMatch(/deposit more/);
    const e2 = await m.complete({ model: `0x${"ab".repeat(32)}`, prompt: "x", maxTokens: 4 }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(NoCandidateError);
    const dead = await market(["http://127.0.0.1:9"]);
    await expect(dead.complete({ model: MODEL, prompt: "x", maxTokens: 4 })).rejects.toBeInstanceOf(NoCandidateError);
    // A node that refuses (price raised between discovery and request) -> all failed, with reasons.
    const cands = await m.discovery.candidates(MODEL);
    const tooCheap = cands.map((c) => ({ ...c, endpoint: good.url, address: good.address, pricePerToken: 1n }));
    const e3 = await m
      .complete({ model: MODEL, prompt: "x", maxTokens: 4, candidates: tooCheap })
      .catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(AllCandidatesFailedError);
    expect((e3 as Error).message).toMatch(/402/);
  });

  it("withdraws: thaw, refused before the thaw period, completed after", async () => {
    const m = await market([good.url]);
    const before = await m.pair(backup.address as Address);
    const { amount, endsAt } = await m.requestWithdraw(backup.address, parseUnits("1", 18));
    expect(amount).toBe(parseUnits("1", 18));
    await expect(m.completeWithdraw(backup.address)).rejects.toThrow(/EscrowThawNotOver/);
    await h.testClient.increaseTime({ seconds: Number(endsAt - BigInt(Math.floor(Date.now() / 1000))) + 3700 });
    await h.testClient.mine({ blocks: 1 });
    const bal0 = await m.tokenBalance();
    const done = await m.completeWithdraw(backup.address);
    expect(done.amount).toBe(parseUnits("1", 18));
    expect(await m.tokenBalance()).toBe(bal0 + parseUnits("1", 18));
    expect((await m.pair(backup.address)).balance).toBe(before.balance - parseUnits("1", 18));
  });
});
