/**
 * ValidatorRewards events (the validators' fee stream, paid by canary catches) -> canary,
 * reward_epoch, reward_funding, validator_reward, validator_stats and market aggregates. Registers
 * only when the deployment has a ValidatorRewards.
 */
import { ponder } from "ponder:registry";
import { canary, rewardFunding, validatorReward, validatorStats } from "ponder:schema";
import { zeroAddress } from "viem";
import { isDeployed } from "../indexerEnv.ts";
import { meta, updateMarket, updateRewardEpoch } from "../lib/store.ts";

if (isDeployed("ValidatorRewards")) {
  ponder.on("ValidatorRewards:Funded", async ({ event, context }) => {
    const { epoch, from, amount, pool } = event.args;
    await context.db
      .insert(rewardFunding)
      .values({ id: event.id, contract: "ValidatorRewards", epoch, from, amount, poolAfter: pool, ...meta(event) });
    await updateRewardEpoch(context.db, "ValidatorRewards", epoch, (r) => ({ funded: r.funded + amount, pool }));
    await updateMarket(context.db, event, (m) => ({ validatorRewardsFunded: m.validatorRewardsFunded + amount }));
  });

  ponder.on("ValidatorRewards:CanaryPlanted", async ({ event, context }) => {
    await context.db.insert(canary).values({
      commitment: event.args.commitment,
      plantedAt: event.block.timestamp,
      plantedBlock: event.block.number,
      revealed: false,
      batchId: null,
      leafIndex: null,
      catcher: null,
      epoch: null,
      revealIndex: null,
      revealedAt: null,
    });
    await updateMarket(context.db, event, (m) => ({ canariesPlanted: m.canariesPlanted + 1 }));
  });

  ponder.on("ValidatorRewards:CanaryRevealed", async ({ event, context }) => {
    const { commitment, batchId, leafIndex, catcher, epoch } = event.args;
    const caught = catcher !== zeroAddress;
    // The market row counts reveals as the contract does: its new count is this canary's index.
    const m = await updateMarket(context.db, event, (r) => ({
      canariesRevealed: r.canariesRevealed + 1,
      canariesCaught: r.canariesCaught + (caught ? 1 : 0),
    }));
    const revealIndex = m.canariesRevealed;
    await context.db.update(canary, { commitment }).set({
      revealed: true,
      batchId,
      leafIndex,
      catcher: caught ? catcher : null,
      epoch,
      revealIndex,
      revealedAt: event.block.timestamp,
    });
    if (!caught) return;
    await context.db
      .insert(validatorStats)
      .values({ validator: catcher, catches: 1, lastCatchAt: revealIndex, rewardsClaimed: 0n, claims: 0 })
      .onConflictDoUpdate((r) => ({ catches: r.catches + 1, lastCatchAt: revealIndex }));
    await context.db
      .insert(validatorReward)
      .values({ epoch, validator: catcher, points: 1n, claimed: false, paid: null, claimedAt: null })
      .onConflictDoUpdate((r) => ({ points: r.points + 1n }));
    await updateRewardEpoch(context.db, "ValidatorRewards", epoch, (r) => ({ points: r.points + 1n }));
  });

  ponder.on("ValidatorRewards:RewardClaimed", async ({ event, context }) => {
    const { epoch, validator, amount } = event.args;
    await context.db
      .update(validatorReward, { epoch, validator })
      .set({ claimed: true, paid: amount, claimedAt: event.block.timestamp });
    await updateRewardEpoch(context.db, "ValidatorRewards", epoch, (r) => ({
      allocated: r.allocated + amount,
      claims: r.claims + 1,
      paid: r.paid + amount,
    }));
    await context.db
      .update(validatorStats, { validator })
      .set((r) => ({ rewardsClaimed: r.rewardsClaimed + amount, claims: r.claims + 1 }));
    await updateMarket(context.db, event, (m) => ({ validatorRewardsPaid: m.validatorRewardsPaid + amount }));
  });

  ponder.on("ValidatorRewards:EpochSwept", async ({ event, context }) => {
    const { epoch, intoEpoch, amount } = event.args;
    await updateRewardEpoch(context.db, "ValidatorRewards", epoch, (r) => ({
      swept: true,
      sweptAmount: amount,
      sweptInto: intoEpoch,
      sweptAt: event.block.timestamp,
      allocated: r.pool,
    }));
    await updateRewardEpoch(context.db, "ValidatorRewards", intoEpoch, (r) => ({
      pool: r.pool + amount,
      sweptIn: r.sweptIn + amount,
    }));
    await updateMarket(context.db, event, (m) => ({ validatorRewardsSwept: m.validatorRewardsSwept + amount }));
  });
}
