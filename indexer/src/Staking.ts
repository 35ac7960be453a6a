/** Staking events -> stake_account, stake_event, slash, credit*, validator, validator_model. */
import { ponder } from "ponder:registry";
import { credit, creditWithdrawal, slash, stakeEvent, validator, validatorModel } from "ponder:schema";
import { meta, updateCredit, updateMarket, updateNodeStats, updateStake } from "../lib/store.ts";

ponder.on("Staking:Staked", async ({ event, context }) => {
  const { account, amount, free } = event.args;
  await updateStake(context.db, account, () => ({ free }));
  await context.db.insert(stakeEvent).values({
    id: event.id,
    account,
    kind: "staked",
    amount,
    locker: null,
    balanceAfter: free,
    releaseAt: null,
    ...meta(event),
  });
  await updateMarket(context.db, event, (m) => ({ totalStaked: m.totalStaked + amount }));
});

ponder.on("Staking:UnstakeRequested", async ({ event, context }) => {
  const { account, amount, unbonding, releaseAt } = event.args;
  await updateStake(context.db, account, (s) => ({ free: s.free - amount, unbonding, unbondingReleaseAt: releaseAt }));
  await context.db.insert(stakeEvent).values({
    id: event.id,
    account,
    kind: "unstake_requested",
    amount,
    locker: null,
    balanceAfter: unbonding,
    releaseAt,
    ...meta(event),
  });
  await updateMarket(context.db, event, (m) => ({ totalUnbonding: m.totalUnbonding + amount }));
});

ponder.on("Staking:UnbondedWithdrawn", async ({ event, context }) => {
  const { account, amount } = event.args;
  await updateStake(context.db, account, (s) => ({ unbonding: s.unbonding - amount, unbondingReleaseAt: 0n }));
  await context.db.insert(stakeEvent).values({
    id: event.id,
    account,
    kind: "unbonded_withdrawn",
    amount,
    locker: null,
    balanceAfter: 0n,
    releaseAt: null,
    ...meta(event),
  });
  await updateMarket(context.db, event, (m) => ({
    totalStaked: m.totalStaked - amount,
    totalUnbonding: m.totalUnbonding - amount,
  }));
});

ponder.on("Staking:StakeLocked", async ({ event, context }) => {
  const { account, locker, amount, locked } = event.args;
  await updateStake(context.db, account, (s) => ({ free: s.free - amount, locked }));
  await context.db.insert(stakeEvent).values({
    id: event.id,
    account,
    kind: "locked",
    amount,
    locker,
    balanceAfter: locked,
    releaseAt: null,
    ...meta(event),
  });
  await updateMarket(context.db, event, (m) => ({ totalLocked: m.totalLocked + amount }));
});

ponder.on("Staking:StakeUnlocked", async ({ event, context }) => {
  const { account, locker, amount, locked } = event.args;
  await updateStake(context.db, account, (s) => ({ free: s.free + amount, locked }));
  await context.db.insert(stakeEvent).values({
    id: event.id,
    account,
    kind: "unlocked",
    amount,
    locker,
    balanceAfter: locked,
    releaseAt: null,
    ...meta(event),
  });
  await updateMarket(context.db, event, (m) => ({ totalLocked: m.totalLocked - amount }));
});

ponder.on("Staking:Slashed", async ({ event, context }) => {
  const a = event.args;
  await updateStake(context.db, a.account, (s) => ({
    locked: s.locked - a.fromLocked,
    free: s.free - a.fromFree,
    unbonding: s.unbonding - a.fromUnbonding,
    totalSlashed: s.totalSlashed + a.slashed,
  }));
  await context.db.insert(slash).values({
    id: event.id,
    account: a.account,
    slasher: a.slasher,
    requested: a.requested,
    slashed: a.slashed,
    fromLocked: a.fromLocked,
    fromFree: a.fromFree,
    fromUnbonding: a.fromUnbonding,
    burned: a.burned,
    ...meta(event),
  });
  await updateNodeStats(context.db, a.account, (n) => ({
    slashCount: n.slashCount + 1,
    slashedAmount: n.slashedAmount + a.slashed,
  }));
  await updateMarket(context.db, event, (m) => ({
    totalStaked: m.totalStaked - a.slashed,
    totalLocked: m.totalLocked - a.fromLocked,
    totalUnbonding: m.totalUnbonding - a.fromUnbonding,
    totalSlashed: m.totalSlashed + a.slashed,
    totalBurned: m.totalBurned + a.burned,
    slashes: m.slashes + 1,
  }));
});

ponder.on("Staking:Credited", async ({ event, context }) => {
  const { beneficiary, slashedAccount, amount } = event.args;
  await context.db.insert(credit).values({
    id: event.id,
    source: "staking",
    beneficiary,
    from: slashedAccount,
    amount,
    ...meta(event),
  });
  await updateCredit(context.db, "staking", beneficiary, { credited: amount });
});

ponder.on("Staking:CreditsWithdrawn", async ({ event, context }) => {
  const { account, amount } = event.args;
  await context.db
    .insert(creditWithdrawal)
    .values({ id: event.id, source: "staking", account, amount, ...meta(event) });
  await updateCredit(context.db, "staking", account, { withdrawn: amount });
});

ponder.on("Staking:ValidatorModelDeclared", async ({ event, context }) => {
  const { validator: address, modelId } = event.args;
  // One upsert, no read: the returned row tells whether the validator just became active.
  const v = await context.db
    .insert(validator)
    .values({ address, modelCount: 1, firstDeclaredAt: event.block.timestamp })
    .onConflictDoUpdate((row) => ({ modelCount: row.modelCount + 1 }));
  await context.db
    .insert(validatorModel)
    .values({ validator: address, modelId, declared: true, weight: 0n, declaredAt: event.block.timestamp })
    .onConflictDoUpdate({ declared: true, declaredAt: event.block.timestamp });
  if (v.modelCount === 1) await updateMarket(context.db, event, (m) => ({ validators: m.validators + 1 }));
});

ponder.on("Staking:ValidatorModelUndeclared", async ({ event, context }) => {
  const { validator: address, modelId } = event.args;
  await context.db.update(validatorModel, { validator: address, modelId }).set({ declared: false, weight: 0n });
  const v = await context.db.update(validator, { address }).set((row) => ({ modelCount: row.modelCount - 1 }));
  if (v.modelCount === 0) await updateMarket(context.db, event, (m) => ({ validators: m.validators - 1 }));
});

ponder.on("Staking:ValidatorWeightChanged", async ({ event, context }) => {
  const { validator: address, modelId, newWeight } = event.args;
  await context.db
    .insert(validatorModel)
    .values({ validator: address, modelId, declared: false, weight: newWeight, declaredAt: event.block.timestamp })
    .onConflictDoUpdate({ weight: newWeight });
});
