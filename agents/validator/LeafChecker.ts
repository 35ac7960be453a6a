/**
 * Checks one committed leaf: fetch its data from the node, check it against the batch root
 * (positional proof) and the leaf's input and output hashes, then re-execute it with the
 * runtime's Verifier (exact where this runtime reproduces the profile, re-scoring otherwise).
 *
 * Outcomes and what the validator does with them:
 *   pass           nothing
 *   wrong-output   wrong-output challenge (kind 1)
 *   unavailable    data challenge (kind 0): the node did not serve the leaf
 *   bad-data       data challenge (kind 0): what it served does not match the commitment, so it
 *                  cannot answer a data challenge with it either
 *   cannot-verify  logged, never challenged (model or profile unknown here, or a short leaf that
 *                  needs exact mode on a profile this runtime cannot reproduce)
 */
import type { Hex } from "viem";
import { inputHash, leafHash, outputHash, type InferenceInput, type Leaf } from "../lib/encodings.ts";
import { computeRoot } from "../lib/merkle.ts";
import type { BatchHeader } from "../lib/batch.ts";
import type { Verifier } from "../runtime/Verifier.ts";
import { NodeFetchError, type LeafData, type NodeClient } from "./NodeClient.ts";
import type { ProfileBook } from "./ProfileBook.ts";

export type CheckOutcome = "pass" | "wrong-output" | "unavailable" | "bad-data" | "cannot-verify";

export type CheckResult = {
  outcome: CheckOutcome;
  mode: "exact" | "rescore" | "cannot-verify" | null;
  reason: string;
  leaf?: Leaf;
  proof?: Hex[];
  data?: LeafData;
};

export type CheckOptions = { retries: number; retryDelayMs: number; rescoreThreads: number };

/** Integrity of served data against the committed root and the leaf's own hashes; null when sound. */
export function integrityProblem(
  header: BatchHeader,
  index: number,
  leaf: Leaf,
  proof: readonly Hex[],
  data: LeafData,
): string | null {
  return membershipProblem(header, index, leaf, proof) ?? dataProblem(leaf, data);
}

/** Whether `leaf` is leaf `index` of the committed batch; null when it is. */
export function membershipProblem(
  header: BatchHeader,
  index: number,
  leaf: Leaf,
  proof: readonly Hex[],
): string | null {
  if (leaf.index !== index) return `served leaf has index ${leaf.index}, asked for ${index}`;
  let root: Hex;
  try {
    root = computeRoot(leafHash(leaf), index, header.leafCount, proof);
  } catch (e) {
    return `proof is malformed: ${(e as Error).message}`;
  }
  if (root.toLowerCase() !== header.root.toLowerCase())
    return `leaf and proof give root ${root}, the batch committed ${header.root}`;
  return null;
}

/** Whether the served input and tokens are what the leaf's hashes commit to; null when they are. */
export function dataProblem(leaf: Leaf, data: LeafData): string | null {
  const iHash = inputHash({ prompt: data.prompt, maxTokens: data.maxTokens, stop: data.stop, seed: data.seed });
  if (iHash !== leaf.input) return `served input hashes to ${iHash}, the leaf committed ${leaf.input}`;
  const oHash = outputHash(leaf.profile, data.tokens);
  if (oHash !== leaf.output) return `served tokens hash to ${oHash}, the leaf committed ${leaf.output}`;
  if (data.tokens.length !== leaf.tokens)
    return `served ${data.tokens.length} tokens, the leaf committed ${leaf.tokens}`;
  return null;
}

export class LeafChecker {
  readonly verifier: Verifier;
  readonly profiles: ProfileBook;
  readonly o: CheckOptions;

  constructor(verifier: Verifier, profiles: ProfileBook, o: CheckOptions) {
    this.verifier = verifier;
    this.profiles = profiles;
    this.o = o;
  }

  async fetch(
    client: NodeClient,
    batchId: bigint,
    index: number,
  ): Promise<{ ok: true; leaf: Leaf; proof: Hex[]; data: LeafData } | { ok: false; reason: string }> {
    let last = "";
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.o.retryDelayMs));
      try {
        const r = await client.leaf(batchId, index);
        return { ok: true, leaf: r.leaf, proof: r.proof, data: r.data };
      } catch (e) {
        last = e instanceof NodeFetchError ? e.message : String(e);
      }
    }
    return { ok: false, reason: `${last} (after ${this.o.retries + 1} attempts)` };
  }

  async check(client: NodeClient, batchId: bigint, header: BatchHeader, index: number): Promise<CheckResult> {
    const got = await this.fetch(client, batchId, index);
    if (!got.ok) return { outcome: "unavailable", mode: null, reason: got.reason };
    const { leaf, proof, data } = got;
    const problem = integrityProblem(header, index, leaf, proof, data);
    if (problem !== null) return { outcome: "bad-data", mode: null, reason: problem, leaf, proof, data };
    return { ...(await this.judge(leaf, data, client)), leaf, proof, data };
  }

  /** Re-executes a leaf whose data is already known to match it. */
  async judge(leaf: Leaf, data: LeafData, client: NodeClient | null): Promise<CheckResult> {
    const profile = await this.profiles.resolve(leaf.profile, client);
    if (!profile)
      return { outcome: "cannot-verify", mode: "cannot-verify", reason: `profile ${leaf.profile} is unknown here` };
    const input: InferenceInput = { prompt: data.prompt, maxTokens: data.maxTokens, stop: data.stop, seed: data.seed };
    const v = await this.verifier.verify(input, data.tokens, profile, { rescoreThreads: this.o.rescoreThreads });
    if (v.mode === "cannot-verify") return { outcome: "cannot-verify", mode: v.mode, reason: v.reason };
    return { outcome: v.pass ? "pass" : "wrong-output", mode: v.mode, reason: v.reason };
  }
}
