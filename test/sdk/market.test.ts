/**
 * The requester SDK against the real thing (test/sdk/marketHarness.ts): a hardhat node with the
 * protocol, two real node agents (llama.cpp on a tiny generated model, own processes) and the
 * Ponder indexer the SDK discovers them through. Discovery and its hard constraints, escrow
 * reservation, verified direct requests paid by voucher, the receipt checked again against the
 * committed leaf, sequences across restarts, budget caps, insufficient escrow, unknown models,
 * fail-over when the streaming node is killed with SIGKILL, and the withdrawal thaw.
 *
 * Stand-ins only where a real node agent cannot produce the situation: a node whose receipt names
 * an output hash that does not match the tokens it returned (test/sdk/fakeNode.ts; the real agent
 * hashes the tokens it streams), and a node whose committed leaf contradicts its receipt (the
 * fixture's node through test/utils/batchDriver.ts; the real agent commits what it receipted).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUnits, recoverAddress, type Address } from "viem";
import { NodeClient } from "../../agents/sdk/NodeClient.ts";
import { auditBatch, contradicts, proveEquivocation } from "../../agents/sdk/equivocation.ts";
import { outputHash } from "../../agents/lib/encodings.ts";
import { signReceipt } from "../../agents/lib/tickets.ts";
import { BatchDriver, PROFILE as BATCH_PROFILE } from "../utils/batchDriver.ts";
import {
  AllCandidatesFailedError,
  BudgetExceededError,
  InsufficientEscrowError,
  NoCandidateError,
} from "../../agents/sdk/errors.ts";
import type { Candidate } from "../../agents/sdk/Discovery.ts";
import type { StreamEvent } from "../../agents/sdk/Market.ts";
import { MODEL as UNSERVED_MODEL } from "../utils/protocolFixture.ts";
import { startFakeNode, type FakeNode } from "./fakeNode.ts";
import {
  devAddress,
  devKey,
  marketHarness,
  PRICE_A,
  PRICE_B,
  RELAY_DELAY_MS,
  settled,
  until,
  type MarketHarness,
} from "./marketHarness.ts";

let h: MarketHarness;
const lower = (a: string): string => a.toLowerCase();
const PROMPT = [{ role: "user" as const, content: "Tell me a long story about llamas." }];

beforeAll(async () => {
  h = await marketHarness();
}, 300_000);

afterAll(async () => {
  await h?.cleanup();
});

describe("discovery through the running indexer", () => {
  it("takes the indexer's ranked list and reorders it by measured round trip", async () => {
    const res = await fetch(`${h.ponder.url}/nodes/ranked?model=${h.model}`);
    const ranked = (await res.json()) as { nodes: { address: string; endpoint: string; score: number }[] };
    // B is cheaper: the indexer ranks it first.
    expect(ranked.nodes.map((n) => n.address)).toEqual([lower(h.b.address), lower(h.a.address)]);
    expect(ranked.nodes[0]!.score).toBeGreaterThan(ranked.nodes[1]!.score);

    const m = await h.market(5);
    const cands = await m.discovery.candidates(h.model);
    // B sits behind a 300 ms link: measured, it drops behind A.
    expect(cands.map((c) => c.address)).toEqual([h.a.address, h.b.address]);
    const [a, b] = cands as [Candidate, Candidate];
    expect(b.rttMs).toBeGreaterThanOrEqual(RELAY_DELAY_MS);
    expect(a.rttMs).toBeLessThan(RELAY_DELAY_MS);
    expect(a.score).toBe(ranked.nodes[1]!.score);
    expect(b.score).toBe(ranked.nodes[0]!.score);
    expect(a.endpoint).toBe(h.a.endpoint);
    expect(b.endpoint).toBe(h.relay.url);
    // What each node says about the model joins the ranked entry.
    expect(a.pricePerToken).toBe(PRICE_A);
    expect(b.pricePerToken).toBe(PRICE_B);
    expect(a.profileHash).toBe(b.profileHash); // same model, same determinism profile
  });

  it("honours the hard constraints: max price, min reputation, latency SLA advertised and measured", async () => {
    const m = await h.market(5);
    const addrs = async (c: Parameters<typeof m.discovery.candidates>[1]) =>
      (await m.discovery.candidates(h.model, c)).map((x) => x.address);

    expect(await addrs({ maxPricePerToken: PRICE_B })).toEqual([h.b.address]);
    const tooCheap = await m.discovery.candidates(h.model, { maxPricePerToken: PRICE_B - 1n }).catch((e) => e);
    expect(tooCheap).toBeInstanceOf(NoCandidateError);
    expect((tooCheap as Error).message).toMatch(/relax --max-price/);

    // Both are newcomers (reputation 0.4 until their first settled batch).
    expect(await addrs({ minReputation: 0.4 })).toEqual([h.a.address, h.b.address]);
    await expect(m.discovery.candidates(h.model, { minReputation: 0.45 })).rejects.toBeInstanceOf(NoCandidateError);

    // SLA 100 ms: the indexer drops B, which advertises 200 ms.
    expect(await addrs({ maxLatencyMs: 100 })).toEqual([h.a.address]);
    // SLA 250 ms: B's advertised 200 ms passes the indexer, its measured ~300 ms does not pass the SDK.
    const viaIndexer = (await (
      await fetch(`${h.ponder.url}/nodes/ranked?model=${h.model}&maxLatencyMs=250`)
    ).json()) as { nodes: { address: string }[] };
    expect(viaIndexer.nodes.map((n) => n.address)).toContain(lower(h.b.address));
    expect(await addrs({ maxLatencyMs: 250 })).toEqual([h.a.address]);
    const tooFast = await m.discovery.candidates(h.model, { maxLatencyMs: 10 }).catch((e) => e);
    expect(tooFast).toBeInstanceOf(NoCandidateError);
  });

  it("unknown model, and a model whose only node is unreachable: clear errors", async () => {
    const m = await h.market(5);
    const unknown = await m.complete({ model: `0x${"ab".repeat(32)}`, prompt: "x", maxTokens: 4 }).catch((e) => e);
    expect(unknown).toBeInstanceOf(NoCandidateError);
    expect((unknown as Error).message).toMatch(/Unknown model/);
    // The fixture's model is registered, offered only by a node at an unreachable endpoint.
    const unserved = await m.complete({ model: UNSERVED_MODEL, prompt: "x", maxTokens: 4 }).catch((e) => e);
    expect(unserved).toBeInstanceOf(NoCandidateError);
    expect((unserved as Error).message).toMatch(/reachable/);
  });
});

describe("direct requests to real node agents", () => {
  it("reserves escrow with the top candidates, then a verified request paid by voucher; the receipt is kept and matches the committed leaf", async () => {
    const m = await h.market(5);
    const reserved = await m.reserve(h.model, parseUnits("2", 18), { count: 2 });
    expect(reserved.map((r) => r.node)).toEqual([h.a.address, h.b.address]);
    expect(reserved.map((r) => r.deposited)).toEqual([parseUnits("2", 18), parseUnits("2", 18)]);
    const again = await m.reserve(h.model, parseUnits("2", 18), { count: 2 });
    expect(again.every((r) => r.deposited === 0n)).toBe(true); // topped up already: no transaction

    const r = await m.complete({ model: h.model, messages: PROMPT, maxTokens: 16 });
    expect(r.node).toBe(h.a.address);
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.llmarket.receipt.tokens).toBe(r.tokens.length);
    expect(r.cost).toBe(BigInt(r.tokens.length) * PRICE_A);
    expect(r.voucher).toMatchObject({ accepted: true, cumulativeAmount: r.cost, throughSequence: r.ticket.sequence });
    expect(m.evidence.all(h.a.address).map((e) => e.receipt)).toEqual([r.llmarket.receipt]);
    // The voucher is signed under the escrow's own EIP-712 domain (what redemption checks).
    const last = m.state.pair(h.a.address).lastVoucher!;
    const digest = await h.fx.c.escrow.read.voucherDigest([last.voucher]);
    expect(await recoverAddress({ hash: digest, signature: last.signature })).toBe(devAddress(5));
    const pair = await m.pair(h.a.address);
    expect(pair.owed + pair.paid).toBe(r.cost);

    // Streamed (another input: the node would answer a repeated one from its result cache at once).
    const s = m.stream({ model: h.model, prompt: "Once upon a time", maxTokens: 32 });
    const events: StreamEvent[] = [];
    for await (const e of s) events.push(e);
    const rs = await s.result;
    expect(events[0]).toMatchObject({ type: "node", node: h.a.address });
    const pieces = events.filter((e) => e.type === "text");
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.map((e) => e.text).join("")).toBe(rs.text);
    expect(pieces.flatMap((e) => e.tokenIds).length).toBeLessThanOrEqual(rs.tokens.length);
    expect(rs.voucher.cumulativeAmount).toBe(r.cost + rs.cost);

    // Later: node A commits its batch (batch-max-age 0); the leaf must say what the receipt says.
    const { batchId, leaf } = await until(
      "node A to commit the leaf of the first ticket",
      async () => {
        const commits = await h.fx.c.settlement.getEvents.BatchCommitted(
          { node: h.a.address },
          { fromBlock: 0n, toBlock: "latest" },
        );
        for (const ev of commits) {
          const l = await new NodeClient(h.a.listenUrl).leaf(ev.args.batchId!, 0);
          for (let i = 0; i < l.header.leafCount; i++) {
            const x = i === 0 ? l : await new NodeClient(h.a.listenUrl).leaf(ev.args.batchId!, i);
            if (lower(x.leaf.ref) === lower(r.ticketId)) return { batchId: ev.args.batchId!, leaf: x.leaf };
          }
        }
        return undefined;
      },
      60_000,
      300,
    );
    expect(leaf.output).toBe(r.llmarket.outputHash);
    expect(leaf.tokens).toBe(r.tokens.length);
    expect(await auditBatch(h.a.listenUrl, batchId, m.evidence)).toEqual([]); // no equivocation
  });

  it("never reuses a sequence across restarts (state file)", async () => {
    const m1 = await h.market(5);
    const cands = await m1.discovery.candidates(h.model);
    const x = await m1.complete({ model: h.model, prompt: "one", maxTokens: 4, candidates: cands.slice(0, 1) });
    const m2 = await h.market(5); // a new process on the same state file
    const y = await m2.complete({ model: h.model, prompt: "two", maxTokens: 4, candidates: cands.slice(0, 1) });
    expect(y.ticket.sequence).toBe(x.ticket.sequence + 1n);
    expect(y.voucher.cumulativeAmount).toBe(x.voucher.cumulativeAmount + y.cost);
    expect(y.voucher.accepted).toBe(true); // the node accepted the higher sequence
  });

  it("budget caps: a per-request cap moves on to a cheaper node or fails, a per-session cap stops the session", async () => {
    const funder = await h.market(6);
    await funder.reserve(h.model, parseUnits("1", 18), { count: 2 });
    // 8 tokens: A may cost 0.008, B 0.0048.
    const cheapOnly = await h.market(6, { "max-request": "0.005" });
    const r = await cheapOnly.complete({ model: h.model, prompt: "cap", maxTokens: 8 });
    expect(r.node).toBe(h.b.address);
    expect(r.attempts.map((a) => a.ok)).toEqual([false, true]);
    expect(r.attempts[0]!.error).toMatch(/per-request cap/);
    const none = await h.market(6, { "max-request": "0.004" });
    const e1 = await none.complete({ model: h.model, prompt: "cap", maxTokens: 8 }).catch((e) => e);
    expect(e1).toBeInstanceOf(BudgetExceededError);
    expect((e1 as Error).message).toMatch(/per-request cap of 4000000000000000/);

    const session = await h.market(6, { "max-session": "0.005" });
    const first = await session.complete({ model: h.model, prompt: "session", maxTokens: 4 }); // A, <= 0.004
    expect(first.node).toBe(h.a.address);
    // Now A (0.004) and B (0.0024) would both break the 0.005 session cap.
    const e2 = await session.complete({ model: h.model, prompt: "session 2", maxTokens: 4 }).catch((e) => e);
    expect(e2).toBeInstanceOf(BudgetExceededError);
    expect((e2 as Error).message).toMatch(/session cap/);
    expect(session.budget.spent).toBe(first.cost);
    expect(session.budget.held).toBe(0n);
  });

  it("insufficient escrow: a clear error, and nothing signed", async () => {
    const m = await h.market(7); // funded, but no escrow with anyone
    const e1 = await m.complete({ model: h.model, prompt: "x", maxTokens: 8 }).catch((e) => e);
    expect(e1).toBeInstanceOf(InsufficientEscrowError);
    expect((e1 as Error).message).toMatch(/deposit more/);
    // Less than the worst case (8 x 0.001) with A, nothing with B.
    await m.deposit(h.a.address, parseUnits("0.005", 18));
    const e2 = await m.complete({ model: h.model, prompt: "x", maxTokens: 8 }).catch((e) => e);
    expect(e2).toBeInstanceOf(InsufficientEscrowError);
    expect((e2 as InsufficientEscrowError).details).toMatchObject({ available: parseUnits("0.005", 18) });
    expect(m.state.pair(h.a.address).cumulative).toBe(0n);
    expect(m.evidence.all(h.a.address)).toEqual([]);
    // 4 tokens fit.
    const ok = await m.complete({ model: h.model, prompt: "x", maxTokens: 4 });
    expect(ok.node).toBe(h.a.address);
  });

  it("rejects an answer whose receipt does not match its tokens, fails over, and does not pay (stand-in node)", async () => {
    const m = await h.market(8);
    await m.reserve(h.model, parseUnits("1", 18), { count: 1 });
    const cands = await m.discovery.candidates(h.model);
    const a = cands.find((c) => c.address === h.a.address)!;
    const liar: FakeNode = await startFakeNode({
      key: devKey(4),
      chainId: h.fx.chainId,
      escrow: h.fx.deployed.addresses.PairEscrow,
      game: h.fx.deployed.addresses.ChallengeGame,
      modelId: h.model,
      profileHash: a.profileHash,
      pricePerToken: PRICE_A,
      wrongOutput: true,
    });
    try {
      await m.deposit(liar.address, parseUnits("1", 18));
      const liarCand: Candidate = { ...a, address: liar.address as Address, endpoint: liar.url, signer: undefined };
      const r = await m.complete({ model: h.model, prompt: "check me", maxTokens: 4, candidates: [liarCand, a] });
      expect(r.node).toBe(h.a.address);
      expect(r.attempts[0]).toMatchObject({ node: liar.address, ok: false });
      expect(r.attempts[0]!.error).toMatch(/not paid/);
      expect(liar.vouchers).toHaveLength(0);
      expect(m.state.pair(liar.address).cumulative).toBe(0n);
      expect(m.evidence.all(liar.address)).toHaveLength(0);
    } finally {
      await liar.close();
    }
  });

  it("fails over when the streaming node is killed with SIGKILL mid-stream: one clean answer, no transaction, the dead node unpaid", async () => {
    const m = await h.market(5);
    const cands = await m.discovery.candidates(h.model);
    expect(cands[0]!.address).toBe(h.a.address);
    const maxTokens = 200;
    // What B answers alone is what the caller must see (same profile: A would have said the same).
    // Asked by another requester, so that B generates afresh in the fail-over (its result cache is per requester).
    const other = await h.market(9);
    await other.deposit(h.b.address, parseUnits("1", 18));
    const reference = await other.complete({ model: h.model, messages: PROMPT, maxTokens, candidates: [cands[1]!] });
    expect(reference.tokens.length).toBeGreaterThan(50); // long enough to be killed in the middle
    const before = m.state.pair(h.a.address);
    const receiptsOfA = m.evidence.all(h.a.address).length;
    const nonce = await h.fx.publicClient.getTransactionCount({ address: devAddress(5) });

    const s = m.stream({ model: h.model, messages: PROMPT, maxTokens, candidates: cands });
    const events: StreamEvent[] = [];
    let text = "";
    for await (const e of s) {
      events.push(e);
      if (e.type === "text") {
        text += e.text;
        if (events.filter((x) => x.type === "text").length === 3) h.kill("A");
      }
    }
    const r = await s.result;
    expect(h.node("A").child.signalCode).toBe("SIGKILL");
    expect(events.map((e) => e.type)).toContain("failover");
    expect(events.some((e) => e.type === "reset")).toBe(false);
    expect(r.node).toBe(h.b.address);
    expect(r.attempts.map((a) => [a.node, a.ok])).toEqual([
      [h.a.address, false],
      [h.b.address, true],
    ]);
    expect(r.tokens).toEqual(reference.tokens); // B's answer, verified
    expect(text).toBe(r.text); // what the caller saw: no repeated prefix, nothing lost
    expect(settled(text)).toBe(settled(reference.text));
    // No escrow transaction was needed: B's escrow was reserved beforehand.
    expect(await h.fx.publicClient.getTransactionCount({ address: devAddress(5) })).toBe(nonce);
    // A gave no receipt: its ticket is resolved at 0 and covered by the next voucher.
    const after = m.state.pair(h.a.address);
    expect(after.cumulative).toBe(before.cumulative);
    expect(after.pending).toEqual([]);
    expect(m.evidence.all(h.a.address)).toHaveLength(receiptsOfA);

    // A comes back on its durable store; the next request to it uses a fresh sequence and pays only receipts.
    await h.restart("A");
    const next = await m.complete({ model: h.model, prompt: "back", maxTokens: 4, candidates: [cands[0]!] });
    expect(next.node).toBe(h.a.address);
    expect(next.ticket.sequence).toBeGreaterThan(after.through);
    expect(next.voucher.cumulativeAmount).toBe(before.cumulative + next.cost);
    expect(next.voucher.accepted).toBe(true);
  });

  it("all candidates failing gives every node's reason", async () => {
    const m = await h.market(5);
    const cands = await m.discovery.candidates(h.model);
    // A price below what the nodes ask: each refuses the ticket (402).
    const lowball = cands.map((c) => ({ ...c, pricePerToken: 1n }));
    const e = await m.complete({ model: h.model, prompt: "x", maxTokens: 4, candidates: lowball }).catch((x) => x);
    expect(e).toBeInstanceOf(AllCandidatesFailedError);
    expect((e as Error).message).toContain(h.a.address);
    expect((e as Error).message).toContain(h.b.address);
  });

  it("withdraws: thaw, refused before the thaw period, completed after", async () => {
    const m = await h.market(5);
    const before = await m.pair(h.b.address);
    const { amount, endsAt } = await m.requestWithdraw(h.b.address, parseUnits("1", 18));
    expect(amount).toBe(parseUnits("1", 18));
    await expect(m.completeWithdraw(h.b.address)).rejects.toThrow(/EscrowThawNotOver/);
    const now = (await h.fx.publicClient.getBlock()).timestamp;
    await h.fx.advance(endsAt - now + 1n);
    const bal0 = await m.tokenBalance();
    const done = await m.completeWithdraw(h.b.address);
    expect(done.amount).toBe(parseUnits("1", 18));
    expect(await m.tokenBalance()).toBe(bal0 + parseUnits("1", 18));
    expect((await m.pair(h.b.address)).balance).toBe(before.balance - parseUnits("1", 18));
  });

  it("signs ticket expiries on the chain's clock: requests still work after the chain moved an hour ahead", async () => {
    const m = await h.market(6);
    await m.reserve(h.model, parseUnits("0.1", 18), { count: 1 });
    await h.fx.advance(3600);
    await new Promise((r) => setTimeout(r, 1000)); // the agents see the new block's time
    const chainNow = (await h.fx.publicClient.getBlock()).timestamp;
    expect(chainNow).toBeGreaterThan(BigInt(Math.floor(Date.now() / 1000)) + 3000n);
    const r = await m.complete({ model: h.model, prompt: "later", maxTokens: 4 });
    expect(r.ticket.expiry).toBeGreaterThan(chainNow);
    expect(r.voucher.accepted).toBe(true);
  });

  it("min reputation follows real settlement: once its batches settle, a node passes a bar newcomers do not", async () => {
    // The hour the chain moved ahead ended the challenge windows: the agents settle their batches,
    // NodeRegistry records the payouts in their reputation, the indexer follows.
    const bar = 0.4001;
    const ranked = await until(
      "node A's settled batches to raise its indexed reputation",
      async () => {
        const body = (await (
          await fetch(`${h.ponder.url}/nodes/ranked?model=${h.model}&minReputation=${bar}`)
        ).json()) as { nodes: { address: string; reputation: string }[] };
        return body.nodes.some((n) => n.address === lower(h.a.address)) ? body : undefined;
      },
      90_000,
      500,
    );
    for (const n of ranked.nodes) expect(BigInt(n.reputation)).toBeGreaterThan(4n * 10n ** 17n);
    const m = await h.market(5);
    const got = (await m.discovery.candidates(h.model, { minReputation: bar })).map((c) => lower(c.address));
    expect(new Set(got)).toEqual(new Set(ranked.nodes.map((n) => n.address)));
    expect(got[0]).toBe(lower(h.a.address));
  });

  it("reports an equivocating node from a kept receipt: slashed, no committee (stand-in batch)", async () => {
    // A real agent commits exactly what it receipted, so the contradiction is staged with the
    // fixture's node (dev account 1) through test/utils/batchDriver.ts: its signed receipt for a
    // ticket says one output, its committed leaf for the same ticket another.
    const m = await h.market(8);
    const requester = h.fx.wallets[8]!;
    const d = new BatchDriver(h.fx);
    const made = [await d.ticketLeaf(requester, "x", 6, { sign: true }), await d.ticketLeaf(requester, "y", 6)];
    const { batchId, header, batch } = await d.commit(made);
    const leaf = batch.leaves[0]!;
    const receipt = { ticket: leaf.ref, output: outputHash(BATCH_PROFILE, [1, 2, 3, 4, 5, 6]), tokens: leaf.tokens };
    m.evidence.add({
      chainId: h.fx.chainId,
      node: h.fx.node.account.address,
      ticketId: leaf.ref,
      ticket: made[0]!.ticket!,
      ticketSignature: made[0]!.ticketSig!,
      receipt,
      receiptSignature: await signReceipt(h.fx.node, receipt, {
        chainId: h.fx.chainId,
        verifyingContract: h.fx.deployed.addresses.ChallengeGame,
      }),
      tokens: [1, 2, 3, 4, 5, 6],
      receivedAt: new Date().toISOString(),
    });
    // The SDK finds the contradiction between the leaf and the kept receipt...
    expect(contradicts(batch.leaves[1]!, m.evidence)).toBeUndefined(); // no receipt for it
    const evidence = contradicts(leaf, m.evidence)!;
    expect(evidence.receipt).toEqual(receipt);
    // ...and proves it on chain: the node loses at least the batch's payout, the reporter is credited.
    const stake = async (): Promise<bigint> => {
      const [free, locked, unbonding] = await h.fx.c.staking.read.stakeOf([h.fx.node.account.address]);
      return free + locked + unbonding;
    };
    const before = await stake();
    await proveEquivocation(m, { batchId, header, leaf, proof: batch.tree.proof(0), evidence });
    expect(before - (await stake())).toBeGreaterThanOrEqual(header.payout);
    expect((await h.fx.c.settlement.read.stateOf([batchId])).voided).toBe(true);
    expect(await h.fx.c.staking.read.creditOf([m.requester])).toBeGreaterThan(0n);
  });
});
