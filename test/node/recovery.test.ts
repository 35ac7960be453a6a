/**
 * kill -9 at each stage, with the agent as a child process on a real chain: after a bid commit
 * (before its reveal) and after a direct request ran (before its batch commit); then after the
 * batch commit (before settlement). Each restart resumes from the sqlite store: nothing is lost
 * and everything is paid. The last agent stops gracefully on SIGTERM.
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEventLogs, type Hex } from "viem";
import { NODE_PRICE, nodeHarness, type NodeHarness } from "./nodeHarness.ts";

let h: NodeHarness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await nodeHarness();
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await h?.chain.stop();
});

function kill9(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    c.once("exit", () => resolve());
    process.kill(c.pid!, "SIGKILL");
  });
}

describe("node agent recovery", () => {
  it("loses nothing across kill -9 at every stage and is paid for everything", async () => {
    const dataDir = mkdtempSync(join(h.dir, "data-"));
    // Agent A: leaves wait for a batch (max age 1 h), so the kill lands after execution, before commit.
    const a = await h.spawnAgent(await h.flags(dataDir, ["--batch-max-age", "3600"]));
    children.push(a.child);
    const r = await h.request(a.url, h.req1, { prompt: "Survive a crash", maxTokens: 10 });
    const res = await h.post(a.url, "/v1/completions", r.body);
    expect(res.status).toBe(200);
    const direct = (await res.json()) as { llmarket: { tokens: number[]; outputHash: Hex; ticketId: Hex } };
    const owed = BigInt(direct.llmarket.tokens.length) * NODE_PRICE;
    expect((await h.voucher(a.url, h.req1, owed, r.ticket.sequence)).status).toBe(200);
    // An auction job: wait for the bid commit, then kill before the reveal.
    const t0 = await h.now();
    const rc = await h.wait(
      await h.c.market.write.postJob(
        [
          {
            modelId: r.model,
            maxTokens: 8,
            reservePricePerToken: 10n ** 15n,
            minReputation: 0n,
            commitDuration: 30,
            revealDuration: 30,
            deliveryDeadline: Number(t0 + 600n),
          },
          "Auction after a crash",
          [],
          0n,
        ],
        { account: h.req2.account },
      ),
    );
    const jobId = parseEventLogs({ abi: h.c.market.abi, logs: rc.logs, eventName: "JobPosted" })[0]!.args.jobId;
    await h.until("bid committed", async () => (await h.c.market.read.bidOf([jobId, h.node]))[2] === 1);
    expect(await h.c.settlement.read.batchCount()).toBe(0n);
    await kill9(a.child);

    // Agent B: commits the leaf that survived; killed right after the commit, before settlement.
    const b = await h.spawnAgent(await h.flags(dataDir));
    children.push(b.child);
    await h.until("batch committed after restart", async () => (await h.c.settlement.read.batchCount()) >= 1n);
    const leaf = await h.until("leaf served", async () => {
      const res = await fetch(`${b.url}/v1/leaves/1/0`);
      return res.ok ? ((await res.json()) as { leaf: { output: Hex; ref: Hex } }) : undefined;
    });
    expect(leaf.leaf.output).toBe(direct.llmarket.outputHash);
    expect(leaf.leaf.ref).toBe(direct.llmarket.ticketId);
    await kill9(b.child);
    await h.advance(31); // commit phase over: the bid must be revealed by the next agent

    // Agent C: reveals the stored bid (its salt survived), wins, runs, delivers, batches, settles.
    const c = await h.spawnAgent(await h.flags(dataDir));
    children.push(c.child);
    await h.until("bid revealed after restart", async () => (await h.c.market.read.bidOf([jobId, h.node]))[2] === 2);
    await h.advance(31);
    await h.until("job delivered", async () => (await h.c.market.read.getJob([jobId])).status === 2, 90_000);
    await h.until("auction leaf committed", async () => (await h.c.settlement.read.batchCount()) >= 2n);
    const held = await h.c.market.read.heldOf([jobId]);
    const before = await h.c.token.read.balanceOf([h.node]);
    await h.advance(40);
    await h.until("direct batch paid", async () => (await h.c.settlement.read.stateOf([1n])).paid === owed);
    await h.until("auction batch paid", async () => (await h.c.settlement.read.stateOf([2n])).paid === held);
    await h.until("credits withdrawn", async () => (await h.c.token.read.balanceOf([h.node])) > before);
    expect(await h.c.settlement.read.creditOf([h.node])).toBe(0n);

    // Graceful stop: SIGTERM drains and exits 0.
    const exited = new Promise<number | null>((resolve) => c.child.once("exit", (code) => resolve(code)));
    process.kill(c.child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  });
});
