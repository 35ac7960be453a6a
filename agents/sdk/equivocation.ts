/**
 * Equivocation: a node signed a receipt (output hash, token count) for a ticket and later committed
 * a leaf for that ticket that says something else. Anyone holding the receipt can have the node
 * slashed with ChallengeGame.proveEquivocation once the leaf is committed (docs/settlement.md).
 * `auditBatch` fetches a batch's leaves from the node and compares them with the receipts kept in
 * the evidence file; `proveEquivocation` sends the proof.
 */
import type { Address, Hex } from "viem";
import { challengeGameAbi } from "../lib/generated/abis.ts";
import { LEAF_TICKET, type Leaf } from "../lib/encodings.ts";
import { chainWrite } from "./chainWrite.ts";
import type { Evidence, EvidenceStore } from "./EvidenceStore.ts";
import type { Market } from "./Market.ts";
import { NodeClient, type LeafResponse } from "./NodeClient.ts";

export type BatchHeader = {
  node: Address;
  leafCount: number;
  committedAt: bigint;
  payout: bigint;
  lock: bigint;
  root: Hex;
};
export type CommittedLeaf = { batchId: bigint; header: BatchHeader; leaf: Leaf; proof: Hex[] };
export type Contradiction = CommittedLeaf & { evidence: Evidence };

/** The kept receipt that `leaf` contradicts, if any. */
export function contradicts(leaf: Leaf, evidence: EvidenceStore): Evidence | undefined {
  if (leaf.kind !== LEAF_TICKET) return undefined;
  const e = evidence.byTicket(leaf.ref);
  if (!e) return undefined;
  const same = e.receipt.output.toLowerCase() === leaf.output.toLowerCase() && e.receipt.tokens === leaf.tokens;
  return same ? undefined : e;
}

const toCommitted = (r: LeafResponse): CommittedLeaf => ({
  batchId: r.batchId,
  header: { ...r.header },
  leaf: { ...r.leaf },
  proof: r.proof,
});

/** Fetches every leaf of a node's batch and returns those contradicting our receipts. */
export async function auditBatch(endpoint: string, batchId: bigint, evidence: EvidenceStore): Promise<Contradiction[]> {
  const client = new NodeClient(endpoint);
  const first = toCommitted(await client.leaf(batchId, 0));
  const out: Contradiction[] = [];
  for (let i = 0; i < first.header.leafCount; i++) {
    const c = i === 0 ? first : toCommitted(await client.leaf(batchId, i));
    const e = contradicts(c.leaf, evidence);
    if (e) out.push({ ...c, evidence: e });
  }
  return out;
}

/** Sends ChallengeGame.proveEquivocation for a contradiction; the node is slashed, we get the reporter's share. */
export async function proveEquivocation(market: Market, c: Contradiction): Promise<Hex> {
  const { hash } = await chainWrite(
    market.publicClient,
    market.wallet,
    {
      address: market.address("ChallengeGame"),
      abi: challengeGameAbi,
      functionName: "proveEquivocation",
      args: [c.batchId, c.header, c.leaf, c.proof, c.evidence.receipt, c.evidence.receiptSignature],
    },
    "The leaf must still be committed (not voided) and the receipt signed by the node or its signer.",
  );
  return hash;
}
