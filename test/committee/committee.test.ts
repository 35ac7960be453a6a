/**
 * Committee scenarios on Hardhat's chain with the deployed protocol (issue 5): a split committee
 * with non-voters (the majority decides, non-voters lose part of their bond, only coherent voters
 * are paid), and an appeal that reverses a verdict with a doubled committee.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { keccak256, parseEventLogs, parseUnits, toHex, type Address } from "viem";
import { CHALLENGE_WRONG_OUTPUT, voteCommitment } from "../../agents/lib/encodings.ts";
import { protocolFixture, type ProtocolFixture } from "../utils/protocolFixture.ts";
import { BatchDriver } from "../utils/batchDriver.ts";

/** The contracts' generated types are exact; these scenarios call a few functions by name. */
type Loose = {
  abi: readonly unknown[];
  read: Record<string, (args?: unknown[]) => Promise<unknown>>;
  write: Record<string, (args: unknown[], o?: unknown) => Promise<`0x${string}`>>;
};

const PHASE = { None: 0, Drawing: 1, Commit: 2, Reveal: 3, Appealable: 4, Finalizable: 5, Resolved: 6 } as const;
const OUTCOME = { Pending: 0, NotGuilty: 1, Guilty: 2, Neutral: 3 } as const;

describe("committees on a real chain", () => {
  let f: ProtocolFixture;
  let d: BatchDriver;
  let committee: Loose;

  beforeEach(async () => {
    f = await protocolFixture({ requesters: 1, validators: 14 });
    d = new BatchDriver(f);
    committee = (await f.viem.getContractAt("Committee", f.deployed.addresses.Committee)) as unknown as Loose;
  });

  const c = (): Loose => committee;
  const wallet = (a: Address) => f.validators.find((v) => v.account.address.toLowerCase() === a.toLowerCase())!;
  const total = async (a: Address): Promise<bigint> => {
    const [free, locked, unbonding] = await f.c.staking.read.stakeOf([a]);
    return free + locked + unbonding;
  };

  /** A wrong-output challenge by validator 0, answered by the node: the committee opens a dispute. */
  async function openDispute() {
    const m = await d.ticketLeaf(f.requesters[0]!, "disputed leaf", 6);
    const b = await d.commit([m]);
    const { challengeId } = await d.challenge(f.validators[0]!, b.batchId, b.header, 0, CHALLENGE_WRONG_OUTPUT);
    const r = await d.respond(challengeId, b, 0, m);
    const [ev] = parseEventLogs({ abi: committee.abi as never, logs: r.logs, eventName: "DisputeCreated" as never });
    return { disputeId: (ev as unknown as { args: { disputeId: bigint } }).args.disputeId, batch: b };
  }

  async function drawRound(disputeId: bigint, round: number): Promise<Address[]> {
    for (let i = 0n; i <= f.deployed.params.drawDelayBlocks + 1n; i++) await f.testClient.mine({ blocks: 1 });
    await f.wait(await c().write.draw!([disputeId]));
    return (await c().read.membersOf!([disputeId, round])) as Address[];
  }

  /** Members vote: `votes[i]` true = guilty, false = not guilty, null = commits nothing. */
  async function vote(disputeId: bigint, members: Address[], votes: (boolean | null)[]) {
    const drawnAt = await f.now(); // the commit window runs from the draw
    for (const [i, m] of members.entries()) {
      const v = votes[i];
      if (v === null || v === undefined) continue;
      const salt = keccak256(toHex(`${disputeId} ${m}`));
      await f.wait(
        await c().write.commitVote!([disputeId, voteCommitment(disputeId, m, v, salt)], { account: wallet(m).account }),
      );
    }
    // Step to just past the commit window, so every member has the whole reveal window.
    const left = drawnAt + f.deployed.params.voteCommitSeconds + 1n - (await f.now());
    if (left > 0n) await f.advance(left);
    for (const [i, m] of members.entries()) {
      const v = votes[i];
      if (v === null || v === undefined) continue;
      // A round closes as soon as its outcome can no longer change; later reveals are refused.
      if (Number(await c().read.phase!([disputeId])) !== PHASE.Reveal) break;
      await f.wait(
        await c().write.revealVote!([disputeId, v, keccak256(toHex(`${disputeId} ${m}`))], {
          account: wallet(m).account,
        }),
      );
    }
    if (Number(await c().read.phase!([disputeId])) === PHASE.Reveal)
      await f.advance(f.deployed.params.voteRevealSeconds + 1n);
  }

  it("a split committee: the majority decides, non-voters are penalized, only coherent voters are paid", async () => {
    const { disputeId, batch } = await openDispute();
    const members = await drawRound(disputeId, 0);
    expect(members.length).toBeGreaterThanOrEqual(3);
    expect(members.map((m) => m.toLowerCase())).not.toContain(f.validators[0]!.account.address.toLowerCase());
    // 2 guilty, 1 not guilty, the rest silent.
    const votes = members.map((_, i) => (i < 2 ? true : i === 2 ? false : null));
    const silent = members.filter((_, i) => votes[i] === null);
    const before = await Promise.all(silent.map(total));
    const nodeBefore = await total(f.node.account.address);
    await vote(disputeId, members, votes);
    expect(Number(await c().read.roundOutcome!([disputeId, 0]))).toBe(OUTCOME.Guilty);
    await f.advance(f.deployed.params.appealSeconds + 1n);
    await f.wait(await c().write.finalize!([disputeId]));
    expect(Number(await c().read.phase!([disputeId]))).toBe(PHASE.Resolved);
    // The node lost at least the batch payout; the batch is void.
    expect(nodeBefore - (await total(f.node.account.address)) >= batch.header.payout).toBe(true);
    expect((await f.c.settlement.read.stateOf([batch.batchId])).voided).toBe(true);
    // Non-voters lost part of their vote bond.
    const after = await Promise.all(silent.map(total));
    for (const [i, b] of before.entries()) expect(b - after[i]!).toBeGreaterThan(0n);
    // A coherent voter is paid; the minority voter is not.
    const winner = wallet(members[0]!);
    await f.wait(await c().write.claimReward!([disputeId, 0], { account: winner.account }));
    expect((await c().read.creditOf!([winner.account.address])) as bigint).toBeGreaterThan(0n);
    await expect(c().write.claimReward!([disputeId, 0], { account: wallet(members[2]!).account })).rejects.toThrow(
      /CommitteeNotCoherent/,
    );
  });

  it("an appeal doubles the committee and reverses the verdict; only the final verdict reaches the game", async () => {
    const { disputeId, batch } = await openDispute();
    const first = await drawRound(disputeId, 0);
    await vote(
      disputeId,
      first,
      first.map(() => true),
    ); // round 0: guilty
    expect(Number(await c().read.roundOutcome!([disputeId, 0]))).toBe(OUTCOME.Guilty);
    const nodeStake = await total(f.node.account.address);
    // The node, which the round went against, appeals and pays the fee.
    const fee = parseUnits("20", 18);
    await f.wait(await f.c.token.write.faucet([f.node.account.address, fee]));
    await f.wait(await f.c.token.write.approve([f.deployed.addresses.Committee, fee], { account: f.node.account }));
    await f.wait(await c().write.appeal!([disputeId], { account: f.node.account }));
    expect((await f.c.settlement.read.stateOf([batch.batchId])).voided).toBe(false);
    const second = await drawRound(disputeId, 1);
    expect(second.length).toBeGreaterThan(first.length);
    await vote(
      disputeId,
      second,
      second.map(() => false),
    ); // round 1: not guilty
    expect(Number(await c().read.roundOutcome!([disputeId, 1]))).toBe(OUTCOME.NotGuilty);
    await f.advance(f.deployed.params.appealSeconds + 1n);
    await f.wait(await c().write.finalize!([disputeId]));
    // Reversed: the node keeps its stake, the leaf is cleared, the challenger's bond goes to the node.
    expect(await total(f.node.account.address)).toBe(nodeStake);
    expect(await f.c.settlement.read.leafStatusOf([batch.batchId, 0])).toBe(2); // Cleared
    expect((await f.c.settlement.read.stateOf([batch.batchId])).voided).toBe(false);
    expect(await f.c.game.read.creditOf([f.node.account.address])).toBeGreaterThan(0n);
  });

  it("canary leaves show which validators check: the checker earns the fee stream, the lazy one lapses", async () => {
    const vr = (await f.viem.getContractAt(
      "ValidatorRewards",
      f.deployed.addresses.ValidatorRewards,
    )) as unknown as Loose;
    const [checker, lazy] = [f.validators[1]!, f.validators[2]!];
    const epoch = (await vr.read.currentEpoch!()) as bigint;
    await f.wait(await f.c.token.write.approve([f.deployed.addresses.ValidatorRewards, parseUnits("50", 18)]));
    await f.wait(await vr.write.fund!([epoch, parseUnits("50", 18)]));
    // The protocol plants three canary leaves (known-wrong outputs) and commits to them in advance.
    const canaries: { batchId: bigint; salt: `0x${string}` }[] = [];
    for (let k = 0; k < 3; k++) {
      const m = await d.ticketLeaf(f.requesters[0]!, `canary ${k}`, 4);
      const b = await d.commit([m]);
      const salt = keccak256(toHex(`canary salt ${k}`));
      await f.wait(
        await vr.write.plantCanaries!([[(await vr.read.canaryCommitment!([b.batchId, 0, salt])) as `0x${string}`]]),
      );
      canaries.push({ batchId: b.batchId, salt });
      // The checking validator re-executes, finds the output wrong and challenges it; the canary
      // operator's node answers (which records the leaf's wrong-output challenger on chain).
      const { challengeId } = await d.challenge(checker, b.batchId, b.header, 0, CHALLENGE_WRONG_OUTPUT);
      await d.respond(challengeId, b, 0, m);
    }
    await f.advance(f.deployed.params.canaryMinRevealDelaySeconds + 1n);
    for (const cn of canaries) await f.wait(await vr.write.revealCanary!([cn.batchId, 0, cn.salt]));
    expect(await vr.read.isLapsed!([lazy.account.address])).toBe(true);
    expect(await vr.read.isLapsed!([checker.account.address])).toBe(false);
    expect(await vr.read.pointsOf!([epoch, checker.account.address])).toBe(3n);
    await f.advance(f.deployed.params.rewardEpochSeconds + 1n);
    await f.wait(await vr.write.claim!([epoch], { account: checker.account }));
    expect(await f.c.token.read.balanceOf([checker.account.address])).toBeGreaterThan(0n);
    await expect(vr.write.claim!([epoch], { account: lazy.account })).rejects.toThrow(/ValidatorRewardsNothingToClaim/);
  });

  it("the reward pool pays a node by settled work, capped by the fees its buyers paid", async () => {
    const pool = (await f.viem.getContractAt("RewardPool", f.deployed.addresses.RewardPool)) as unknown as Loose;
    const epoch = (await pool.read.currentEpoch!()) as bigint;
    await f.wait(await f.c.token.write.approve([f.deployed.addresses.RewardPool, parseUnits("100", 18)]));
    await f.wait(await pool.write.fund!([epoch, parseUnits("100", 18)]));
    const r = f.requesters[0]!;
    const b = await d.commit([await d.ticketLeaf(r, "work 1", 10), await d.ticketLeaf(r, "work 2", 10)]);
    await d.toSettlement(b.header);
    await d.settleAll(b.batchId, b.header, b.batch, [r]);
    const work = (await pool.read.workOf!([epoch, f.node.account.address])) as { points: bigint; fees: bigint };
    expect(work.points).toBeGreaterThan(0n);
    expect(work.fees).toBeGreaterThan(0n);
    await f.advance(f.deployed.params.rewardEpochSeconds + 1n);
    const [share, amount] = (await pool.read.claimable!([epoch, f.node.account.address])) as [bigint, bigint];
    // The pool (100 LLMT) is far above the fees the buyers paid: the reward is capped at those fees.
    expect(share).toBeGreaterThan(work.fees);
    expect(amount).toBe(work.fees);
    const before = await f.c.token.read.balanceOf([f.node.account.address]);
    await f.wait(await pool.write.claim!([epoch], { account: f.node.account }));
    expect((await f.c.token.read.balanceOf([f.node.account.address])) - before).toBe(work.fees);
  });
});
