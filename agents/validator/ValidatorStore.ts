/**
 * The validator's durable state in node:sqlite (WAL, synchronous FULL): the event cursor, batch
 * headers, sampled leaves and their outcomes, challenges with their salts (written before the
 * commit transaction is sent), committee votes with their salts, profiles seen, and per-node
 * history. A validator killed with SIGKILL resumes from here.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { BatchHeader } from "../lib/batch.ts";

export type ChallengeState =
  | "new" // salt stored, commit not yet seen on chain
  | "committed"
  | "revealed"
  | "disputed"
  | "won" // upheld: the node was slashed
  | "lost" // cleared: the node answered or won
  | "expired" // commit window closed before the commit landed
  | "unrevealed" // committed but not revealed in time (no bond was taken; the slot is free again)
  | "reclaimed"; // older data directories: a commitment whose bond was taken back

export const TERMINAL_CHALLENGE_STATES: readonly ChallengeState[] = [
  "won",
  "lost",
  "expired",
  "unrevealed",
  "reclaimed",
];

export type ChallengeRow = {
  commitment: Hex;
  /** The ChallengeGame slot (of this validator) that carries the challenge; reused once it ends. */
  slot: number;
  batchId: bigint;
  leafIndex: number;
  kind: number;
  salt: Hex;
  node: Address;
  state: ChallengeState;
  reason: string;
  committedAt: bigint | null;
  disputeId: bigint | null;
};

export type VoteState = "seated" | "abstain" | "decided" | "committed" | "revealed" | "done";
export type VoteRow = {
  disputeId: bigint;
  round: number;
  state: VoteState;
  guilty: boolean | null;
  salt: Hex | null;
  reason: string;
};

export type SampleRow = {
  batchId: bigint;
  leafIndex: number;
  node: Address;
  state: "pending" | "done";
  outcome: string | null;
  mode: string | null;
  reason: string | null;
};

type Row = Record<string, unknown>;

export class ValidatorStore {
  readonly db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new DatabaseSync(join(dataDir, "validator.sqlite"));
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS batches (
        batch_id TEXT PRIMARY KEY, node TEXT NOT NULL, leaf_count INTEGER NOT NULL,
        committed_at TEXT NOT NULL, payout TEXT NOT NULL, lock TEXT NOT NULL, root TEXT NOT NULL,
        block INTEGER NOT NULL, p REAL);
      CREATE INDEX IF NOT EXISTS batches_node ON batches(node);
      CREATE TABLE IF NOT EXISTS samples (
        batch_id TEXT NOT NULL, leaf_index INTEGER NOT NULL, node TEXT NOT NULL, state TEXT NOT NULL,
        outcome TEXT, mode TEXT, reason TEXT, updated_at INTEGER NOT NULL,
        PRIMARY KEY (batch_id, leaf_index));
      CREATE TABLE IF NOT EXISTS challenges (
        commitment TEXT PRIMARY KEY, batch_id TEXT NOT NULL, leaf_index INTEGER NOT NULL,
        kind INTEGER NOT NULL, salt TEXT NOT NULL, node TEXT NOT NULL, state TEXT NOT NULL,
        reason TEXT NOT NULL, committed_at TEXT, dispute_id TEXT, updated_at INTEGER NOT NULL,
        slot INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS votes (
        dispute_id TEXT NOT NULL, round INTEGER NOT NULL, state TEXT NOT NULL, guilty INTEGER,
        salt TEXT, reason TEXT NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (dispute_id, round));
      CREATE TABLE IF NOT EXISTS profiles (hash TEXT PRIMARY KEY, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS node_history (
        node TEXT PRIMARY KEY, leaves_seen INTEGER NOT NULL DEFAULT 0,
        leaves_checked INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0);
    `);
    // Data directories from before challenge slots: add the column (old rows keep slot 0).
    const cols = this.db.prepare("PRAGMA table_info(challenges)").all() as Row[];
    if (!cols.some((c) => c.name === "slot"))
      this.db.exec("ALTER TABLE challenges ADD COLUMN slot INTEGER NOT NULL DEFAULT 0");
  }

  close(): void {
    this.db.close();
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined;
    return r?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(key, value);
  }

  // ---------------------------------------------------------------- batches and history

  /** Records a batch once; returns false when it was already known. */
  addBatch(batchId: bigint, h: BatchHeader, block: bigint): boolean {
    const r = this.db
      .prepare(
        "INSERT OR IGNORE INTO batches (batch_id, node, leaf_count, committed_at, payout, lock, root, block) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        batchId.toString(),
        h.node.toLowerCase(),
        h.leafCount,
        h.committedAt.toString(),
        h.payout.toString(),
        h.lock.toString(),
        h.root,
        Number(block),
      );
    return r.changes > 0;
  }

  setBatchP(batchId: bigint, p: number): void {
    this.db.prepare("UPDATE batches SET p = ? WHERE batch_id = ?").run(p, batchId.toString());
  }

  batch(batchId: bigint): BatchHeader | undefined {
    const r = this.db.prepare("SELECT * FROM batches WHERE batch_id = ?").get(batchId.toString()) as Row | undefined;
    return r === undefined ? undefined : toHeader(r);
  }

  batchesOf(node: Address, limit = 100): Array<{ batchId: bigint; header: BatchHeader }> {
    const rows = this.db
      .prepare("SELECT * FROM batches WHERE node = ? ORDER BY CAST(batch_id AS INTEGER) DESC LIMIT ?")
      .all(node.toLowerCase(), limit) as Row[];
    return rows.map((r) => ({ batchId: BigInt(r.batch_id as string), header: toHeader(r) }));
  }

  history(node: Address): { leavesSeen: number; leavesChecked: number; failures: number } {
    const r = this.db.prepare("SELECT * FROM node_history WHERE node = ?").get(node.toLowerCase()) as Row | undefined;
    return {
      leavesSeen: Number(r?.leaves_seen ?? 0),
      leavesChecked: Number(r?.leaves_checked ?? 0),
      failures: Number(r?.failures ?? 0),
    };
  }

  bumpHistory(node: Address, d: { seen?: number; checked?: number; failures?: number }): void {
    this.db
      .prepare(
        `INSERT INTO node_history (node, leaves_seen, leaves_checked, failures) VALUES (?, ?, ?, ?)
         ON CONFLICT(node) DO UPDATE SET leaves_seen = leaves_seen + excluded.leaves_seen,
           leaves_checked = leaves_checked + excluded.leaves_checked, failures = failures + excluded.failures`,
      )
      .run(node.toLowerCase(), d.seen ?? 0, d.checked ?? 0, d.failures ?? 0);
  }

  // ---------------------------------------------------------------- samples

  addSample(batchId: bigint, leafIndex: number, node: Address): void {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO samples (batch_id, leaf_index, node, state, updated_at) VALUES (?, ?, ?, 'pending', ?)",
      )
      .run(batchId.toString(), leafIndex, node.toLowerCase(), Date.now());
  }

  finishSample(batchId: bigint, leafIndex: number, outcome: string, mode: string | null, reason: string): void {
    this.db
      .prepare(
        "UPDATE samples SET state = 'done', outcome = ?, mode = ?, reason = ?, updated_at = ? WHERE batch_id = ? AND leaf_index = ?",
      )
      .run(outcome, mode, reason, Date.now(), batchId.toString(), leafIndex);
  }

  pendingSamples(): SampleRow[] {
    return (this.db.prepare("SELECT * FROM samples WHERE state = 'pending' ORDER BY updated_at").all() as Row[]).map(
      toSample,
    );
  }

  samples(): SampleRow[] {
    return (this.db.prepare("SELECT * FROM samples ORDER BY CAST(batch_id AS INTEGER), leaf_index").all() as Row[]).map(
      toSample,
    );
  }

  // ---------------------------------------------------------------- challenges

  /** Stores a new challenge (salt first, before anything is sent) in the lowest slot no live challenge uses. */
  addChallenge(c: Omit<ChallengeRow, "state" | "committedAt" | "disputeId" | "slot">): ChallengeRow {
    const used = new Set(this.activeChallenges().map((x) => x.slot));
    let slot = 1;
    while (used.has(slot)) slot++;
    this.db
      .prepare(
        "INSERT INTO challenges (commitment, batch_id, leaf_index, kind, salt, node, state, reason, updated_at, slot) VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)",
      )
      .run(
        c.commitment,
        c.batchId.toString(),
        c.leafIndex,
        c.kind,
        c.salt,
        c.node.toLowerCase(),
        c.reason,
        Date.now(),
        slot,
      );
    return this.challenge(c.commitment)!;
  }

  updateChallenge(
    commitment: Hex,
    patch: { state?: ChallengeState; committedAt?: bigint; disputeId?: bigint; reason?: string },
  ): void {
    const cur = this.challenge(commitment);
    if (!cur) return;
    this.db
      .prepare(
        "UPDATE challenges SET state = ?, committed_at = ?, dispute_id = ?, reason = ?, updated_at = ? WHERE commitment = ?",
      )
      .run(
        patch.state ?? cur.state,
        (patch.committedAt ?? cur.committedAt)?.toString() ?? null,
        (patch.disputeId ?? cur.disputeId)?.toString() ?? null,
        patch.reason ?? cur.reason,
        Date.now(),
        commitment,
      );
  }

  challenge(commitment: Hex): ChallengeRow | undefined {
    const r = this.db.prepare("SELECT * FROM challenges WHERE commitment = ?").get(commitment) as Row | undefined;
    return r === undefined ? undefined : toChallenge(r);
  }

  challengeOfLeaf(batchId: bigint, leafIndex: number): ChallengeRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM challenges WHERE batch_id = ? AND leaf_index = ? ORDER BY updated_at DESC")
      .get(batchId.toString(), leafIndex) as Row | undefined;
    return r === undefined ? undefined : toChallenge(r);
  }

  activeChallenges(): ChallengeRow[] {
    const terminal = TERMINAL_CHALLENGE_STATES.map((s) => `'${s}'`).join(",");
    return (this.db.prepare(`SELECT * FROM challenges WHERE state NOT IN (${terminal})`).all() as Row[]).map(
      toChallenge,
    );
  }

  challenges(): ChallengeRow[] {
    return (this.db.prepare("SELECT * FROM challenges ORDER BY updated_at").all() as Row[]).map(toChallenge);
  }

  // ---------------------------------------------------------------- votes

  addSeat(disputeId: bigint, round: number): boolean {
    const r = this.db
      .prepare(
        "INSERT OR IGNORE INTO votes (dispute_id, round, state, reason, updated_at) VALUES (?, ?, 'seated', '', ?)",
      )
      .run(disputeId.toString(), round, Date.now());
    return r.changes > 0;
  }

  updateVote(
    disputeId: bigint,
    round: number,
    patch: { state: VoteState; guilty?: boolean; salt?: Hex; reason?: string },
  ): void {
    const cur = this.vote(disputeId, round);
    if (!cur) return;
    const guilty = patch.guilty ?? cur.guilty;
    this.db
      .prepare(
        "UPDATE votes SET state = ?, guilty = ?, salt = ?, reason = ?, updated_at = ? WHERE dispute_id = ? AND round = ?",
      )
      .run(
        patch.state,
        guilty === null ? null : guilty ? 1 : 0,
        patch.salt ?? cur.salt,
        patch.reason ?? cur.reason,
        Date.now(),
        disputeId.toString(),
        round,
      );
  }

  vote(disputeId: bigint, round: number): VoteRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM votes WHERE dispute_id = ? AND round = ?")
      .get(disputeId.toString(), round) as Row | undefined;
    return r === undefined ? undefined : toVote(r);
  }

  activeVotes(): VoteRow[] {
    return (this.db.prepare("SELECT * FROM votes WHERE state NOT IN ('done')").all() as Row[]).map(toVote);
  }

  votes(): VoteRow[] {
    return (this.db.prepare("SELECT * FROM votes").all() as Row[]).map(toVote);
  }

  // ---------------------------------------------------------------- profiles

  addProfile(hash: Hex, json: string): void {
    this.db.prepare("INSERT OR IGNORE INTO profiles (hash, json) VALUES (?, ?)").run(hash.toLowerCase(), json);
  }

  profileJson(hash: Hex): string | undefined {
    const r = this.db.prepare("SELECT json FROM profiles WHERE hash = ?").get(hash.toLowerCase()) as Row | undefined;
    return r?.json as string | undefined;
  }
}

function toHeader(r: Row): BatchHeader {
  return {
    node: r.node as Address,
    leafCount: Number(r.leaf_count),
    committedAt: BigInt(r.committed_at as string),
    payout: BigInt(r.payout as string),
    lock: BigInt(r.lock as string),
    root: r.root as Hex,
  };
}

function toSample(r: Row): SampleRow {
  return {
    batchId: BigInt(r.batch_id as string),
    leafIndex: Number(r.leaf_index),
    node: r.node as Address,
    state: r.state as SampleRow["state"],
    outcome: (r.outcome as string | null) ?? null,
    mode: (r.mode as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
  };
}

function toChallenge(r: Row): ChallengeRow {
  return {
    commitment: r.commitment as Hex,
    slot: Number(r.slot),
    batchId: BigInt(r.batch_id as string),
    leafIndex: Number(r.leaf_index),
    kind: Number(r.kind),
    salt: r.salt as Hex,
    node: r.node as Address,
    state: r.state as ChallengeState,
    reason: r.reason as string,
    committedAt: r.committed_at === null ? null : BigInt(r.committed_at as string),
    disputeId: r.dispute_id === null ? null : BigInt(r.dispute_id as string),
  };
}

function toVote(r: Row): VoteRow {
  return {
    disputeId: BigInt(r.dispute_id as string),
    round: Number(r.round),
    state: r.state as VoteState,
    guilty: r.guilty === null ? null : Number(r.guilty) === 1,
    salt: (r.salt as Hex | null) ?? null,
    reason: r.reason as string,
  };
}
