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

export type CompactLeaf = { ref: Hex; input: Hex; output: Hex; packed: bigint };
export type LeafGroup = {
  kind: number;
  requester: Address;
  model: Hex;
  adapter: Hex;
  profile: Hex;
  leaves: CompactLeaf[];
};

const U32 = (1n << 32n) - 1n;
const U64 = (1n << 64n) - 1n;

/** `amount << 128 | expiry << 32 | tokens`, the packed word of BatchSettlement's CompactLeaf. */
export function packLeaf(l: Pick<Leaf, "amount" | "expiry" | "tokens">): bigint {
  if (l.amount >= 1n << 128n) throw new RangeError(`leaf amount ${l.amount} does not fit in 128 bits`);
  if (l.expiry > U64) throw new RangeError(`leaf expiry ${l.expiry} does not fit in 64 bits`);
  if (BigInt(l.tokens) > U32) throw new RangeError(`leaf tokens ${l.tokens} do not fit in 32 bits`);
  return (l.amount << 128n) | (l.expiry << 32n) | BigInt(l.tokens);
}

/** The compact leaf groups of a chunk: runs of leaves sharing kind, requester, model, adapter, profile. */
export function chunkLeafGroups(leaves: readonly Leaf[]): LeafGroup[] {
  const groups: LeafGroup[] = [];
  let last: LeafGroup | undefined;
  for (const l of leaves) {
    const same =
      last !== undefined &&
      last.kind === l.kind &&
      last.requester.toLowerCase() === l.requester.toLowerCase() &&
      last.model === l.model &&
      last.adapter === l.adapter &&
      last.profile === l.profile;
    if (!same) {
      last = {
        kind: l.kind,
        requester: l.requester,
        model: l.model,
        adapter: l.adapter,
        profile: l.profile,
        leaves: [],
      };
      groups.push(last);
    }
    last!.leaves.push({ ref: l.ref, input: l.input, output: l.output, packed: packLeaf(l) });
  }
  return groups;
}

/**
 * Requesters of the voucher-paid groups of a chunk, in the order BatchSettlement consumes
 * payments: every ticket leaf group that still has a payable leaf once leaves held by a
 * challenge or paid by their own ticket (`skip`, by leaf index) are left out.
 */
export function chunkGroups(leaves: readonly Leaf[], skip: ReadonlySet<number> = new Set()): Address[] {
  const out: Address[] = [];
  let pos = 0;
  for (const g of chunkLeafGroups(leaves)) {
    let payable = false;
    for (let k = 0; k < g.leaves.length; k++) if (!skip.has(leaves[pos + k]!.index)) payable = true;
    pos += g.leaves.length;
    if (g.kind === LEAF_TICKET && payable) out.push(g.requester);
  }
  return out;
}

/** The inverse of `packLeaf`: amount, expiry and tokens of a CompactLeaf's packed word. */
export function unpackLeaf(packed: bigint): { amount: bigint; expiry: bigint; tokens: number } {
  return { amount: packed >> 128n, expiry: (packed >> 32n) & U64, tokens: Number(packed & U32) };
}

/**
 * The inverse of `chunkLeafGroups`: the full leaves of chunk `chunkIndex` from its compact groups
 * (as decoded from `settleChunk` calldata), each leaf's index being its position in the chunk.
 */
export function expandLeafGroups(
  chunkIndex: number,
  groups: readonly (Omit<LeafGroup, "leaves"> & { leaves: readonly CompactLeaf[] })[],
): Leaf[] {
  const out: Leaf[] = [];
  for (const g of groups) {
    for (const c of g.leaves) {
      out.push({
        index: chunkIndex * CHUNK_LEAVES + out.length,
        kind: g.kind,
        ref: c.ref,
        requester: g.requester,
        model: g.model,
        adapter: g.adapter,
        input: c.input,
        output: c.output,
        profile: g.profile,
        ...unpackLeaf(c.packed),
      });
    }
  }
  return out;
}
