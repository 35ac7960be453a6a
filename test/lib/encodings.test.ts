import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { recoverTypedDataAddress, type Hex } from "viem";
import {
  TYPES,
  domain,
  encodeType,
  inputHash,
  leafHash,
  modelId,
  outputHash,
  profileHash,
  typeHash,
  type Leaf,
  type Profile,
} from "../../agents/lib/encodings.ts";
import { PositionalTree, computeRoot, treeDepth } from "../../agents/lib/merkle.ts";
import { VECTORS_PATH, buildVectors } from "../../scripts/gen-vectors.ts";

type Vectors = {
  chainId: number;
  verifyingContract: Hex;
  typeStrings: Record<string, string>;
  typehashes: Record<string, Hex>;
  ticket: { message: Record<string, unknown>; digest: Hex; signer: Hex; signature: Hex };
  voucher: { message: Record<string, unknown>; digest: Hex; signer: Hex; signature: Hex };
  inputs: { prompt: string; maxTokens: number; stop: string[]; seed: string; hash: Hex }[];
  outputs: { profile: Hex; tokens: number[]; hash: Hex }[];
  profile: { value: Profile; hash: Hex };
  leaves: (Omit<Leaf, "amount" | "expiry"> & { amount: string; expiry: string; hash: Hex })[];
  trees: { leafCount: number; leaves: Hex[]; root: Hex; proofs: { index: number; proof: Hex[] }[] }[];
};

const vectors = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as Vectors;

describe("spec/vectors.json", () => {
  it("is exactly what agents/lib/encodings.ts generates (no hand edits, no drift)", async () => {
    const fresh = JSON.parse(JSON.stringify(await buildVectors())) as unknown;
    expect(fresh).toEqual(vectors);
  });

  it("type strings follow EIP-712 encodeType, typehashes are their keccak256", () => {
    for (const name of Object.keys(TYPES) as (keyof typeof TYPES)[]) {
      expect(encodeType(name)).toBe(vectors.typeStrings[name]);
      expect(typeHash(name)).toBe(vectors.typehashes[name]);
    }
    expect(vectors.typeStrings.Profile).toMatch(/^Profile\(.*\)Sampler\(.*\)VerificationRule\(.*\)$/);
  });

  it("input, output, profile and leaf hashes match", () => {
    for (const v of vectors.inputs) {
      expect(inputHash({ prompt: v.prompt, maxTokens: v.maxTokens, stop: v.stop, seed: BigInt(v.seed) })).toBe(v.hash);
    }
    for (const v of vectors.outputs) expect(outputHash(v.profile, v.tokens)).toBe(v.hash);
    expect(profileHash(vectors.profile.value)).toBe(vectors.profile.hash);
    for (const v of vectors.leaves) {
      expect(leafHash({ ...v, amount: BigInt(v.amount), expiry: BigInt(v.expiry) })).toBe(v.hash);
    }
  });

  it("every field changes the hash it belongs to", () => {
    const base = vectors.inputs[1]!;
    const i0 = { prompt: base.prompt, maxTokens: base.maxTokens, stop: base.stop, seed: BigInt(base.seed) };
    const h0 = inputHash(i0);
    expect(inputHash({ ...i0, prompt: i0.prompt + " " })).not.toBe(h0);
    expect(inputHash({ ...i0, maxTokens: i0.maxTokens + 1 })).not.toBe(h0);
    expect(inputHash({ ...i0, stop: [] })).not.toBe(h0);
    expect(inputHash({ ...i0, seed: i0.seed + 1n })).not.toBe(h0);
    const p = vectors.profile.value;
    expect(profileHash({ ...p, threads: p.threads + 1 })).not.toBe(vectors.profile.hash);
    expect(profileHash({ ...p, flashAttention: true })).not.toBe(vectors.profile.hash);
    expect(profileHash({ ...p, sampler: { ...p.sampler, topK: 1 } })).not.toBe(vectors.profile.hash);
    expect(profileHash({ ...p, verification: { ...p.verification, maxMissBps: 1 } })).not.toBe(vectors.profile.hash);
    // Token order matters; the profile is bound into the output hash.
    expect(outputHash(p.model, [1, 2])).not.toBe(outputHash(p.model, [2, 1]));
    expect(outputHash(p.model, [1, 2])).not.toBe(outputHash(p.adapter, [1, 2]));
  });

  it("signatures recover to the signers under the domain, and not under another chain", async () => {
    const dom = domain(vectors.chainId, vectors.verifyingContract);
    const message = {
      ...vectors.ticket.message,
      pricePerToken: BigInt(vectors.ticket.message.pricePerToken as string),
      sequence: BigInt(vectors.ticket.message.sequence as string),
      expiry: BigInt(vectors.ticket.message.expiry as string),
    };
    const signer = await recoverTypedDataAddress({
      domain: dom,
      types: TYPES,
      primaryType: "Ticket",
      message: message as never,
      signature: vectors.ticket.signature,
    });
    expect(signer).toBe(vectors.ticket.signer);
    const other = await recoverTypedDataAddress({
      domain: domain(1, vectors.verifyingContract),
      types: TYPES,
      primaryType: "Ticket",
      message: message as never,
      signature: vectors.ticket.signature,
    });
    expect(other).not.toBe(vectors.ticket.signer);
  });

  it("positional trees: roots and proofs match, and a proof binds its index", () => {
    for (const t of vectors.trees) {
      const tree = new PositionalTree(t.leaves);
      expect(tree.root).toBe(t.root);
      expect(tree.depth).toBe(treeDepth(t.leafCount));
      for (const { index, proof } of t.proofs) {
        expect(tree.proof(index)).toEqual(proof);
        expect(computeRoot(t.leaves[index]!, index, t.leafCount, proof)).toBe(t.root);
        if (t.leafCount > 1) {
          expect(computeRoot(t.leaves[index]!, (index + 1) % t.leafCount, t.leafCount, proof)).not.toBe(t.root);
        }
      }
    }
  });

  it("rejects malformed inputs with clear errors", () => {
    expect(() => treeDepth(0)).toThrow(/at least one leaf/);
    expect(() => new PositionalTree([])).toThrow(/at least one leaf/);
    const t = vectors.trees[2]!;
    expect(() => computeRoot(t.leaves[0]!, 0, t.leafCount, [])).toThrow(/depth is 2/);
    expect(() => computeRoot(t.leaves[0]!, 3, t.leafCount, t.proofs[0]!.proof)).toThrow(/outside/);
    expect(() => modelId("abc")).toThrow(/32-byte sha256/);
    expect(modelId("AB".repeat(32))).toBe(`0x${"ab".repeat(32)}`);
  });
});
