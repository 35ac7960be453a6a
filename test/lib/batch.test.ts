/**
 * agents/lib/batch.ts: the compact leaf groups a node sends to settleChunk decode back to the
 * exact leaves (the indexer decodes settlement calldata with expandLeafGroups).
 */
import { describe, expect, it } from "vitest";
import { keccak256, toHex, type Address } from "viem";
import {
  buildBatch,
  chunkCount,
  chunkLeafGroups,
  chunkLeaves,
  expandLeafGroups,
  packLeaf,
  unpackLeaf,
  type PendingLeaf,
} from "../../agents/lib/batch.ts";
import { LEAF_AUCTION, LEAF_TICKET, ZERO32, leafHash } from "../../agents/lib/encodings.ts";

const h = (s: string) => keccak256(toHex(s));
const requesters: Address[] = [
  "0x1111111111111111111111111111111111111111",
  "0x2222222222222222222222222222222222222222",
];

function pending(i: number): PendingLeaf {
  return {
    kind: i % 7 === 0 ? LEAF_AUCTION : LEAF_TICKET,
    ref: h(`ref ${i}`),
    requester: requesters[i % 2]!,
    model: i % 5 === 0 ? h("model b") : h("model a"),
    adapter: ZERO32,
    input: h(`in ${i}`),
    output: h(`out ${i}`),
    tokens: (i * 37) % 4096,
    amount: BigInt(i) * 10n ** 15n + 1n,
    expiry: 1_800_000_000n + BigInt(i),
    profile: h("profile"),
  };
}

describe("expandLeafGroups", () => {
  it("inverts packLeaf at the field limits", () => {
    const max = { amount: (1n << 128n) - 1n, expiry: (1n << 64n) - 1n, tokens: 2 ** 32 - 1 };
    expect(unpackLeaf(packLeaf(max))).toEqual(max);
    expect(unpackLeaf(packLeaf({ amount: 0n, expiry: 0n, tokens: 0 }))).toEqual({ amount: 0n, expiry: 0n, tokens: 0 });
  });

  it("rebuilds every leaf (and its hash) of every chunk of a 600-leaf batch from its compact groups", () => {
    const batch = buildBatch(Array.from({ length: 600 }, (_, i) => pending(i)));
    expect(chunkCount(batch.leaves.length)).toBe(3);
    let groupCount = 0;
    for (let c = 0; c < 3; c++) {
      const leaves = chunkLeaves(batch, c);
      const groups = chunkLeafGroups(leaves);
      groupCount += groups.length;
      const back = expandLeafGroups(c, groups);
      expect(back).toEqual(leaves);
      expect(back.map(leafHash)).toEqual(batch.hashes.slice(c * 256, (c + 1) * 256));
    }
    // Auction leaves, two requesters and two models: several groups per chunk on the whole.
    expect(groupCount).toBeGreaterThan(3);
  });
});
