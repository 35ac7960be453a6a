/**
 * BatchSettlement events -> batch, batch_chunk, batch_leaf (decoded from the settleChunk calldata:
 * the contract emits one ChunkSettled per chunk, not one event per leaf), leaf_status, settlement
 * credits, node and market aggregates. Registers only when the deployment has a BatchSettlement.
 */
import { ponder } from "ponder:registry";
import { batch, batchChunk, batchLeaf, credit, creditWithdrawal, leafStatus } from "ponder:schema";
import { decodeFunctionData, zeroAddress, type Hex } from "viem";
import { batchSettlementAbi } from "../../agents/lib/generated/abis.ts";
import { chunkCount, expandLeafGroups } from "../../agents/lib/batch.ts";
import { leafHash, type Leaf } from "../../agents/lib/encodings.ts";
import { isDeployed } from "../indexerEnv.ts";
import { meta, setLink, updateCredit, updateMarket, updateNodeStats } from "../lib/store.ts";

/** IBatchSettlement.LeafStatus by value. */
export const LEAF_STATUS = ["none", "held", "cleared", "paid", "upheld"] as const;

type DecodedChunk = { leaves: Leaf[]; vouchers: number; tickets: number };

/**
 * The leaves of chunk `chunkIndex` of `batchId` from a settleChunk transaction's input; undefined
 * when the transaction is not a direct settleChunk call for that chunk (e.g. through a contract).
 */
export function decodeSettleChunk(input: Hex, batchId: bigint, chunkIndex: number): DecodedChunk | undefined {
  let call;
  try {
    call = decodeFunctionData({ abi: batchSettlementAbi, data: input });
  } catch {
    return undefined;
  }
  if (call.functionName !== "settleChunk") return undefined;
  const [id, , chunk] = call.args;
  if (id !== batchId || chunk.index !== chunkIndex) return undefined;
  return {
    leaves: expandLeafGroups(chunkIndex, chunk.groups),
    vouchers: chunk.payments.length,
    tickets: chunk.tickets.length,
  };
}

if (isDeployed("BatchSettlement")) {
  ponder.on("BatchSettlement:BatchCommitted", async ({ event, context }) => {
    const { batchId, node, root, leafCount, payout, lock, committedAt } = event.args;
    await context.db.insert(batch).values({
      id: batchId,
      node,
      root,
      leafCount,
      chunkCount: chunkCount(leafCount),
      payout,
      lock,
      committedAt,
      committedBlock: event.block.number,
      txHash: event.transaction.hash,
      status: "committed",
      settledChunks: 0,
      leavesDecoded: 0,
      tokens: 0n,
      paid: 0n,
      toNode: 0n,
      royalties: 0n,
      fees: 0n,
      heldLeaves: 0,
      unpaidLeaves: 0,
      unlocked: null,
      releasedAt: null,
      voidReason: null,
      voidBeneficiary: null,
      slashed: null,
      voidedAt: null,
    });
    await updateNodeStats(context.db, node, (n) => ({ batchesCommitted: n.batchesCommitted + 1n }));
    await updateMarket(context.db, event, (m) => ({ batches: m.batches + 1 }));
  });

  ponder.on("BatchSettlement:ChunkSettled", async ({ event, context }) => {
    const { batchId, chunkIndex, paid, toNode, royalties, fees, heldLeaves, unpaidLeaves } = event.args;
    const decoded = decodeSettleChunk(event.transaction.input, batchId, chunkIndex);
    const leaves = decoded?.leaves ?? [];
    const tokens = leaves.reduce((s, l) => s + BigInt(l.tokens), 0n);
    const b = await context.db.update(batch, { id: batchId }).set((row) => ({
      settledChunks: row.settledChunks + 1,
      leavesDecoded: row.leavesDecoded + leaves.length,
      tokens: row.tokens + tokens,
      paid: row.paid + paid,
      toNode: row.toNode + toNode,
      royalties: row.royalties + royalties,
      fees: row.fees + fees,
      heldLeaves: row.heldLeaves + heldLeaves,
      unpaidLeaves: row.unpaidLeaves + unpaidLeaves,
    }));
    await context.db.insert(batchChunk).values({
      batchId,
      chunkIndex,
      leaves: leaves.length,
      decoded: decoded !== undefined,
      paid,
      toNode,
      royalties,
      fees,
      heldLeaves,
      unpaidLeaves,
      vouchers: decoded?.vouchers ?? 0,
      tickets: decoded?.tickets ?? 0,
      ...meta(event),
    });
    if (leaves.length > 0) {
      await context.db
        .insert(batchLeaf)
        .values(
          leaves.map((l) => ({
            batchId,
            leafIndex: l.index,
            chunkIndex,
            kind: l.kind,
            ref: l.ref,
            requester: l.requester,
            node: b.node,
            modelId: l.model,
            adapter: l.adapter,
            profile: l.profile,
            input: l.input,
            output: l.output,
            tokens: l.tokens,
            amount: l.amount,
            expiry: l.expiry,
            hash: leafHash(l),
            settledAt: event.block.timestamp,
          })),
        )
        .onConflictDoNothing();
    }
    if (toNode > 0n) {
      await context.db.insert(credit).values({
        id: event.id,
        source: "settlement",
        beneficiary: b.node,
        from: zeroAddress,
        amount: toNode,
        ...meta(event),
      });
      await updateCredit(context.db, "settlement", b.node, { credited: toNode });
    }
    await updateNodeStats(context.db, b.node, (n) => ({
      jobsServed: n.jobsServed + BigInt(leaves.length),
      tokensServed: n.tokensServed + tokens,
      earnings: n.earnings + toNode,
      chunksSettled: n.chunksSettled + 1n,
    }));
    await updateMarket(context.db, event, (m) => ({
      chunksSettled: m.chunksSettled + 1,
      leavesSettled: m.leavesSettled + BigInt(leaves.length),
      tokensServed: m.tokensServed + tokens,
      settledVolume: m.settledVolume + paid,
      settledToNodes: m.settledToNodes + toNode,
      royalties: m.royalties + royalties,
      fees: m.fees + fees,
    }));
  });

  ponder.on("BatchSettlement:LeafStatusChanged", async ({ event, context }) => {
    const { batchId, leafIndex, status } = event.args;
    const name = LEAF_STATUS[status] ?? `unknown_${status}`;
    await context.db
      .insert(leafStatus)
      .values({ batchId, leafIndex, status: name, paid: null, updatedAt: event.block.timestamp })
      .onConflictDoUpdate({ status: name, updatedAt: event.block.timestamp });
  });

  ponder.on("BatchSettlement:HeldLeafSettled", async ({ event, context }) => {
    const { batchId, leafIndex, paid } = event.args;
    await context.db
      .insert(leafStatus)
      .values({ batchId, leafIndex, status: "paid", paid, updatedAt: event.block.timestamp })
      .onConflictDoUpdate({ status: "paid", paid, updatedAt: event.block.timestamp });
    await context.db.update(batch, { id: batchId }).set((row) => ({ paid: row.paid + paid }));
    await updateMarket(context.db, event, (m) => ({ settledVolume: m.settledVolume + paid }));
  });

  ponder.on("BatchSettlement:BatchReleased", async ({ event, context }) => {
    await context.db
      .update(batch, { id: event.args.batchId })
      .set({ status: "released", unlocked: event.args.unlocked, releasedAt: event.block.timestamp });
  });

  ponder.on("BatchSettlement:BatchVoided", async ({ event, context }) => {
    const { batchId, node, reason, beneficiary, slashed } = event.args;
    await context.db.update(batch, { id: batchId }).set({
      status: "voided",
      voidReason: reason,
      voidBeneficiary: beneficiary,
      slashed,
      voidedAt: event.block.timestamp,
    });
    await updateNodeStats(context.db, node, (n) => ({ batchesVoided: n.batchesVoided + 1 }));
  });

  ponder.on("BatchSettlement:CreditsWithdrawn", async ({ event, context }) => {
    const { account, amount } = event.args;
    await context.db
      .insert(creditWithdrawal)
      .values({ id: event.id, source: "settlement", account, amount, ...meta(event) });
    await updateCredit(context.db, "settlement", account, { withdrawn: amount });
  });

  ponder.on("BatchSettlement:RewardPoolSet", ({ event, context }) =>
    setLink(context.db, "BatchSettlement", "rewardPool", event.args.pool, event),
  );
  ponder.on("BatchSettlement:AuctionMarketSet", ({ event, context }) =>
    setLink(context.db, "BatchSettlement", "auctionMarket", event.args.market, event),
  );
  ponder.on("BatchSettlement:ChallengeGameSet", ({ event, context }) =>
    setLink(context.db, "BatchSettlement", "challengeGame", event.args.game, event),
  );
}
