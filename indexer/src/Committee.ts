/**
 * Committee events -> dispute, dispute_round, committee_vote, committee credits. Registers only
 * when the deployment has a Committee.
 */
import { ponder } from "ponder:registry";
import { committeeVote, credit, creditWithdrawal, dispute, disputeRound } from "ponder:schema";
import { zeroAddress, type Hex } from "viem";
import { isDeployed } from "../indexerEnv.ts";
import { challengeKey, meta, updateCredit, updateMarket, type Db } from "../lib/store.ts";

/** ICommittee.Outcome by value. */
const OUTCOME = ["pending", "not_guilty", "guilty", "neutral"] as const;
const outcomeName = (v: number): string => OUTCOME[v] ?? `unknown_${v}`;

type RoundRow = typeof disputeRound.$inferSelect;

const EMPTY_ROUND = {
  targetBlock: null,
  weightAtTarget: null,
  retargets: 0,
  members: null,
  bond: null,
  commitEnd: null,
  revealEnd: null,
  unformedFound: null,
  outcome: "pending",
  guiltyVotes: null,
  notGuiltyVotes: null,
  nonVoters: null,
  penalties: null,
  appellant: null,
  appealFee: null,
} as const;

async function updateRound(
  db: Db,
  disputeId: bigint,
  round: number,
  change: (row: RoundRow) => Partial<Omit<RoundRow, "disputeId" | "round">>,
): Promise<void> {
  const empty: RoundRow = { disputeId, round, ...EMPTY_ROUND };
  await db
    .insert(disputeRound)
    .values({ ...empty, ...change(empty) })
    .onConflictDoUpdate(change);
}

type VoteRow = typeof committeeVote.$inferSelect;

async function updateVote(
  db: Db,
  disputeId: bigint,
  round: number,
  member: Hex,
  change: Partial<Omit<VoteRow, "disputeId" | "round" | "member">>,
): Promise<void> {
  await db
    .insert(committeeVote)
    .values({
      disputeId,
      round,
      member,
      commitment: null,
      committedAt: null,
      guilty: null,
      revealedAt: null,
      penalty: null,
      reward: null,
      ...change,
    })
    .onConflictDoUpdate(change);
}

if (isDeployed("Committee")) {
  ponder.on("Committee:DisputeCreated", async ({ event, context }) => {
    const a = event.args;
    await context.db.insert(dispute).values({
      id: a.disputeId,
      batchId: a.batchId,
      leafIndex: a.leafIndex,
      challengeId: challengeKey(a.batchId, a.leafIndex),
      node: a.node,
      challenger: a.challenger,
      modelId: a.model,
      leafHash: a.leafHash,
      profile: a.profile,
      fee: a.fee,
      round: 0,
      outcome: "pending",
      received: null,
      pot: null,
      coherentWeight: null,
      createdAt: event.block.timestamp,
      resolvedAt: null,
    });
    await updateMarket(context.db, event, (m) => ({ disputes: m.disputes + 1 }));
  });

  ponder.on("Committee:DrawTargeted", async ({ event, context }) => {
    const { disputeId, round, targetBlock, weight, retarget } = event.args;
    await updateRound(context.db, disputeId, round, (r) => ({
      targetBlock,
      weightAtTarget: weight,
      retargets: r.retargets + (retarget ? 1 : 0),
    }));
  });

  ponder.on("Committee:CommitteeDrawn", async ({ event, context }) => {
    const { disputeId, round, members, bond, commitEnd, revealEnd } = event.args;
    await updateRound(context.db, disputeId, round, () => ({ members: [...members], bond, commitEnd, revealEnd }));
    for (const member of members) await updateVote(context.db, disputeId, round, member, {});
  });

  ponder.on("Committee:CommitteeUnformed", async ({ event, context }) => {
    const { disputeId, round, found } = event.args;
    await updateRound(context.db, disputeId, round, () => ({ unformedFound: found }));
  });

  ponder.on("Committee:VoteCommitted", async ({ event, context }) => {
    const { disputeId, round, member, commitment } = event.args;
    await updateVote(context.db, disputeId, round, member, { commitment, committedAt: event.block.timestamp });
  });

  ponder.on("Committee:VoteRevealed", async ({ event, context }) => {
    const { disputeId, round, member, guilty } = event.args;
    await updateVote(context.db, disputeId, round, member, { guilty, revealedAt: event.block.timestamp });
  });

  ponder.on("Committee:NonVoterPenalized", async ({ event, context }) => {
    const { disputeId, round, member, slashed } = event.args;
    await updateVote(context.db, disputeId, round, member, { penalty: slashed });
  });

  ponder.on("Committee:RoundClosed", async ({ event, context }) => {
    const { disputeId, round, outcome, guiltyVotes, notGuiltyVotes, nonVoters, penalties } = event.args;
    await updateRound(context.db, disputeId, round, () => ({
      outcome: outcomeName(outcome),
      guiltyVotes: Number(guiltyVotes),
      notGuiltyVotes: Number(notGuiltyVotes),
      nonVoters: Number(nonVoters),
      penalties,
    }));
  });

  ponder.on("Committee:Appealed", async ({ event, context }) => {
    const { disputeId, round, appellant, fee } = event.args;
    await updateRound(context.db, disputeId, round, () => ({ appellant, appealFee: fee }));
    await context.db.update(dispute, { id: disputeId }).set({ round: round + 1 });
  });

  ponder.on("Committee:DisputeResolved", async ({ event, context }) => {
    const { disputeId, outcome, received, pot, coherentWeight } = event.args;
    await context.db.update(dispute, { id: disputeId }).set({
      outcome: outcomeName(outcome),
      received,
      pot,
      coherentWeight,
      resolvedAt: event.block.timestamp,
    });
  });

  ponder.on("Committee:RewardClaimed", async ({ event, context }) => {
    const { disputeId, round, member, amount } = event.args;
    await updateVote(context.db, disputeId, round, member, { reward: amount });
  });

  ponder.on("Committee:Credited", async ({ event, context }) => {
    const { account, amount } = event.args;
    await context.db
      .insert(credit)
      .values({ id: event.id, source: "committee", beneficiary: account, from: zeroAddress, amount, ...meta(event) });
    await updateCredit(context.db, "committee", account, { credited: amount });
  });

  ponder.on("Committee:CreditsWithdrawn", async ({ event, context }) => {
    const { account, amount } = event.args;
    await context.db
      .insert(creditWithdrawal)
      .values({ id: event.id, source: "committee", account, amount, ...meta(event) });
    await updateCredit(context.db, "committee", account, { withdrawn: amount });
  });
}
