/** SDK parts without a chain: budget, state file, candidate ordering, SSE parsing, config precedence, result verification, equivocation check. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keccak256, parseUnits, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { outputHash, type Ticket } from "../../agents/lib/encodings.ts";
import { buildReceipt, buildTicket, signReceipt, ticketId } from "../../agents/lib/tickets.ts";
import { Budget } from "../../agents/sdk/Budget.ts";
import { resolveConfig } from "../../agents/sdk/config.ts";
import { orderCandidates, type Candidate } from "../../agents/sdk/Discovery.ts";
import { BudgetExceededError, VerificationError } from "../../agents/sdk/errors.ts";
import { EvidenceStore } from "../../agents/sdk/EvidenceStore.ts";
import { contradicts } from "../../agents/sdk/equivocation.ts";
import { sseData } from "../../agents/sdk/NodeClient.ts";
import { RequesterState } from "../../agents/sdk/RequesterState.ts";
import { verifyResult } from "../../agents/sdk/verifyResult.ts";

const dir = mkdtempSync(join(tmpdir(), "llmarket-sdk-unit-"));
const NODE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const REQ = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" as Address;

describe("Budget", () => {
  it("caps per request and per session, counting holds in flight and settling at the receipted cost", () => {
    const b = new Budget({ perRequest: 10n, perSession: 25n });
    expect(() => b.hold(11n)).toThrow(BudgetExceededError);
    const h1 = b.hold(10n);
    const h2 = b.hold(10n);
    expect(() => b.hold(10n)).toThrow(/session cap/);
    b.settle(h1, 4n);
    b.release(h2);
    expect(b.spent).toBe(4n);
    expect(b.held).toBe(0n);
    expect(b.remaining).toBe(21n);
    b.settle(h1, 100n); // idempotent
    expect(b.spent).toBe(4n);
  });
});

describe("RequesterState", () => {
  it("persists sequences across instances and advances throughSequence only over resolved tickets", () => {
    const path = join(dir, "s1.json");
    const s = new RequesterState(path, REQ);
    const far = 2n ** 40n;
    expect(s.allocateSequence(NODE, 1n, far)).toBe(1n);
    expect(s.allocateSequence(NODE, 1n, far)).toBe(2n);
    expect(new RequesterState(path, REQ).allocateSequence(NODE, 1n, far)).toBe(3n); // restart: no reuse
    // 2 finishes first: the voucher cannot cover 1 (still in flight).
    expect(s.resolve(NODE, 2n, 5n)).toMatchObject({ cumulativeAmount: 5n, throughSequence: 0n });
    // 1 fails (no receipt): covered at 0.
    expect(s.resolve(NODE, 1n, 0n)).toMatchObject({ cumulativeAmount: 5n, throughSequence: 2n });
    expect(s.resolve(NODE, 3n, 7n)).toMatchObject({ cumulativeAmount: 12n, throughSequence: 3n });
    // On-chain voucherSequence above the local one (state restored elsewhere): jump, never reuse.
    expect(s.allocateSequence(NODE, 10n, far)).toBe(10n);
    expect(s.pair(NODE).through).toBe(9n);
  });

  it("resolves tickets of a crashed process at 0 once they expired", () => {
    const s = new RequesterState(join(dir, "s2.json"), REQ);
    s.allocateSequence(NODE, 1n, 100n); // crashed in flight, expires at t=100
    s.allocateSequence(NODE, 1n, 10_000n);
    expect(s.resolve(NODE, 2n, 3n, 200n)).toMatchObject({ cumulativeAmount: 3n, throughSequence: 2n });
  });

  it("rejects a corrupt file with a clear error", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, "{nope");
    expect(() => new RequesterState(path, REQ).allocateSequence(NODE, 1n, 1n)).toThrow(/not valid JSON/);
  });
});

describe("orderCandidates", () => {
  const c = (address: string, score: number, rttMs: number): Candidate => ({
    address: address as Address,
    endpoint: "",
    pricePerToken: 1n,
    profileHash: "0x",
    modelName: "m",
    maxTokens: 1,
    score,
    rttMs,
  });
  it("drops nodes over the latency SLA and discounts slow round trips", () => {
    const out = orderCandidates([c("0xa", 0.9, 400), c("0xb", 0.8, 5), c("0xc", 0.85, 5000)], { maxLatencyMs: 1000 });
    expect(out.map((x) => x.address)).toEqual(["0xb", "0xa"]);
    expect(orderCandidates([c("0xa", 0.9, 400), c("0xb", 0.8, 5)], { rttWeight: 0 }).map((x) => x.address)).toEqual([
      "0xa",
      "0xb",
    ]);
  });
});

describe("sseData", () => {
  it("joins split chunks and multi-line data", async () => {
    const parts = ['data: {"a"', ":1}\n\n", "data: x\ndata: y\n\n", "data: [DONE]\n\n"];
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (const p of parts) ctrl.enqueue(new TextEncoder().encode(p));
        ctrl.close();
      },
    });
    const out: string[] = [];
    for await (const d of sseData(body)) out.push(d);
    expect(out).toEqual(['{"a":1}', "x\ny", "[DONE]"]);
  });
});

describe("resolveConfig", () => {
  it("takes flags over environment over the config file", () => {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ rpcUrl: "http://file:1", indexerUrl: "http://file:2", maxSession: "3" }));
    const env = { LLMARKET_CONFIG: file, LLMARKET_INDEXER_URL: "http://env:2" };
    const cfg = resolveConfig({ rpc: "http://flag:1" }, env);
    expect(cfg.rpcUrl).toBe("http://flag:1");
    expect(cfg.indexerUrl).toBe("http://env:2");
    expect(cfg.maxSession).toBe(parseUnits("3", 18));
    expect(() => resolveConfig({ config: join(dir, "missing.json") }, {})).toThrow(/does not exist/);
  });
});

describe("verifyResult and equivocation", async () => {
  const node = privateKeyToAccount(keccak256(toHex("node")));
  const escrowDomain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
  const receiptDomain = { chainId: 31337, verifyingContract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" as Address };
  const profile = keccak256(toHex("p"));
  const ticket: Ticket = buildTicket({
    requester: REQ,
    node: node.address,
    model: profile,
    input: profile,
    maxTokens: 4,
    pricePerToken: 1n,
    sequence: 1n,
    profile,
  });
  const tokens = [1, 2, 3];
  const oh = outputHash(profile, tokens);
  const receipt = buildReceipt(ticket, escrowDomain, oh, 3);
  const receiptSignature = await signReceipt(node, receipt, receiptDomain);
  const result = {
    tokens,
    inputHash: profile,
    outputHash: oh,
    ticketId: ticketId(ticket, escrowDomain),
    receipt,
    receiptSignature,
  };
  const base = { ticket, result, escrowDomain, receiptDomain, signers: [node.address] };

  it("accepts an honest answer and names each failed check", async () => {
    await verifyResult(base);
    const check = async (patch: object) =>
      ((await verifyResult({ ...base, ...patch }).catch((e: unknown) => e)) as VerificationError).details.check;
    expect(await check({ result: { ...result, tokens: [1, 2, 4] } })).toBe("output-hash");
    expect(await check({ result: { ...result, tokens: [1, 2, 3, 4, 5], receipt: { ...receipt, tokens: 5 } } })).toBe(
      "max-tokens",
    );
    expect(await check({ streamedTokens: [1, 2] })).toBe("stream-tokens");
    expect(await check({ signers: [REQ] })).toBe("receipt-signature");
    expect(await check({ receiptDomain: escrowDomain })).toBe("receipt-signature");
  });

  it("finds a committed leaf that contradicts a kept receipt", () => {
    const ev = new EvidenceStore(join(dir, "receipts.jsonl"));
    ev.add({
      chainId: 31337,
      node: node.address,
      ticketId: receipt.ticket,
      ticket,
      ticketSignature: "0x",
      receipt,
      receiptSignature,
      tokens,
      receivedAt: "",
    });
    const leaf = {
      index: 0,
      kind: 0,
      ref: receipt.ticket,
      requester: REQ,
      model: profile,
      adapter: profile,
      input: profile,
      output: oh,
      tokens: 3,
      amount: 3n,
      expiry: ticket.expiry,
      profile,
    };
    expect(contradicts(leaf, ev)).toBeUndefined();
    expect(contradicts({ ...leaf, tokens: 4 }, ev)?.receiptSignature).toBe(receiptSignature);
    expect(ev.all()[0]!.ticket.sequence).toBe(1n);
  });
});
