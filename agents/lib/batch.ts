/**
 * Building and settling batches off-chain: orders leaves so that one voucher pays each requester
 * group, assigns indices, builds the positional tree, and produces the calldata of
 * `BatchSettlement.settleChunk` for each 256-leaf chunk (spec/encodings.md, "Batch trees").
 */
import type { Address, Hex } from "viem";
import { LEAF_TICKET, leafHash, type Leaf } from "./encodings.ts";
import { CHUNK_LEAVES, PositionalTree } from "./merkle.ts";

/** A leaf before it has a position. */
export type PendingLeaf = Omit<Leaf, "index">;

export type BatchHeader = {
  node: Address;
  leafCount: number;
  committedAt: bigint;
  payout: bigint;
  lock: bigint;
  root: Hex;
};

export type BuiltBatch = {
  leaves: Leaf[];
  hashes: Hex[];
  tree: PositionalTree;
  root: Hex;
  payout: bigint;
};

/**
 * Orders leaves (auction leaves first, then ticket leaves grouped by requester and model, each
 * group in its original order), numbers them and builds the tree. `payout` is the sum of amounts.
 */
export function buildBatch(pending: readonly PendingLeaf[]): BuiltBatch {
  if (pending.length === 0) throw new RangeError("a batch needs at least one leaf");
  const keyed = pending.map((l, i) => ({
    l,
    i,
    key: l.kind === LEAF_TICKET ? `1:${l.requester.toLowerCase()}:${l.model}` : `0:`,
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  const leaves: Leaf[] = keyed.map(({ l }, index) => ({ ...l, index }));
  const hashes = leaves.map(leafHash);
  const tree = new PositionalTree(hashes);
  const payout = leaves.reduce((s, l) => s + l.amount, 0n);
  return { leaves, hashes, tree, root: tree.root, payout };
}

export function chunkCount(leafCount: number): number {
  return Math.ceil(leafCount / CHUNK_LEAVES);
}

/** The proof of chunk `chunkIndex`'s root in the upper tree (siblings above height 8). */
export function chunkProof(tree: PositionalTree, chunkIndex: number): Hex[] {
  const full = tree.proof(chunkIndex * CHUNK_LEAVES);
  return tree.depth <= 8 ? [] : full.slice(8);
}

/** The leaves of chunk `chunkIndex`. */
export function chunkLeaves(batch: BuiltBatch, chunkIndex: number): Leaf[] {
  return batch.leaves.slice(chunkIndex * CHUNK_LEAVES, (chunkIndex + 1) * CHUNK_LEAVES);
}

/**
 * Requesters of the voucher-paid groups of a chunk, in the order BatchSettlement consumes
 * payments: consecutive ticket leaves with one requester and one model, skipping leaves that are
 * held by a challenge or paid by their own ticket (`skip`, by leaf index).
 */
export function chunkGroups(leaves: readonly Leaf[], skip: ReadonlySet<number> = new Set()): Address[] {
  const out: Address[] = [];
  let last = "";
  for (const l of leaves) {
    if (l.kind !== LEAF_TICKET || skip.has(l.index)) continue;
    const key = `${l.requester.toLowerCase()}:${l.model}`;
    if (key !== last) out.push(l.requester);
    last = key;
  }
  return out;
}
