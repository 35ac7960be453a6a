/**
 * RewardPool events -> reward_epoch, reward_funding, node_reward, node and market aggregates.
 * Registers only when the deployment has a RewardPool. The pool of each epoch is tracked as the
 * contract keeps it: Funded sets it, a claim's capped part (`recycled`) joins the pool of the epoch
 * the claim was made in, a sweep moves what is left of an ended epoch into `intoEpoch`.
 */
import { ponder } from "ponder:registry";
import { nodeReward, rewardFunding } from "ponder:schema";
import { rewardPoolAbi } from "../../agents/lib/generated/abis.ts";
import { isDeployed } from "../indexerEnv.ts";
import { meta, updateMarket, updateNodeStats, updateRewardEpoch } from "../lib/store.ts";

if (isDeployed("RewardPool")) {
  ponder.on("RewardPool:Funded", async ({ event, context }) => {
    const { epoch, from, amount, pool } = event.args;
    await context.db
      .insert(rewardFunding)
      .values({ id: event.id, contract: "RewardPool", epoch, from, amount, poolAfter: pool, ...meta(event) });
    await updateRewardEpoch(context.db, "RewardPool", epoch, (r) => ({ funded: r.funded + amount, pool }));
    await updateMarket(context.db, event, (m) => ({ rewardPoolFunded: m.rewardPoolFunded + amount }));
  });

  ponder.on("RewardPool:WorkRecorded", async ({ event, context }) => {
    const { epoch, node, paid, fees } = event.args;
    await context.db
      .insert(nodeReward)
      .values({
        epoch,
        node,
        points: paid,
        fees,
        workRecords: 1,
        claimed: false,
        share: null,
        paid: null,
        recycled: null,
        claimedAt: null,
      })
      .onConflictDoUpdate((r) => ({ points: r.points + paid, fees: r.fees + fees, workRecords: r.workRecords + 1 }));
    await updateRewardEpoch(context.db, "RewardPool", epoch, (r) => ({ points: r.points + paid }));
    await updateNodeStats(context.db, node, (n) => ({
      rewardPoints: n.rewardPoints + paid,
      rewardFees: n.rewardFees + fees,
    }));
  });

  ponder.on("RewardPool:RewardClaimed", async ({ event, context }) => {
    const { epoch, node, share, paid, recycled } = event.args;
    await context.db
      .update(nodeReward, { epoch, node })
      .set({ claimed: true, share, paid, recycled, claimedAt: event.block.timestamp });
    await updateRewardEpoch(context.db, "RewardPool", epoch, (r) => ({
      allocated: r.allocated + share,
      claims: r.claims + 1,
      paid: r.paid + paid,
      recycledOut: r.recycledOut + recycled,
    }));
    if (recycled > 0n) {
      // The capped part joins the pool of the epoch current at the claim (not in the event).
      const current = await context.client.readContract({
        abi: rewardPoolAbi,
        address: event.log.address,
        functionName: "currentEpoch",
        blockNumber: event.block.number,
      });
      await updateRewardEpoch(context.db, "RewardPool", current, (r) => ({
        pool: r.pool + recycled,
        recycledIn: r.recycledIn + recycled,
      }));
    }
    await updateNodeStats(context.db, node, (n) => ({
      rewardsClaimed: n.rewardsClaimed + paid,
      rewardsCapped: n.rewardsCapped + recycled,
    }));
    await updateMarket(context.db, event, (m) => ({
      rewardPoolPaid: m.rewardPoolPaid + paid,
      rewardPoolRecycled: m.rewardPoolRecycled + recycled,
    }));
  });

  ponder.on("RewardPool:EpochSwept", async ({ event, context }) => {
    const { epoch, intoEpoch, amount } = event.args;
    await updateRewardEpoch(context.db, "RewardPool", epoch, (r) => ({
      swept: true,
      sweptAmount: amount,
      sweptInto: intoEpoch,
      sweptAt: event.block.timestamp,
      allocated: r.pool,
    }));
    await updateRewardEpoch(context.db, "RewardPool", intoEpoch, (r) => ({
      pool: r.pool + amount,
      sweptIn: r.sweptIn + amount,
    }));
    await updateMarket(context.db, event, (m) => ({ rewardPoolSwept: m.rewardPoolSwept + amount }));
  });
}
