/**
 * The node's durable store (node:sqlite, WAL, synchronous FULL): every state change is committed
 * before the agent acts on it, so a kill -9 at any point loses nothing. Tables: accepted tickets
 * (per pair sequence and exposure), leaves with their full data, batches, vouchers, auction jobs
 * and bids (salt stored before the commit transaction), challenges, and a key-value table for
 * chain cursors. All amounts are stored as decimal strings.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { Leaf, Ticket, Voucher } from "../lib/encodings.ts";
import type { BatchHeader, PendingLeaf } from "../lib/batch.ts";

/** JSON with bigints as decimal strings tagged `n:`. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `n:${x}` : x));
}
export function fromJson<T>(s: string): T {
  return JSON.parse(s, (_k, x: unknown) =>
    typeof x === "string" && /^n:-?\d+$/.test(x) ? BigInt(x.slice(2)) : x,
  ) as T;
}

export type LeafData = { prompt: string; stop: string[]; seed: bigint; maxTokens: number; tokens: number[] };

export type TicketRow = {
  id: Hex;
  requester: Address;
  sequence: bigint;
  maxCost: bigint;
  amount: bigint | null;
  status: "accepted" | "done" | "failed";
  settled: boolean;
  ticket: Ticket;
  signature: Hex;
};

export type LeafRow = {
  id: number;
  kind: number;
  ref: Hex;
  requester: Address;
  pending: PendingLeaf;
  data: LeafData;
  ticketId: Hex | null;
  batch: number | null;
  leafIndex: number | null;
  createdAt: number;
};

export type BatchStatus = "committing" | "committed" | "settled" | "voided";
export type BatchRow = {
  id: number;
  chainBatchId: bigint | null;
  root: Hex;
  leafCount: number;
  payout: bigint;
  header: BatchHeader | null;
  status: BatchStatus;
  txHash: Hex | null;
  createdAt: number;
};

/** `fetching`: a hash-only job whose input is being fetched and checked before any bid; `refused`: its input did not match. */
export type BidStatus =
  "fetching" | "refused" | "planned" | "committed" | "revealed" | "won" | "lost" | "executed" | "delivered" | "done";
export type JobInput = { prompt: string; stop: string[]; seed: bigint };
export type JobRow = {
  jobId: bigint;
  model: Hex;
  requester: Address;
  price: bigint;
  salt: Hex;
  status: BidStatus;
  commitEnd: bigint;
  revealEnd: bigint;
  deadline: bigint;
  maxTokens: number;
  inputHash: Hex;
  /** Hash-only jobs: where the input is, and the input once fetched and checked against inputHash. */
  inputUri: string | null;
  input: JobInput | null;
  output: { prompt: string; stop: string[]; seed: bigint; tokens: number[]; text: string; outputHash: Hex } | null;
  note: string | null;
};

export type ChallengeRow = {
  chainBatchId: bigint;
  leafIndex: number;
  kind: number;
  deadline: bigint;
  status: "open" | "answered" | "closed" | "failed";
  txHash: Hex | null;
  /** Wrong-output challenges: the committee dispute the answer opened, and how it ended. */
  disputeId: bigint | null;
  /** `cleared` (the node won: bond credited) or `upheld` (the node lost: slashed), once known. */
  outcome: "cleared" | "upheld" | null;
  bondCredit: bigint | null;
  slashed: bigint | null;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pairs (requester TEXT PRIMARY KEY, last_sequence TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
  id TEXT PRIMARY KEY, requester TEXT NOT NULL, sequence TEXT NOT NULL, max_cost TEXT NOT NULL,
  amount TEXT, status TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0,
  ticket TEXT NOT NULL, signature TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_open ON tickets (requester, settled);
CREATE TABLE IF NOT EXISTS leaves (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, ref TEXT NOT NULL UNIQUE,
  requester TEXT NOT NULL, pending TEXT NOT NULL, data TEXT NOT NULL, ticket_id TEXT,
  batch INTEGER, leaf_index INTEGER, created_at INTEGER NOT NULL, expiry INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS leaves_batch ON leaves (batch);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT, chain_batch_id TEXT UNIQUE, root TEXT NOT NULL,
  leaf_count INTEGER NOT NULL, payout TEXT NOT NULL, header TEXT, status TEXT NOT NULL,
  tx_hash TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (
  requester TEXT PRIMARY KEY, voucher TEXT NOT NULL, signature TEXT NOT NULL,
  cumulative TEXT NOT NULL, through_sequence TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY, model TEXT NOT NULL, requester TEXT NOT NULL, price TEXT NOT NULL,
  salt TEXT NOT NULL, status TEXT NOT NULL, commit_end TEXT NOT NULL, reveal_end TEXT NOT NULL,
  deadline TEXT NOT NULL, max_tokens INTEGER NOT NULL, input_hash TEXT NOT NULL, output TEXT, note TEXT,
  input_uri TEXT, input TEXT);
CREATE TABLE IF NOT EXISTS challenges (
  batch_id TEXT NOT NULL, leaf_index INTEGER NOT NULL, kind INTEGER NOT NULL, deadline TEXT NOT NULL,
  status TEXT NOT NULL, tx_hash TEXT, dispute_id TEXT, outcome TEXT, bond_credit TEXT, slashed TEXT,
  PRIMARY KEY (batch_id, leaf_index));
`;

type Row = Record<string, unknown>;

export class NodeStore {
  readonly db: DatabaseSync;
  readonly path: string;
  /**
   * Hot-path views of the tables, kept by this (the only) writer: the last accepted sequence and
   * the outstanding exposure per requester. An exposure entry is loaded by one scan on first use,
   * updated by acceptTicket/finishTicket and dropped by anything rarer (failures, settlement).
   */
  readonly #lastSequence = new Map<string, bigint>();
  readonly #exposure = new Map<string, bigint>();
  readonly #statements = new Map<string, StatementSync>();

  constructor(dataDir: string, durability: "process" | "full" = "process") {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, "node.sqlite");
    this.db = new DatabaseSync(this.path);
    // WAL with synchronous NORMAL: a committed transaction survives a process crash (kill -9);
    // only an OS crash or power loss may drop the last ones. `durability: "full"` fsyncs each commit.
    this.db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${durability === "full" ? "FULL" : "NORMAL"}; PRAGMA busy_timeout = 5000;`,
    );
    this.db.exec(SCHEMA);
    // Stores created before hash-only job inputs were fetched lack these columns.
    const cols = new Set((this.#stmt("PRAGMA table_info(jobs)").all() as Row[]).map((r) => r.name as string));
    if (!cols.has("input_uri")) this.db.exec("ALTER TABLE jobs ADD COLUMN input_uri TEXT");
    if (!cols.has("input")) this.db.exec("ALTER TABLE jobs ADD COLUMN input TEXT");
    const ccols = new Set((this.#stmt("PRAGMA table_info(challenges)").all() as Row[]).map((r) => r.name as string));
    for (const c of ["dispute_id", "outcome", "bond_credit", "slashed"])
      if (!ccols.has(c)) this.db.exec(`ALTER TABLE challenges ADD COLUMN ${c} TEXT`);
  }

  close(): void {
    this.#statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  /** Prepared statements are compiled once and reused (the request path runs a few per request). */
  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one transaction (committed to disk before returning). */
  tx<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  // ---------------------------------------------------------------- key-value

  get(key: string): string | undefined {
    const r = this.#stmt("SELECT value FROM kv WHERE key = ?").get(key) as Row | undefined;
    return r?.value as string | undefined;
  }

  set(key: string, value: string): void {
    this.db
      .prepare("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(key, value);
  }

  // ---------------------------------------------------------------- tickets

  lastSequence(requester: Address): bigint {
    const key = requester.toLowerCase();
    const hit = this.#lastSequence.get(key);
    if (hit !== undefined) return hit;
    const r = this.#stmt("SELECT last_sequence FROM pairs WHERE requester = ?").get(key) as Row | undefined;
    const v = r ? BigInt(r.last_sequence as string) : 0n;
    this.#lastSequence.set(key, v);
    return v;
  }

  /** Unpaid exposure of the pair: max cost of running tickets plus amounts of finished, unsettled ones. */
  outstanding(requester: Address): bigint {
    const key = requester.toLowerCase();
    const hit = this.#exposure.get(key);
    if (hit !== undefined) return hit;
    const v = this.outstandingFromTable(key as Address);
    this.#exposure.set(key, v);
    return v;
  }

  /** The same sum computed from the tickets table (one scan; the cache's source of truth). */
  outstandingFromTable(requester: Address): bigint {
    const rows = this.db
      .prepare(
        "SELECT max_cost, amount, status FROM tickets WHERE requester = ? AND settled = 0 AND status != 'failed'",
      )
      .all(requester.toLowerCase()) as Row[];
    let sum = 0n;
    for (const r of rows) sum += BigInt((r.status === "accepted" ? r.max_cost : (r.amount ?? "0")) as string);
    return sum;
  }

  /** Records an accepted ticket and the pair's new last sequence (one transaction). */
  acceptTicket(id: Hex, ticket: Ticket, signature: Hex, maxCost: bigint): void {
    const requester = ticket.requester.toLowerCase();
    this.tx(() => {
      this.db
        .prepare(
          "INSERT INTO pairs (requester, last_sequence) VALUES (?, ?) ON CONFLICT(requester) DO UPDATE SET last_sequence = excluded.last_sequence",
        )
        .run(requester, String(ticket.sequence));
      this.db
        .prepare(
          "INSERT INTO tickets (id, requester, sequence, max_cost, status, ticket, signature, created_at) VALUES (?, ?, ?, ?, 'accepted', ?, ?, ?)",
        )
        .run(id, requester, String(ticket.sequence), String(maxCost), toJson(ticket), signature, Date.now());
    });
    this.#lastSequence.set(requester, ticket.sequence);
    const e = this.#exposure.get(requester);
    if (e !== undefined) this.#exposure.set(requester, e + maxCost);
  }

  failTicket(id: Hex): void {
    const r = this.db
      .prepare("UPDATE tickets SET status = 'failed' WHERE id = ? AND status = 'accepted' RETURNING requester")
      .get(id) as Row | undefined;
    if (r) this.#exposure.delete(r.requester as string);
  }

  /** Tickets left running by a crash: no receipt was signed, so they are void. */
  failInterruptedTickets(): number {
    this.#exposure.clear();
    return Number(this.#stmt("UPDATE tickets SET status = 'failed' WHERE status = 'accepted'").run().changes);
  }

  ticket(id: Hex): TicketRow | undefined {
    const r = this.#stmt("SELECT * FROM tickets WHERE id = ?").get(id) as Row | undefined;
    return r ? ticketRow(r) : undefined;
  }

  /** A finished direct request: the ticket's amount and its leaf, in one transaction. */
  finishTicket(id: Hex, amount: bigint, leaf: PendingLeaf, data: LeafData): void {
    const before = this.tx(() => {
      const r = this.#stmt("SELECT requester, max_cost, status, settled FROM tickets WHERE id = ?").get(id) as
        Row | undefined;
      this.#stmt("UPDATE tickets SET status = 'done', amount = ? WHERE id = ?").run(String(amount), id);
      this.#insertLeaf(leaf, data, id);
      return r;
    });
    if (!before) return;
    const key = before.requester as string;
    const e = this.#exposure.get(key);
    if (e === undefined) return;
    // Running (max cost reserved) → done (the real amount); anything unusual reloads from the table.
    if (before.status === "accepted" && Number(before.settled) === 0)
      this.#exposure.set(key, e - BigInt(before.max_cost as string) + amount);
    else this.#exposure.delete(key);
  }

  // ---------------------------------------------------------------- leaves

  #insertLeaf(leaf: PendingLeaf, data: LeafData, ticketId: Hex | null): void {
    this.db
      .prepare(
        "INSERT INTO leaves (kind, ref, requester, pending, data, ticket_id, created_at, expiry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        leaf.kind,
        leaf.ref,
        leaf.requester.toLowerCase(),
        toJson(leaf),
        toJson(data),
        ticketId,
        Date.now(),
        leaf.expiry > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(leaf.expiry),
      );
  }

  addAuctionLeaf(jobId: bigint, leaf: PendingLeaf, data: LeafData): void {
    this.tx(() => {
      const exists = this.#stmt("SELECT 1 FROM leaves WHERE ref = ?").get(leaf.ref);
      if (!exists) this.#insertLeaf(leaf, data, null);
      this.#stmt("UPDATE jobs SET status = 'done' WHERE job_id = ?").run(String(jobId));
    });
  }

  /** Count, oldest creation time and earliest ticket expiry of the leaves waiting for a batch. */
  pendingInfo(): { count: number; oldestAt: number; minTicketExpiry: bigint | null } {
    const r = this.db
      .prepare(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest, MIN(CASE WHEN kind = 0 THEN expiry END) AS exp FROM leaves WHERE batch IS NULL",
      )
      .get() as Row;
    return {
      count: Number(r.n),
      oldestAt: Number(r.oldest ?? 0),
      minTicketExpiry: r.exp === null || r.exp === undefined ? null : BigInt(r.exp as number | bigint),
    };
  }

  unbatchedLeaves(limit: number): LeafRow[] {
    return (this.#stmt("SELECT * FROM leaves WHERE batch IS NULL ORDER BY id LIMIT ?").all(limit) as Row[]).map(
      leafRow,
    );
  }

  leavesOf(batch: number): LeafRow[] {
    return (this.#stmt("SELECT * FROM leaves WHERE batch = ? ORDER BY leaf_index").all(batch) as Row[]).map(leafRow);
  }

  // ---------------------------------------------------------------- batches

  /** Assigns leaves (by ref → index) to a new batch in state `committing`, before the transaction is sent. */
  createBatch(root: Hex, leaves: readonly Leaf[], payout: bigint): number {
    return this.tx(() => {
      const r = this.db
        .prepare("INSERT INTO batches (root, leaf_count, payout, status, created_at) VALUES (?, ?, ?, 'committing', ?)")
        .run(root, leaves.length, String(payout), Date.now());
      const id = Number(r.lastInsertRowid);
      const upd = this.#stmt("UPDATE leaves SET batch = ?, leaf_index = ?, pending = ? WHERE ref = ?");
      for (const l of leaves) {
        const { index: _i, ...pending } = l;
        upd.run(id, l.index, toJson(pending), l.ref);
      }
      return id;
    });
  }

  setBatchTx(id: number, txHash: Hex): void {
    this.#stmt("UPDATE batches SET tx_hash = ? WHERE id = ?").run(txHash, id);
  }

  markBatchCommitted(id: number, chainBatchId: bigint, header: BatchHeader): void {
    this.db
      .prepare("UPDATE batches SET chain_batch_id = ?, header = ?, status = 'committed' WHERE id = ?")
      .run(String(chainBatchId), toJson(header), id);
  }

  /** A commit that reverted: its leaves go back to the pool. */
  dropBatch(id: number): void {
    this.tx(() => {
      this.#stmt("UPDATE leaves SET batch = NULL, leaf_index = NULL WHERE batch = ?").run(id);
      this.#stmt("DELETE FROM batches WHERE id = ?").run(id);
    });
  }

  /** Settled or voided: its tickets no longer count as exposure. */
  setBatchStatus(id: number, status: BatchStatus): void {
    if (status === "settled" || status === "voided") this.#exposure.clear();
    this.tx(() => {
      this.#stmt("UPDATE batches SET status = ? WHERE id = ?").run(status, id);
      if (status === "settled" || status === "voided") {
        this.db
          .prepare("UPDATE tickets SET settled = 1 WHERE id IN (SELECT ticket_id FROM leaves WHERE batch = ?)")
          .run(id);
      }
    });
  }

  batches(status?: BatchStatus): BatchRow[] {
    const rows = (
      status
        ? this.#stmt("SELECT * FROM batches WHERE status = ? ORDER BY id").all(status)
        : this.#stmt("SELECT * FROM batches ORDER BY id").all()
    ) as Row[];
    return rows.map(batchRow);
  }

  batchByChainId(chainBatchId: bigint): BatchRow | undefined {
    const r = this.#stmt("SELECT * FROM batches WHERE chain_batch_id = ?").get(String(chainBatchId)) as Row | undefined;
    return r ? batchRow(r) : undefined;
  }

  // ---------------------------------------------------------------- vouchers

  voucher(requester: Address): { voucher: Voucher; signature: Hex } | undefined {
    const r = this.db
      .prepare("SELECT voucher, signature FROM vouchers WHERE requester = ?")
      .get(requester.toLowerCase()) as Row | undefined;
    return r ? { voucher: fromJson<Voucher>(r.voucher as string), signature: r.signature as Hex } : undefined;
  }

  saveVoucher(voucher: Voucher, signature: Hex): void {
    this.db
      .prepare(
        `INSERT INTO vouchers (requester, voucher, signature, cumulative, through_sequence) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(requester) DO UPDATE SET voucher = excluded.voucher, signature = excluded.signature,
         cumulative = excluded.cumulative, through_sequence = excluded.through_sequence`,
      )
      .run(
        voucher.requester.toLowerCase(),
        toJson(voucher),
        signature,
        String(voucher.cumulativeAmount),
        String(voucher.throughSequence),
      );
  }

  // ---------------------------------------------------------------- auctions

  job(jobId: bigint): JobRow | undefined {
    const r = this.#stmt("SELECT * FROM jobs WHERE job_id = ?").get(String(jobId)) as Row | undefined;
    return r ? jobRow(r) : undefined;
  }

  jobs(statuses: readonly BidStatus[]): JobRow[] {
    const q = `SELECT * FROM jobs WHERE status IN (${statuses.map(() => "?").join(",")}) ORDER BY CAST(job_id AS INTEGER)`;
    return (this.#stmt(q).all(...statuses) as Row[]).map(jobRow);
  }

  /**
   * A planned bid, salt included: written before the commit transaction is sent. A hash-only job
   * (`inputUri` set, no `input` yet) starts in `fetching` instead.
   */
  planBid(j: Omit<JobRow, "status" | "output" | "note" | "inputUri" | "input"> & { inputUri?: string }): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO jobs (job_id, model, requester, price, salt, status, commit_end, reveal_end, deadline, max_tokens, input_hash, input_uri)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        String(j.jobId),
        j.model,
        j.requester,
        String(j.price),
        j.salt,
        j.inputUri === undefined ? "planned" : "fetching",
        String(j.commitEnd),
        String(j.revealEnd),
        String(j.deadline),
        j.maxTokens,
        j.inputHash,
        j.inputUri ?? null,
      );
  }

  /** A hash-only job's input, checked against its inputHash: the bid may now be committed. */
  setJobInput(jobId: bigint, input: JobInput): void {
    this.db
      .prepare("UPDATE jobs SET input = ?, status = 'planned' WHERE job_id = ? AND status = 'fetching'")
      .run(toJson(input), String(jobId));
  }

  setJobStatus(jobId: bigint, status: BidStatus, note?: string): void {
    this.db
      .prepare("UPDATE jobs SET status = ?, note = COALESCE(?, note) WHERE job_id = ?")
      .run(status, note ?? null, String(jobId));
  }

  setJobOutput(jobId: bigint, output: NonNullable<JobRow["output"]>): void {
    this.db
      .prepare("UPDATE jobs SET output = ?, status = 'executed' WHERE job_id = ?")
      .run(toJson(output), String(jobId));
  }

  // ---------------------------------------------------------------- challenges

  addChallenge(c: Pick<ChallengeRow, "chainBatchId" | "leafIndex" | "kind" | "deadline">): boolean {
    const r = this.db
      .prepare(
        "INSERT OR IGNORE INTO challenges (batch_id, leaf_index, kind, deadline, status) VALUES (?, ?, ?, ?, 'open')",
      )
      .run(String(c.chainBatchId), c.leafIndex, c.kind, String(c.deadline));
    return Number(r.changes) > 0;
  }

  challenges(status?: ChallengeRow["status"]): ChallengeRow[] {
    const rows = (
      status
        ? this.#stmt("SELECT * FROM challenges WHERE status = ?").all(status)
        : this.#stmt("SELECT * FROM challenges").all()
    ) as Row[];
    return rows.map((r) => ({
      chainBatchId: BigInt(r.batch_id as string),
      leafIndex: Number(r.leaf_index),
      kind: Number(r.kind),
      deadline: BigInt(r.deadline as string),
      status: r.status as ChallengeRow["status"],
      txHash: (r.tx_hash as Hex | null) ?? null,
      disputeId: r.dispute_id === null || r.dispute_id === undefined ? null : BigInt(r.dispute_id as string),
      outcome: (r.outcome as ChallengeRow["outcome"]) ?? null,
      bondCredit: r.bond_credit === null || r.bond_credit === undefined ? null : BigInt(r.bond_credit as string),
      slashed: r.slashed === null || r.slashed === undefined ? null : BigInt(r.slashed as string),
    }));
  }

  /** The committee dispute a wrong-output answer opened. */
  setChallengeDispute(chainBatchId: bigint, leafIndex: number, disputeId: bigint): void {
    this.db
      .prepare("UPDATE challenges SET dispute_id = ? WHERE batch_id = ? AND leaf_index = ?")
      .run(String(disputeId), String(chainBatchId), leafIndex);
  }

  /** How a challenge ended on chain: the bond credited to the node, or what the node was slashed. */
  setChallengeOutcome(
    chainBatchId: bigint,
    leafIndex: number,
    outcome: "cleared" | "upheld",
    bondCredit: bigint,
    slashed: bigint,
  ): void {
    this.db
      .prepare("UPDATE challenges SET outcome = ?, bond_credit = ?, slashed = ? WHERE batch_id = ? AND leaf_index = ?")
      .run(outcome, String(bondCredit), String(slashed), String(chainBatchId), leafIndex);
  }

  setChallengeStatus(chainBatchId: bigint, leafIndex: number, status: ChallengeRow["status"], txHash?: Hex): void {
    this.db
      .prepare("UPDATE challenges SET status = ?, tx_hash = COALESCE(?, tx_hash) WHERE batch_id = ? AND leaf_index = ?")
      .run(status, txHash ?? null, String(chainBatchId), leafIndex);
  }
}

function ticketRow(r: Row): TicketRow {
  return {
    id: r.id as Hex,
    requester: r.requester as Address,
    sequence: BigInt(r.sequence as string),
    maxCost: BigInt(r.max_cost as string),
    amount: r.amount === null ? null : BigInt(r.amount as string),
    status: r.status as TicketRow["status"],
    settled: Number(r.settled) === 1,
    ticket: fromJson<Ticket>(r.ticket as string),
    signature: r.signature as Hex,
  };
}

function leafRow(r: Row): LeafRow {
  return {
    id: Number(r.id),
    kind: Number(r.kind),
    ref: r.ref as Hex,
    requester: r.requester as Address,
    pending: fromJson<PendingLeaf>(r.pending as string),
    data: fromJson<LeafData>(r.data as string),
    ticketId: (r.ticket_id as Hex | null) ?? null,
    batch: r.batch === null ? null : Number(r.batch),
    leafIndex: r.leaf_index === null ? null : Number(r.leaf_index),
    createdAt: Number(r.created_at),
  };
}

function batchRow(r: Row): BatchRow {
  return {
    id: Number(r.id),
    chainBatchId: r.chain_batch_id === null ? null : BigInt(r.chain_batch_id as string),
    root: r.root as Hex,
    leafCount: Number(r.leaf_count),
    payout: BigInt(r.payout as string),
    header: r.header === null ? null : fromJson<BatchHeader>(r.header as string),
    status: r.status as BatchStatus,
    txHash: (r.tx_hash as Hex | null) ?? null,
    createdAt: Number(r.created_at),
  };
}

function jobRow(r: Row): JobRow {
  return {
    jobId: BigInt(r.job_id as string),
    model: r.model as Hex,
    requester: r.requester as Address,
    price: BigInt(r.price as string),
    salt: r.salt as Hex,
    status: r.status as BidStatus,
    commitEnd: BigInt(r.commit_end as string),
    revealEnd: BigInt(r.reveal_end as string),
    deadline: BigInt(r.deadline as string),
    maxTokens: Number(r.max_tokens),
    inputHash: r.input_hash as Hex,
    inputUri: (r.input_uri as string | null) ?? null,
    input: r.input === null || r.input === undefined ? null : fromJson<JobInput>(r.input as string),
    output: r.output === null ? null : fromJson<NonNullable<JobRow["output"]>>(r.output as string),
    note: (r.note as string | null) ?? null,
  };
}
