/**
 * The node agent against a real chain (hardhat node) and real llama.cpp on a generated tiny model:
 * a streamed direct request settled and paid, bad input on every endpoint, a data challenge
 * answered and won, a wrong-output challenge answered and its dispute followed to the verdict and
 * paid, an auction job won, executed, committed, settled and paid, and hash-only (URI)
 * jobs: input fetched and checked before bidding, a mismatch refused, an unreachable one given up.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keccak256, parseEventLogs, parseUnits, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  challengeCommitment,
  inputHash,
  outputHash,
  voteCommitment,
  type Receipt,
} from "../../agents/lib/encodings.ts";
import { buildTicket, signTicket, ticketId, verifyReceipt } from "../../agents/lib/tickets.ts";
import { NodeAgent } from "../../agents/node/NodeAgent.ts";
import { loadNodeConfig } from "../../agents/node/NodeConfig.ts";
import { NODE_PRICE, devKey, nodeHarness, parseSse, type NodeHarness } from "./nodeHarness.ts";

let h: NodeHarness;
let agent: NodeAgent;
let url: string;

beforeAll(async () => {
  h = await nodeHarness();
  agent = await NodeAgent.start(
    loadNodeConfig(await h.flags(mkdtempSync(join(h.dir, "data-")), ["--log-level", "error"]), {}),
  );
  url = agent.url;
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await h?.chain.stop();
});

const STATUS_DISPUTED = 2;
const STATUS_CLEARED = 3;
const KIND_WRONG_OUTPUT = 1;
const LEAF_HELD = 1;
const LEAF_PAID = 3;
const OUTCOME_NOT_GUILTY = 1;
const OUTCOME_GUILTY = 2;
const OUTCOME_NEUTRAL = 3;
const PHASE_COMMIT = 2;

/** The harness validator funds its challenge slot `slot`, commits and reveals; returns the challenge id. */
async function challengeFrom(
  slot: bigint,
  batchId: bigint,
  header: { node: Hex; leafCount: number; committedAt: bigint; payout: bigint; lock: bigint; root: Hex },
  index: number,
  kind: number,
  salt: Hex,
): Promise<bigint> {
  const v = h.validator.account;
  const game = h.c.game;
  await h.wait(await game.write.fundSlot([slot, await game.read.challengeBond()], { account: v }));
  const commitment = challengeCommitment(batchId, index, kind, v.address, salt);
  await h.wait(await game.write.commitChallenge([slot, commitment], { account: v }));
  await h.wait(await game.write.revealChallenge([slot, batchId, header, index, kind, salt], { account: v }));
  return game.read.challengeIdOf([v.address, slot]);
}

async function waitBatchOf(ticketRef: Hex): Promise<bigint> {
  return h.until(`batch with ${ticketRef}`, async () => {
    for (const b of agent.store.batches()) {
      if (b.chainBatchId === null) continue;
      if (agent.store.leavesOf(b.id).some((l) => l.ref === ticketRef)) return b.chainBatchId;
    }
    return undefined;
  });
}

let jurorWallets: Awaited<ReturnType<NodeHarness["viem"]["getWalletClients"]>> | undefined;
/** Three staked validators (dev accounts 7-9) declared for the model: a committee can form. */
async function ensureJurors(model: Hex) {
  if (jurorWallets) return jurorWallets;
  const jurors = (await h.viem.getWalletClients()).slice(7, 10);
  const staking = await h.viem.getContractAt("Staking", h.d.addresses.Staking);
  for (const j of jurors) {
    await h.wait(await h.c.token.write.faucet([j.account.address, parseUnits("6000", 18)]));
    await h.wait(
      await h.c.token.write.approve([h.d.addresses.Staking, parseUnits("5000", 18)], { account: j.account }),
    );
    await h.wait(await staking.write.stake([parseUnits("5000", 18)], { account: j.account }));
    await h.wait(await staking.write.declareValidator([[model]], { account: j.account }));
  }
  jurorWallets = jurors;
  return jurors;
}

/** The jurors commit, then reveal, the same vote in the current round of `disputeId`. */
async function vote(disputeId: bigint, guilty: boolean) {
  const committee = await h.viem.getContractAt("Committee", h.d.addresses.Committee);
  const salt = keccak256(toHex(`vote ${disputeId} ${guilty}`));
  for (const j of jurorWallets!)
    await h.wait(
      await committee.write.commitVote([disputeId, voteCommitment(disputeId, j.account.address, guilty, salt)], {
        account: j.account,
      }),
    );
  await h.advance(21);
  for (const j of jurorWallets!)
    await h.wait(await committee.write.revealVote([disputeId, guilty, salt], { account: j.account }));
}

describe("node agent", () => {
  it("serves a streamed direct request with token ids and a receipt, then batches, settles and is paid", async () => {
    const r = await h.request(url, h.req1, { stream: true, prompt: "The market opens", maxTokens: 12 });
    const res = await h.post(url, "/v1/completions", r.body);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = parseSse(await res.text());
    const tokenIds = events.flatMap((e) => (e.llmarket as { tokenIds: number[] }).tokenIds);
    const last = events.at(-1)!.llmarket as {
      tokens: number[];
      outputHash: Hex;
      ticketId: Hex;
      receipt: Receipt;
      receiptSignature: Hex;
    };
    expect(tokenIds.length).toBeGreaterThan(0);
    expect(last.tokens).toEqual(tokenIds);
    expect(last.outputHash).toBe(outputHash(r.profileHash, tokenIds));
    expect(await verifyReceipt(last.receipt, h.node, last.receiptSignature, h.gameDomain)).toBe(true);
    expect(last.receipt.tokens).toBe(tokenIds.length);

    const owed = BigInt(tokenIds.length) * NODE_PRICE;
    expect((await h.voucher(url, h.req1, owed, r.ticket.sequence)).status).toBe(200);
    const batchId = await waitBatchOf(last.ticketId);
    const leafRes = await fetch(`${url}/v1/leaves/${batchId}/0`);
    expect(leafRes.status).toBe(200);
    const leaf = (await leafRes.json()) as { data: { tokens: number[]; prompt: string } };
    expect(leaf.data.tokens).toEqual(tokenIds);

    const before = await h.c.token.read.balanceOf([h.node]);
    await h.advance(40);
    await h.until("batch paid", async () => (await h.c.settlement.read.stateOf([batchId])).paid > 0n);
    await h.until("credits withdrawn", async () => (await h.c.token.read.balanceOf([h.node])) > before);
    expect((await h.c.settlement.read.stateOf([batchId])).paid).toBe(owed);
    // The in-memory exposure the admission check reads agrees with the tickets table.
    await h.until("batch settled in the store", async () => agent.store.batchByChainId(batchId)?.status === "settled");
    const req = h.req1.account.address;
    expect(agent.store.outstanding(req)).toBe(agent.store.outstandingFromTable(req));
  });

  it("rejects bad input on every endpoint with the right status and a JSON error", async () => {
    const expectError = async (res: Response, status: number, code?: string) => {
      const body = (await res.json()) as { error: { message: string; type: string; code: string } };
      expect({ status: res.status, code: body.error?.code }).toMatchObject({ status, ...(code ? { code } : {}) });
      expect(typeof body.error.message).toBe("string");
      if (code) expect(body.error.code).toBe(code);
    };
    const raw = (path: string, text: string) =>
      fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    await expectError(await raw("/v1/completions", "{not json"), 400, "invalid_json");
    await expectError(await raw("/v1/chat/completions", "[]"), 400);
    await expectError(await raw("/v1/vouchers", '{"voucher":1}'), 400);
    const good = await h.request(url, h.req2, { maxTokens: 8 });
    await expectError(await h.post(url, "/v1/completions", { ...good.body, max_tokens: "8" }), 400);
    await expectError(await h.post(url, "/v1/completions", { ...good.body, prompt: 42 }), 400);
    // Oversized: a prompt over the context (413) and a body over the limit (413).
    const long = await h.request(url, h.req2, { prompt: "word ".repeat(400), maxTokens: 8 });
    await expectError(await h.post(url, "/v1/completions", long.body), 413, "prompt_too_long");
    await expectError(await raw("/v1/completions", JSON.stringify({ prompt: "x".repeat(300_000) })), 413);
    // Bad signature (401): signed by someone else.
    const forged = await h.request(url, h.req2, { maxTokens: 8 });
    const other = await h.request(url, h.req1, { maxTokens: 8, sequence: 999n });
    await expectError(
      await h.post(url, "/v1/completions", {
        ...forged.body,
        llmarket: { ...forged.body.llmarket, signature: other.signature },
      }),
      401,
      "bad_signature",
    );
    // Expired ticket (400).
    const expired = await h.request(url, h.req2, { maxTokens: 8, expiry: (await h.now()) - 1n });
    await expectError(await h.post(url, "/v1/completions", expired.body), 400, "ticket_expired");
    // Price below the node's (402).
    const cheap = await h.request(url, h.req2, { maxTokens: 8, price: NODE_PRICE - 1n });
    await expectError(await h.post(url, "/v1/completions", cheap.body), 402, "price_too_low");
    // Insufficient escrow (402): a requester with no deposit for this node.
    const poor = await h.request(url, h.poor, { maxTokens: 8 });
    await expectError(await h.post(url, "/v1/completions", poor.body), 402, "insufficient_escrow");
    // Replayed sequence (409): a good ticket accepted once, then replayed.
    const ok = await h.request(url, h.req2, { maxTokens: 8 });
    const first = await h.post(url, "/v1/completions", ok.body);
    expect(first.status).toBe(200);
    const done = (await first.json()) as { llmarket: { tokens: number[] } };
    await expectError(await h.post(url, "/v1/completions", ok.body), 409, "sequence_replayed");
    // Input mismatch (400): the ticket signs another prompt.
    const mism = await h.request(url, h.req2, { maxTokens: 8 });
    await expectError(
      await h.post(url, "/v1/completions", { ...mism.body, prompt: "something else" }),
      400,
      "input_mismatch",
    );
    // Vouchers: bad signature (401), then stale (409) after a newer one.
    const cum = BigInt(done.llmarket.tokens.length) * NODE_PRICE;
    expect((await h.voucher(url, h.req2, cum, ok.ticket.sequence)).status).toBe(200);
    await expectError(await h.voucher(url, h.req2, cum - 1n, ok.ticket.sequence), 409, "stale_voucher");
    const v = { requester: h.req2.account.address, node: h.node, cumulativeAmount: "5", throughSequence: "1" };
    await expectError(await h.post(url, "/v1/vouchers", { voucher: v, signature: `0x${"11".repeat(65)}` }), 401);
    // Unknown ids (404) and the health/metrics endpoints.
    await expectError(await fetch(`${url}/v1/batches/999999`), 404);
    await expectError(await fetch(`${url}/v1/leaves/abc/0`), 404);
    await expectError(await fetch(`${url}/v1/jobs/424242/output`), 404);
    expect((await (await fetch(`${url}/health`)).json()) as object).toMatchObject({ status: "ok" });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain("llmarket_node_ttft_seconds");
    expect(metrics).toContain("llmarket_node_requests_total");
  });

  it("answers a data challenge inside the window and wins the bond", async () => {
    const r = await h.request(url, h.req1, { prompt: "Challenge me", maxTokens: 10 });
    const res = await h.post(url, "/v1/completions", r.body);
    expect(res.status).toBe(200);
    const out = (await res.json()) as { llmarket: { ticketId: Hex; tokens: number[] } };
    const batchId = await waitBatchOf(out.llmarket.ticketId);
    const meta = (await (await fetch(`${url}/v1/leaves/${batchId}/0`)).json()) as {
      header: { node: Hex; leafCount: number; committedAt: string; payout: string; lock: string; root: Hex };
    };
    const header = {
      ...meta.header,
      committedAt: BigInt(meta.header.committedAt),
      payout: BigInt(meta.header.payout),
      lock: BigInt(meta.header.lock),
    };
    const salt = keccak256(toHex("node test challenge"));
    const v = h.validator.account;
    const creditBefore = (await h.c.game.read.creditOf([h.node])) + (await h.c.token.read.balanceOf([h.node]));
    const bond = await h.c.game.read.challengeBond();
    await h.wait(await h.c.game.write.fundSlot([1n, bond], { account: v }));
    await h.wait(
      await h.c.game.write.commitChallenge([1n, challengeCommitment(batchId, 0, 0, v.address, salt)], { account: v }),
    );
    await h.wait(await h.c.game.write.revealChallenge([1n, batchId, header, 0, 0, salt], { account: v }));
    const challengeId = await h.c.game.read.challengeIdOf([v.address, 1n]);
    await h.until(
      "challenge answered",
      async () => (await h.c.game.read.challengeOf([challengeId])).status === STATUS_CLEARED,
    );
    await h.until(
      "bond credited",
      async () => (await h.c.game.read.creditOf([h.node])) + (await h.c.token.read.balanceOf([h.node])) > creditBefore,
    );
    // The cleared leaf is still paid when settlement opens.
    await h.advance(40);
    await h.until("challenged batch paid", async () => (await h.c.settlement.read.stateOf([batchId])).paid > 0n);
  });

  it("answers a wrong-output challenge, follows the committee dispute to its verdict, is paid for the held leaf and withdraws the bond", async () => {
    const r = await h.request(url, h.req1, { prompt: "Dispute me", maxTokens: 10 });
    const res = await h.post(url, "/v1/completions", r.body);
    expect(res.status).toBe(200);
    const out = (await res.json()) as { llmarket: { ticketId: Hex } };
    const batchId = await waitBatchOf(out.llmarket.ticketId);
    const row = agent.store.batchByChainId(batchId)!;
    const index = agent.store.leavesOf(row.id).find((l) => l.ref === out.llmarket.ticketId)!.leafIndex!;
    const meta = (await (await fetch(`${url}/v1/leaves/${batchId}/${index}`)).json()) as {
      header: { node: Hex; leafCount: number; committedAt: string; payout: string; lock: string; root: Hex };
    };
    const header = {
      ...meta.header,
      committedAt: BigInt(meta.header.committedAt),
      payout: BigInt(meta.header.payout),
      lock: BigInt(meta.header.lock),
    };
    const salt = keccak256(toHex("node test wrong-output challenge"));
    const v = h.validator.account;
    const challengeId = await challengeFrom(2n, batchId, header, index, KIND_WRONG_OUTPUT, salt);
    const challenge = () => agent.store.challenges().find((c) => c.chainBatchId === batchId && c.leafIndex === index);
    const disputeId = await h.until("answer opens a dispute", async () => challenge()?.disputeId ?? undefined);
    expect((await h.c.game.read.challengeOf([challengeId])).status).toBe(STATUS_DISPUTED);
    expect((await h.c.settlement.read.leafStatusOf([batchId, index])) as number).toBe(LEAF_HELD);
    // Only the challenger is a staked validator here, so no committee can form: the node draws
    // (each draw re-targets until maxRedraws), the round ends unformed and the verdict is neutral,
    // which clears the node. Blocks are mined here so each target passes.
    const done = await h.until(
      "dispute resolved",
      async () => {
        await h.advance(1);
        return challenge()?.outcome ?? undefined;
      },
      120_000,
    );
    expect(done).toBe("cleared");
    const share = await h.c.game.read.committeeShareBps();
    const bond = h.d.params.challengeBond;
    expect(challenge()!.bondCredit).toBe(bond - (bond * share) / 10_000n);
    expect(challenge()!.slashed).toBe(0n);
    const committee = await h.viem.getContractAt("Committee", h.d.addresses.Committee);
    expect((await committee.read.disputeOf([disputeId])).outcome).toBe(OUTCOME_NEUTRAL);
    expect((await h.c.game.read.challengeOf([challengeId])).status).toBe(STATUS_CLEARED);
    // Funds do not strand: the bond credit is withdrawn and the held leaf is paid after the window.
    await h.until("bond withdrawn", async () => (await h.c.game.read.creditOf([h.node])) === 0n);
    await h.advance(40);
    await h.until(
      "held leaf paid",
      async () => (await h.c.settlement.read.leafStatusOf([batchId, index])) === LEAF_PAID,
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/llmarket_node_challenges_total\{event="dispute_won"\} 1/);
    expect(metrics).toMatch(/llmarket_node_disputes_open 0/);
  });

  it("wins an auction, runs it, delivers, batches the auction leaf and is paid", async () => {
    const prompt = "Auction prompt";
    const t0 = await h.now();
    const post = await h.c.market.write.postJob(
      [
        {
          modelId: (await h.request(url)).model,
          maxTokens: 10,
          reservePricePerToken: 10n ** 15n,
          minReputation: 0n,
          commitDuration: 30,
          revealDuration: 30,
          deliveryDeadline: Number(t0 + 600n),
        },
        prompt,
        [],
        0n,
      ],
      { account: h.req2.account },
    );
    const rc = await h.wait(post);
    const [ev] = parseEventLogs({ abi: h.c.market.abi, logs: rc.logs, eventName: "JobPosted" });
    const jobId = ev!.args.jobId;
    await h.until("bid committed", async () => (await h.c.market.read.bidOf([jobId, h.node]))[2] === 1);
    await h.advance(31);
    await h.until("bid revealed", async () => (await h.c.market.read.bidOf([jobId, h.node]))[2] === 2);
    await h.advance(31);
    await h.until("job delivered", async () => (await h.c.market.read.getJob([jobId])).status === 2, 90_000);
    const output = await h.until("job output", async () => {
      const res = await fetch(`${url}/v1/jobs/${jobId}/output`);
      return res.ok ? ((await res.json()) as { tokens: number[]; outputHash: Hex; prompt: string }) : undefined;
    });
    expect(output.prompt).toBe(prompt);
    expect(inputHash({ prompt, maxTokens: 10, stop: [], seed: 0n })).toBe(ev!.args.inputHash);
    const held = await h.c.market.read.heldOf([jobId]);
    expect(held).toBeGreaterThan(0n);
    const batchId = await waitBatchOf(toHex(jobId, { size: 32 }));
    await h.advance(40);
    await h.until("auction leaf paid", async () => (await h.c.settlement.read.stateOf([batchId])).paid === held);
    expect(await h.c.market.read.heldOf([jobId])).toBe(0n);
  });

  it("fetches a hash-only job's input from its URI, checks the hash before bidding, refuses a mismatch, and is paid", async () => {
    const model = (await h.request(url)).model;
    const good = { prompt: "Input behind a URI", stop: [], seed: 7 };
    const goodHash = inputHash({ prompt: good.prompt, maxTokens: 10, stop: [], seed: 7n });
    // A real HTTP server on 127.0.0.1 serves the good document; anything else is 404.
    const server = createServer((req, res) => {
      if (req.url === "/job-input.json")
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(good));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A file whose content is not what the job's hash commits to.
    const wrongFile = join(h.dir, "wrong-input.json");
    writeFileSync(wrongFile, JSON.stringify({ prompt: "Not the committed prompt", seed: 7 }));
    try {
      const t0 = await h.now();
      const params = {
        modelId: model,
        maxTokens: 10,
        reservePricePerToken: 10n ** 15n,
        minReputation: 0n,
        commitDuration: 30,
        revealDuration: 30,
        deliveryDeadline: Number(t0 + 600n),
      };
      const postUri = async (uri: string) => {
        const rc = await h.wait(
          await h.c.market.write.postJobWithUri([params, goodHash, uri], { account: h.req2.account }),
        );
        return parseEventLogs({ abi: h.c.market.abi, logs: rc.logs, eventName: "JobPosted" })[0]!.args.jobId;
      };
      const okJob = await postUri(`${base}/job-input.json`);
      const wrongJob = await postUri(pathToFileURL(wrongFile).href);
      const goneJob = await postUri(`${base}/missing.json`);

      await h.until(
        "bid committed on the URI job",
        async () => (await h.c.market.read.bidOf([okJob, h.node]))[2] === 1,
      );
      const refused = await h.until("mismatch refused", async () =>
        agent.store.job(wrongJob)?.status === "refused" ? agent.store.job(wrongJob) : undefined,
      );
      expect(refused.note).toMatch(/not the posted inputHash/);
      expect((await h.c.market.read.bidOf([wrongJob, h.node]))[2]).toBe(0);
      expect(agent.store.job(goneJob)?.status).toBe("fetching");
      expect(agent.store.job(okJob)?.input).toEqual({ prompt: good.prompt, stop: [], seed: 7n });

      await h.advance(31);
      await h.until("bid revealed", async () => (await h.c.market.read.bidOf([okJob, h.node]))[2] === 2);
      await h.until("unreachable job given up", async () => agent.store.job(goneJob)?.status === "lost");
      expect((await h.c.market.read.bidOf([goneJob, h.node]))[2]).toBe(0);
      await h.advance(31);
      await h.until("URI job delivered", async () => (await h.c.market.read.getJob([okJob])).status === 2, 90_000);
      // The node marks the job delivered once its deliver transaction returns, a moment after it
      // is mined: wait for the node's own output endpoint rather than the chain alone.
      const output = await h.until("URI job output served", async () => {
        const res = await fetch(`${url}/v1/jobs/${okJob}/output`);
        return res.ok ? ((await res.json()) as { prompt: string; tokens: number[] }) : undefined;
      });
      expect(output.prompt).toBe(good.prompt);
      expect(output.tokens.length).toBeGreaterThan(0);
      const held = await h.c.market.read.heldOf([okJob]);
      expect(held).toBeGreaterThan(0n);
      const batchId = await waitBatchOf(toHex(okJob, { size: 32 }));
      await h.advance(40);
      await h.until("URI job's leaf paid", async () => (await h.c.market.read.heldOf([okJob])) === 0n);
      expect((await h.c.settlement.read.stateOf([batchId])).paid).toBeGreaterThanOrEqual(held);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/llmarket_node_auction_events_total\{event="input_refused"\} 1/);
      expect(metrics).toMatch(/llmarket_node_auction_events_total\{event="input_fetched"\} 1/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("serves a chat completion and, with no voucher for it, is paid through its own ticket", async () => {
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Name a colour." },
    ];
    const r = await h.request(url, h.req2, { messages, maxTokens: 9 });
    const res = await h.post(url, "/v1/chat/completions", r.body);
    expect(res.status).toBe(200);
    const out = (await res.json()) as {
      object: string;
      choices: { message: { role: string; content: string } }[];
      llmarket: { ticketId: Hex; tokens: number[]; receipt: Receipt; receiptSignature: Hex };
    };
    expect(out.object).toBe("chat.completion");
    expect(out.choices[0]!.message.role).toBe("assistant");
    expect(await verifyReceipt(out.llmarket.receipt, h.node, out.llmarket.receiptSignature, h.gameDomain)).toBe(true);
    const batchId = await waitBatchOf(out.llmarket.ticketId);
    await h.advance(40);
    const amount = BigInt(out.llmarket.tokens.length) * NODE_PRICE;
    await h.until(
      "ticket-paid batch settled",
      async () => (await h.c.settlement.read.stateOf([batchId])).paid === amount,
    );
    expect(await h.c.escrow.read.ticketRedeemed([out.llmarket.ticketId])).toBe(true);
    for (const r of [h.req1, h.req2, h.poor])
      expect(agent.store.outstanding(r.account.address)).toBe(agent.store.outstandingFromTable(r.account.address));
  });

  it("with --fault wrong-output:1 commits consistent but wrong outputs (the demo's cheating node), loses the dispute and reports the slash", async () => {
    // A second node (dev account 6) with its own key, stake, escrow and data directory.
    const cheatKey = devKey(6);
    const cheat = privateKeyToAccount(cheatKey);
    await h.wait(await h.c.token.write.faucet([cheat.address, parseUnits("30000", 18)]));
    await h.wait(await h.c.escrow.write.deposit([cheat.address, parseUnits("100", 18)], { account: h.req1.account }));
    const keyFile = join(h.dir, "cheat.key");
    writeFileSync(keyFile, cheatKey);
    const flags = await h.flags(mkdtempSync(join(h.dir, "cheat-")), [
      "--fault",
      "wrong-output:1",
      "--log-level",
      "error",
    ]);
    flags[flags.indexOf("--key-file") + 1] = keyFile;
    const bad = await NodeAgent.start(loadNodeConfig(flags, {}));
    try {
      const models = (await (await fetch(`${bad.url}/v1/models`)).json()) as {
        data: { id: Hex; llmarket: { profileHash: Hex; pricePerToken: string } }[];
      };
      const m = models.data[0]!;
      const prompt = "Tell the truth";
      const ticket = buildTicket(
        {
          requester: h.req1.account.address,
          node: cheat.address,
          model: m.id,
          input: inputHash({ prompt, maxTokens: 16, stop: [], seed: 0n }),
          maxTokens: 16,
          pricePerToken: BigInt(m.llmarket.pricePerToken),
          sequence: 1n,
          profile: m.llmarket.profileHash,
        },
        { nowSeconds: await h.now(), lifetimeSeconds: 300n },
      );
      const signature = await signTicket(h.req1, ticket, h.escrowDomain);
      const body = {
        prompt,
        max_tokens: 16,
        llmarket: {
          ticket: JSON.parse(JSON.stringify(ticket, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))),
          signature,
        },
      };
      const res = await h.post(bad.url, "/v1/completions", body);
      expect(res.status).toBe(200);
      const out = (await res.json()) as {
        llmarket: { tokens: number[]; outputHash: Hex; receipt: Receipt; receiptSignature: Hex };
      };
      const honest = await agent.runtime.generate(agent.models[0]!.profile, {
        prompt,
        maxTokens: 16,
        stop: [],
        seed: 0n,
      });
      expect(out.llmarket.tokens.length).toBe(honest.tokens.length);
      expect(out.llmarket.tokens).not.toEqual(honest.tokens);
      // Receipt and committed leaf agree with each other (no equivocation), not with re-execution.
      expect(out.llmarket.outputHash).toBe(outputHash(m.llmarket.profileHash, out.llmarket.tokens));
      expect(
        await verifyReceipt(out.llmarket.receipt, cheat.address, out.llmarket.receiptSignature, h.gameDomain),
      ).toBe(true);
      expect(bad.direct.o.fault.injected).toBe(1);

      // Its wrong output is challenged and a committee of three staked validators (declared for
      // the model, voting by hand here) finds it guilty: the agent draws and finalizes the dispute
      // itself, records the verdict and the slash, and reports the voided batch's lost leaves.
      const ticketRef = ticketId(ticket, h.escrowDomain);
      const batchId = await h.until("cheat's batch", async () => {
        for (const b of bad.store.batches())
          if (b.chainBatchId !== null && bad.store.leavesOf(b.id).some((l) => l.ref === ticketRef))
            return b.chainBatchId;
        return undefined;
      });
      const batchRow = bad.store.batchByChainId(batchId)!;
      const index = bad.store.leavesOf(batchRow.id).find((l) => l.ref === ticketRef)!.leafIndex!;
      const jurors = await ensureJurors(m.id);
      const header = { ...batchRow.header! };
      const v = h.validator.account;
      const salt = keccak256(toHex("challenge the cheat"));
      await challengeFrom(3n, batchId, header, index, KIND_WRONG_OUTPUT, salt);
      const challenge = () => bad.store.challenges().find((c) => c.chainBatchId === batchId && c.leafIndex === index);
      const disputeId = await h.until("dispute opened", async () => challenge()?.disputeId ?? undefined);
      const committee = await h.viem.getContractAt("Committee", h.d.addresses.Committee);
      // The agent draws once the target block is past (blocks are mined here).
      await h.until("committee drawn", async () => {
        await h.advance(1);
        return (await committee.read.phase([disputeId])) === PHASE_COMMIT;
      });
      const members = (await committee.read.membersOf([disputeId, 0])).map((a) => a.toLowerCase());
      expect(members.sort()).toEqual(jurors.map((j) => j.account.address.toLowerCase()).sort());
      await vote(disputeId, true);
      await h.advance(45); // reveal and appeal windows over: the agent finalizes
      const outcome = await h.until("verdict recorded", async () => challenge()?.outcome ?? undefined, 60_000);
      expect(outcome).toBe("upheld");
      expect((await committee.read.disputeOf([disputeId])).outcome).toBe(OUTCOME_GUILTY);
      expect(challenge()!.slashed).toBeGreaterThan(0n);
      expect(challenge()!.bondCredit).toBe(0n);
      // The lost leaf is reported: with the batch voided at settlement, or, when its chunk was
      // settled around the held leaf while the committee sat, when the verdict comes.
      await h.advance(40);
      const metrics = await h.until("lost leaf reported", async () => {
        const text = await (await fetch(`${bad.url}/metrics`)).text();
        return /llmarket_node_unclaimed_leaves_total 1\n/.test(text) ? text : undefined;
      });
      expect(["voided", "settled"]).toContain(bad.store.batchByChainId(batchId)?.status);
      expect(metrics).toMatch(/llmarket_node_challenges_total\{event="dispute_lost"\} 1/);
      expect(metrics).toMatch(/llmarket_node_slashed_wei_total [1-9]/);
    } finally {
      await bad.stop();
    }
  });
  it("appeals a guilty round against a leaf it reproduces, and wins the appeal", async () => {
    const r = await h.request(url, h.req1, { prompt: "Appeal for me", maxTokens: 10 });
    const res = await h.post(url, "/v1/completions", r.body);
    expect(res.status).toBe(200);
    const out = (await res.json()) as { llmarket: { ticketId: Hex } };
    const batchId = await waitBatchOf(out.llmarket.ticketId);
    const row = agent.store.batchByChainId(batchId)!;
    const index = agent.store.leavesOf(row.id).find((l) => l.ref === out.llmarket.ticketId)!.leafIndex!;
    await ensureJurors(r.model);
    const salt = keccak256(toHex("appeal challenge"));
    await challengeFrom(4n, batchId, row.header!, index, KIND_WRONG_OUTPUT, salt);
    const challenge = () => agent.store.challenges().find((c) => c.chainBatchId === batchId && c.leafIndex === index);
    const disputeId = await h.until("dispute opened", async () => challenge()?.disputeId ?? undefined);
    const committee = await h.viem.getContractAt("Committee", h.d.addresses.Committee);
    const drawn = () =>
      h.until("committee drawn", async () => {
        await h.advance(1);
        return (await committee.read.phase([disputeId])) === PHASE_COMMIT;
      });
    await drawn();
    // A wrong verdict: the committee finds the honest leaf guilty; the node re-runs it and appeals.
    await vote(disputeId, true);
    await h.advance(21); // reveal window over: the round is appealable
    const appealed = await h.until("node appealed", async () => {
      const rd = await committee.read.roundOf([disputeId, 1]);
      return rd.appellant.toLowerCase() === h.node.toLowerCase() ? rd : undefined;
    });
    expect(appealed.appealFee).toBe((await committee.read.params()).appealFee);
    await drawn();
    await vote(disputeId, false);
    await h.advance(45);
    expect(await h.until("verdict recorded", async () => challenge()?.outcome ?? undefined, 60_000)).toBe("cleared");
    expect((await committee.read.disputeOf([disputeId])).outcome).toBe(OUTCOME_NOT_GUILTY);
    await h.advance(40);
    await h.until(
      "held leaf paid",
      async () => (await h.c.settlement.read.leafStatusOf([batchId, index])) === LEAF_PAID,
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/llmarket_node_challenges_total\{event="appealed"\} 1/);
  });
});
