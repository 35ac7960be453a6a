/**
 * Batches and settlement: commits pending leaves when `maxLeaves` or `maxAgeSeconds` is reached
 * (leaves are assigned to the batch in the store before the transaction is sent, and a batch left
 * `committing` by a crash is found again by its root), settles each chunk after settlement opens
 * with the latest voucher per requester group and the stored ticket for leaves no voucher covers,
 * pays cleared held leaves, and withdraws credits. Implements the leaf lookup the HTTP API serves.
 */
import { parseEventLogs, type Address, type Hex } from "viem";
import { buildBatch, chunkCount, chunkGroups, chunkLeafGroups, chunkProof, type BatchHeader } from "../lib/batch.ts";
import { LEAF_TICKET, leafHash, type Leaf, type Voucher } from "../lib/encodings.ts";
import { CHUNK_LEAVES, PositionalTree } from "../lib/merkle.ts";
import { ChainTxError, shortReason, type NodeChain } from "./NodeChain.ts";
import type { NodeMetrics } from "./NodeMetrics.ts";
import type { BatchRow, LeafData, LeafRow, NodeStore } from "./NodeStore.ts";

export type LeafLookup = {
  batch(chainBatchId: bigint): { header: BatchHeader } | undefined;
  leaf(
    chainBatchId: bigint,
    index: number,
  ): { header: BatchHeader; leaf: Leaf; proof: Hex[]; data: LeafData } | undefined;
};

type CommittedArgs = {
  batchId: bigint;
  root: Hex;
  leafCount: number;
  payout: bigint;
  lock: bigint;
  committedAt: bigint;
};

type Built = { rows: LeafRow[]; leaves: Leaf[]; tree: PositionalTree };

/** Commit a batch at the latest this long before a pending ticket leaf would become unpayable. */
const EXPIRY_MARGIN_SECONDS = 120n;

/** Leaf status in BatchSettlement. */
export const LEAF_STATUS = { None: 0, Held: 1, Cleared: 2, Paid: 3, Upheld: 4 } as const;

type Log = (level: "debug" | "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;

export type BatcherOptions = {
  chain: NodeChain;
  store: NodeStore;
  metrics: NodeMetrics;
  maxLeaves: number;
  maxAgeSeconds: number;
  log: Log;
};

export class Batcher implements LeafLookup {
  readonly #built = new Map<number, Built>();
  readonly #inFlight = new Set<number>();
  #params: { challengeWindow: bigint; revealPeriod: bigint; batchCommitLag: bigint } | undefined;

  readonly o: BatcherOptions;

  constructor(o: BatcherOptions) {
    this.o = o;
  }

  // ------------------------------------------------------------------ lookup

  built(b: BatchRow): Built {
    let x = this.#built.get(b.id);
    if (!x) {
      const rows = this.o.store.leavesOf(b.id);
      const leaves = rows.map((r) => ({ ...r.pending, index: r.leafIndex! }) as Leaf);
      const tree = new PositionalTree(leaves.map(leafHash));
      if (tree.root.toLowerCase() !== b.root.toLowerCase()) {
        throw new Error(`stored leaves of batch ${b.id} do not rebuild its root ${b.root}`);
      }
      x = { rows, leaves, tree };
      this.#built.set(b.id, x);
    }
    return x;
  }

  batch(chainBatchId: bigint): { header: BatchHeader } | undefined {
    const b = this.o.store.batchByChainId(chainBatchId);
    return b?.header ? { header: b.header } : undefined;
  }

  leaf(chainBatchId: bigint, index: number) {
    const b = this.o.store.batchByChainId(chainBatchId);
    if (!b?.header || index >= b.leafCount) return undefined;
    const x = this.built(b);
    const leaf = x.leaves[index]!;
    return { header: b.header, leaf, proof: x.tree.proof(index), data: x.rows[index]!.data };
  }

  // ------------------------------------------------------------------ commit

  /** Commits a batch when the policy says so (or `force` with any pending leaf). */
  async maybeCommit(force = false): Promise<void> {
    const info = this.o.store.pendingInfo();
    this.o.metrics.leavesPending.set(info.count);
    if (info.count === 0) return;
    const ageMs = Date.now() - info.oldestAt;
    // A ticket leaf committed after expiry + batchCommitLag is never paid: commit well before that.
    const p = await this.#settleParams();
    const lagging =
      info.minTicketExpiry !== null &&
      info.minTicketExpiry + p.batchCommitLag <= this.o.chain.now() + EXPIRY_MARGIN_SECONDS;
    if (!force && !lagging && info.count < this.o.maxLeaves && ageMs < this.o.maxAgeSeconds * 1000) return;
    const pending = this.o.store.unbatchedLeaves(this.o.maxLeaves);
    const built = buildBatch(pending.map((r) => r.pending));
    const id = this.o.store.createBatch(built.root, built.leaves, built.payout);
    await this.#sendCommit(this.o.store.batches("committing").find((b) => b.id === id)!);
  }

  async #sendCommit(b: BatchRow): Promise<void> {
    if (this.#inFlight.has(b.id)) return;
    this.#inFlight.add(b.id);
    try {
      const receipt = await this.o.chain.send(
        "commitBatch",
        () => this.o.chain.c.settlement.write.commitBatch([b.root, b.leafCount, b.payout]),
        (hash) => this.o.store.setBatchTx(b.id, hash),
      );
      const [ev] = parseEventLogs({
        abi: this.o.chain.c.settlement.abi,
        logs: receipt.logs,
        eventName: "BatchCommitted",
      });
      if (!ev) throw new Error("commitBatch mined without a BatchCommitted event");
      this.#committed(b, ev.args);
    } catch (e) {
      if (e instanceof ChainTxError) {
        this.o.log("error", `commitBatch failed; the leaves return to the pool: ${e.message}`, { batch: b.id });
        this.o.store.dropBatch(b.id);
        this.#built.delete(b.id);
      } else throw e;
    } finally {
      this.#inFlight.delete(b.id);
    }
  }

  #committed(b: BatchRow, a: CommittedArgs): void {
    const header: BatchHeader = {
      node: this.o.chain.address,
      leafCount: a.leafCount,
      committedAt: a.committedAt,
      payout: a.payout,
      lock: a.lock,
      root: a.root,
    };
    this.o.store.markBatchCommitted(b.id, a.batchId, header);
    this.o.metrics.batches.inc({ event: "committed" });
    this.o.log("info", `batch ${a.batchId} committed`, { leaves: a.leafCount, payout: String(a.payout) });
  }

  /** After a restart: a batch left `committing` is either on chain (by its root) or sent again. */
  async recover(): Promise<void> {
    const stuck = this.o.store.batches("committing").filter((b) => !this.#inFlight.has(b.id));
    if (stuck.length === 0) return;
    const events = await this.o.chain.c.settlement.getEvents.BatchCommitted(
      { node: this.o.chain.address },
      { fromBlock: BigInt(this.o.chain.deployment.deployBlock), toBlock: "latest" },
    );
    for (const b of stuck) {
      const ev = events.find((e) => e.args.root?.toLowerCase() === b.root.toLowerCase());
      if (ev) {
        this.#committed(b, ev.args as CommittedArgs);
        continue;
      }
      if (b.txHash) {
        const tx = await this.o.chain.publicClient.getTransaction({ hash: b.txHash }).catch(() => null);
        if (tx && tx.blockNumber === null) continue; // still pending: wait for it
      }
      this.o.log("warn", `batch ${b.id} was not committed before the restart: committing it now`);
      await this.#sendCommit(b);
    }
  }

  // ------------------------------------------------------------------ settle

  async #settleParams() {
    if (!this.#params) {
      const p = await this.o.chain.c.settlement.read.params();
      this.#params = {
        challengeWindow: p.challengeWindow,
        revealPeriod: p.revealPeriod,
        batchCommitLag: p.batchCommitLag,
      };
    }
    return this.#params;
  }

  /** Settles every committed batch whose settlement has opened. Returns true if anything was paid. */
  async settleDue(): Promise<boolean> {
    const p = await this.#settleParams();
    const now = this.o.chain.now();
    let any = false;
    for (const b of this.o.store.batches("committed")) {
      const h = b.header!;
      if (now <= h.committedAt + p.challengeWindow + p.revealPeriod) continue;
      const chainId = b.chainBatchId!;
      const state = await this.o.chain.c.settlement.read.stateOf([chainId]);
      if (state.voided) {
        // Chunks settled before the slash were paid; the rest of the batch is lost: report it.
        let lost = 0;
        for (let ci = 0; ci < chunkCount(b.leafCount); ci++) {
          if (await this.o.chain.c.settlement.read.chunkSettled([chainId, BigInt(ci)])) continue;
          lost += Math.min(CHUNK_LEAVES, b.leafCount - ci * CHUNK_LEAVES);
        }
        this.o.store.setBatchStatus(b.id, "voided");
        this.o.metrics.batches.inc({ event: "voided" });
        this.o.metrics.unclaimed.inc(lost);
        this.o.log(
          "error",
          `batch ${chainId} was voided (slashed): ${lost} of its ${b.leafCount} leaves will not be paid`,
        );
        continue;
      }
      const x = this.built(b);
      let allDone = true;
      for (let ci = 0; ci < chunkCount(b.leafCount); ci++) {
        if (await this.o.chain.c.settlement.read.chunkSettled([chainId, BigInt(ci)])) continue;
        try {
          await this.#settleChunk(b, x, ci);
          any = true;
        } catch (e) {
          allDone = false;
          this.o.log("warn", `settleChunk ${chainId}/${ci} failed, will retry: ${shortReason(e)}`);
          this.o.metrics.errors.inc({ task: "settle" });
        }
      }
      if (allDone) {
        this.o.store.setBatchStatus(b.id, "settled");
        this.o.metrics.batches.inc({ event: "settled" });
        this.o.chain.invalidatePairs();
      }
    }
    return any;
  }

  /** Which ticket leaves the stored voucher covers; the rest are paid by their own ticket. */
  #payments(leaves: readonly Leaf[], rows: readonly LeafRow[], held: ReadonlySet<number>) {
    const byTicket: { leafIndex: number; ticket: unknown; signature: Hex }[] = [];
    const skip = new Set<number>(held);
    const vouchers = new Map<string, { voucher: Voucher; signature: Hex } | undefined>();
    for (const l of leaves) {
      if (l.kind !== LEAF_TICKET || held.has(l.index)) continue;
      const key = l.requester.toLowerCase();
      if (!vouchers.has(key)) vouchers.set(key, this.o.store.voucher(l.requester));
      const v = vouchers.get(key);
      const row = rows[l.index]!;
      const t = row.ticketId ? this.o.store.ticket(row.ticketId) : undefined;
      if (!t) continue;
      if (!v || t.sequence > v.voucher.throughSequence) {
        byTicket.push({ leafIndex: l.index, ticket: t.ticket, signature: t.signature });
        skip.add(l.index);
      }
    }
    // A group without a voucher gets no payment entry: the contract leaves it unpaid and matches
    // the next payment to the next group by requester, so the order stays aligned.
    const payments = chunkGroups(leaves, skip).flatMap((r: Address) => {
      const v = vouchers.get(r.toLowerCase());
      return v ? [v] : [];
    });
    return { payments, tickets: byTicket.sort((a, b) => a.leafIndex - b.leafIndex) };
  }

  async #heldSet(chainBatchId: bigint): Promise<Set<number>> {
    const held = new Set<number>();
    for (const c of this.o.store.challenges()) {
      if (c.chainBatchId !== chainBatchId) continue;
      const s = await this.o.chain.c.settlement.read.leafStatusOf([chainBatchId, c.leafIndex]);
      if (s === LEAF_STATUS.Held) held.add(c.leafIndex);
    }
    return held;
  }

  async #settleChunk(b: BatchRow, x: Built, ci: number): Promise<void> {
    const chainId = b.chainBatchId!;
    const leaves = x.leaves.slice(ci * CHUNK_LEAVES, (ci + 1) * CHUNK_LEAVES);
    const held = await this.#heldSet(chainId);
    const { payments, tickets } = this.#payments(leaves, x.rows, held);
    const receipt = await this.o.chain.send("settleChunk", () =>
      this.o.chain.c.settlement.write.settleChunk([
        chainId,
        b.header!,
        {
          index: ci,
          groups: chunkLeafGroups(leaves),
          proof: chunkProof(x.tree, ci),
          payments: payments as never,
          tickets: tickets as never,
        },
      ]),
    );
    const [ev] = parseEventLogs({ abi: this.o.chain.c.settlement.abi, logs: receipt.logs, eventName: "ChunkSettled" });
    if (ev) {
      this.o.log("info", `batch ${chainId} chunk ${ci} settled`, {
        paid: String(ev.args.paid),
        toNode: String(ev.args.toNode),
        held: ev.args.heldLeaves,
        unpaid: ev.args.unpaidLeaves,
        byTicket: tickets.length,
      });
      if (ev.args.unpaidLeaves > 0) {
        this.o.metrics.unclaimed.inc(ev.args.unpaidLeaves);
        this.o.log("warn", `batch ${chainId} chunk ${ci}: ${ev.args.unpaidLeaves} leaves could not be claimed`);
      }
    }
  }

  /** Pays leaves that were held by a challenge and have since been cleared. */
  async settleCleared(): Promise<boolean> {
    let any = false;
    for (const c of this.o.store.challenges()) {
      if (c.status === "failed" || c.status === "closed") continue;
      const b = this.o.store.batchByChainId(c.chainBatchId);
      if (!b?.header || b.status === "committing") continue;
      const s = await this.o.chain.c.settlement.read.leafStatusOf([c.chainBatchId, c.leafIndex]);
      if (s === LEAF_STATUS.Paid || s === LEAF_STATUS.Upheld) {
        this.o.store.setChallengeStatus(c.chainBatchId, c.leafIndex, "closed");
        continue;
      }
      if (s !== LEAF_STATUS.Cleared) continue;
      const ci = Math.floor(c.leafIndex / CHUNK_LEAVES);
      if (!(await this.o.chain.c.settlement.read.chunkSettled([c.chainBatchId, BigInt(ci)]))) continue; // paid with its chunk
      const x = this.built(b);
      const leaf = x.leaves[c.leafIndex]!;
      const single = this.#singlePayment(leaf, x.rows[c.leafIndex]!);
      try {
        await this.o.chain.send("settleHeldLeaf", () =>
          this.o.chain.c.settlement.write.settleHeldLeaf([
            c.chainBatchId,
            b.header!,
            leaf,
            x.tree.proof(c.leafIndex),
            single.payments as never,
            single.tickets as never,
          ]),
        );
        this.o.store.setChallengeStatus(c.chainBatchId, c.leafIndex, "closed");
        this.o.log("info", `held leaf ${c.chainBatchId}/${c.leafIndex} paid`);
        any = true;
      } catch (e) {
        this.o.log("warn", `settleHeldLeaf ${c.chainBatchId}/${c.leafIndex} failed, will retry: ${shortReason(e)}`);
      }
    }
    return any;
  }

  #singlePayment(leaf: Leaf, row: LeafRow) {
    if (leaf.kind !== LEAF_TICKET) return { payments: [], tickets: [] };
    const v = this.o.store.voucher(leaf.requester);
    const t = row.ticketId ? this.o.store.ticket(row.ticketId) : undefined;
    if (v && t && t.sequence <= v.voucher.throughSequence) return { payments: [v], tickets: [] };
    if (t) return { payments: [], tickets: [{ leafIndex: leaf.index, ticket: t.ticket, signature: t.signature }] };
    return { payments: v ? [v] : [], tickets: [] };
  }

  /** Withdraws credits from BatchSettlement, ChallengeGame, AuctionMarket and Committee. */
  async withdrawAll(): Promise<void> {
    const c = this.o.chain.c;
    const me = this.o.chain.address;
    const sources: [string, () => Promise<bigint>, () => Promise<Hex>][] = [
      ["settlement", () => c.settlement.read.creditOf([me]), () => c.settlement.write.withdrawCredits()],
      ["game", () => c.game.read.creditOf([me]), () => c.game.write.withdrawCredits()],
      ["market", () => c.market.read.creditOf([me]), () => c.market.write.withdrawCredits()],
      // Appeal fees refunded to the node (an appealed round that could not form).
      ["committee", () => c.committee.read.creditOf([me]), () => c.committee.write.withdrawCredits()],
    ];
    for (const [name, read, write] of sources) {
      const credit = await read();
      if (credit === 0n) continue;
      try {
        await this.o.chain.send(`${name}.withdrawCredits`, write);
        this.o.metrics.earnings.inc({ source: name }, Number(credit));
        this.o.log("info", `withdrew ${credit} from ${name}`);
      } catch (e) {
        this.o.log("warn", `withdrawCredits on ${name} failed (${credit} unclaimed): ${shortReason(e)}`);
        this.o.metrics.errors.inc({ task: "withdraw" });
      }
    }
  }
}
