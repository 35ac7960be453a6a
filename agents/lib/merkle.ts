/**
 * Positional Merkle trees for batches (spec/encodings.md, "Batch trees"), built with merkletreejs
 * without sorting: the leaf count fixes the shape (width = next power of two, zero-padded) and the
 * index picks left or right at each level. contracts/libraries/PositionalMerkle.sol verifies them.
 */
import { MerkleTree } from "merkletreejs";
import { bytesToHex, hexToBytes, keccak256, type Hex } from "viem";
import { ZERO32, hashPair } from "./encodings.ts";

export const CHUNK_LEAVES = 256;

/** ceil(log2(leafCount)); 0 for one leaf. */
export function treeDepth(leafCount: number): number {
  if (!Number.isInteger(leafCount) || leafCount < 1)
    throw new RangeError(`a tree needs at least one leaf, got ${leafCount}`);
  let d = 0;
  while (2 ** d < leafCount) d++;
  return d;
}

export class PositionalTree {
  readonly leafCount: number;
  readonly depth: number;
  private readonly tree: MerkleTree;

  constructor(leaves: readonly Hex[]) {
    this.leafCount = leaves.length;
    this.depth = treeDepth(leaves.length);
    const width = 2 ** this.depth;
    const padded = [...leaves, ...Array<Hex>(width - leaves.length).fill(ZERO32)].map((l) =>
      Buffer.from(hexToBytes(l)),
    );
    this.tree = new MerkleTree(padded, (data: Buffer) => Buffer.from(hexToBytes(keccak256(data))), {
      sortPairs: false,
      hashLeaves: false,
    });
  }

  get root(): Hex {
    return this.depth === 0 ? bytesToHex(this.tree.getLeaves()[0]!) : (this.tree.getHexRoot() as Hex);
  }

  /** Siblings bottom-up for the leaf at `index`. */
  proof(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new RangeError(`leaf index ${index} is outside 0..${this.leafCount - 1}`);
    }
    const leaf = this.tree.getLeaves()[index]!;
    return this.tree.getProof(leaf, index).map((p) => bytesToHex(p.data));
  }

  /** Roots of the 256-leaf chunks (internal nodes at height 8); the whole root for small trees. */
  chunkRoots(): Hex[] {
    if (this.depth <= 8) return [this.root];
    const layers = this.tree.getLayers();
    return layers[8]!.map((b) => bytesToHex(b));
  }
}

/** Recomputes the root from a leaf, its index, the leaf count and a proof; as the Solidity verifier. */
export function computeRoot(leaf: Hex, index: number, leafCount: number, proof: readonly Hex[]): Hex {
  if (index < 0 || index >= leafCount) throw new RangeError(`leaf index ${index} is outside 0..${leafCount - 1}`);
  const d = treeDepth(leafCount);
  if (proof.length !== d) throw new RangeError(`proof has ${proof.length} siblings, the tree depth is ${d}`);
  let node = leaf;
  for (let k = 0; k < d; k++) {
    node = (index >> k) & 1 ? hashPair(proof[k]!, node) : hashPair(node, proof[k]!);
  }
  return node;
}
