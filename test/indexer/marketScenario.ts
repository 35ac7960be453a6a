/**
 * Drives the market, settlement and dispute events through the real contracts on a `hardhat node`
 * for the indexer tests: a sealed-bid auction with two bidders (commit, reveal, finalize, bond
 * release, delivery), a batch mixing the auction leaf and ticket leaves settled by calldata (the
 * auction collected, vouchers paid through settlement, the batch released), a data challenge the
 * node answers (cleared), and a wrong-output challenge that goes to a committee (draw, commit and
 * reveal votes, a silent member, guilty verdict, the batch voided and the node slashed, a reward
 * claimed and withdrawn), plus credit withdrawals and a settlement parameter change. Rewards: the
 * RewardPool funded before the settlement (which records the node's work), the ValidatorRewards
 * funded, three canary commitments planted (one on the wrong-output leaf, caught by its challenger;
 * one on the data-challenged leaf, missed; one decoy never revealed), both revealed, a parameter
 * change on each, then two epochs later the node's capped claim, the catcher's claim, and a sweep of
 * an epoch nobody worked in on each contract. Uses the same fixture and batch driver as the
 * settlement and committee tests.
 */
import { keccak256, parseEventLogs, parseUnits, toHex, type Address, type Hex } from "viem";
import { network } from "hardhat";
import {
  CHALLENGE_DATA,
  CHALLENGE_WRONG_OUTPUT,
  bidCommitment,
  outputHash,
  voteCommitment,
  type Leaf,
} from "../../agents/lib/encodings.ts";
import { MODEL, PRICE, Q8_0, protocolFixture, type ProtocolFixture } from "../utils/protocolFixture.ts";
import { BatchDriver, PROFILE, type MadeLeaf } from "../utils/batchDriver.ts";

/** The contracts' generated types are exact; the committee is called by name (as in its tests). */
type Loose = {
  abi: readonly unknown[];
  read: Record<string, (args?: unknown[]) => Promise<unknown>>;
  write: Record<string, (args: unknown[], o?: unknown) => Promise<Hex>>;
};

export type MarketScenario = {
  f: ProtocolFixture;
  /** The scenario's batch driver (its voucher totals and ticket sequences), for later batches. */
  driver: BatchDriver;
  node: Address;
  loser: Address;
  job: { id: bigint; winnerPrice: bigint; loserPrice: bigint; clearing: bigint; tokens: number[]; requester: Address };
  /** Batch 1: auction + tickets, settled and released. */
  settled: {
    batchId: bigint;
    leaves: Leaf[];
    hashes: Hex[];
    chunk: { paid: bigint; toNode: bigint; royalties: bigint; fees: bigint };
  };
  /** Batch 2: a data challenge the node answered. */
  cleared: {
    batchId: bigint;
    leafIndex: number;
    challengeId: bigint;
    challenger: Address;
    prompt: string;
    tokens: number[];
  };
  /** RewardPool and ValidatorRewards: the epochs used and the amounts funded. */
  rewards: {
    workEpoch: bigint;
    poolFunded: bigint;
    canaryEpoch: bigint;
    validatorFunded: bigint;
    /** Epochs funded with `sweepFunded` and swept into the epoch current at the claims. */
    sweptPoolEpoch: bigint;
    sweptValidatorEpoch: bigint;
    sweepFunded: bigint;
    claim: { share: bigint; paid: bigint; recycled: bigint; intoEpoch: bigint };
    validatorClaim: bigint;
    catcher: Address;
    /** A staked validator that caught nothing (lapsed after two missed canaries). */
    idle: Address;
    canaries: { caught: Hex; missed: Hex; decoy: Hex };
  };
  /** Batch 3: a wrong-output challenge the committee upheld. */
  upheld: {
    batchId: bigint;
    leafIndex: number;
    challenger: Address;
    disputeId: bigint;
    members: Address[];
    votes: (boolean | null)[];
    slashed: bigint;
    rewarded: Address;
  };
};

export async function runMarketScenario(chainUrl: string): Promise<MarketScenario> {
  const conn = await network.create({ network: "localhost", override: { url: chainUrl } });
  const f = await protocolFixture({ connection: conn, requesters: 2, validators: 10 });
  const d = new BatchDriver(f);
  const committee = (await f.viem.getContractAt("Committee", f.deployed.addresses.Committee)) as unknown as Loose;
  const pool = await f.viem.getContractAt("RewardPool", f.deployed.addresses.RewardPool);
  const vr = await f.viem.getContractAt("ValidatorRewards", f.deployed.addresses.ValidatorRewards);
  // The admin is the treasury: FEE_DEPOSITOR on both reward contracts, CANARY_ROLE on ValidatorRewards.
  const poolFunded = parseUnits("10", 18);
  const validatorFunded = parseUnits("6", 18);
  const sweepFunded = parseUnits("1", 18);
  await f.wait(await f.c.token.write.approve([f.deployed.addresses.RewardPool, poolFunded + sweepFunded]));
  await f.wait(await f.c.token.write.approve([f.deployed.addresses.ValidatorRewards, validatorFunded + sweepFunded]));
  const [r1, r2] = f.requesters;
  if (!r1 || !r2) throw new Error("need two requesters");
  const node = f.node;
  const loser = f.wallets[2 + f.validators.length + f.requesters.length];
  if (!loser) throw new Error("need a spare account for the second bidder");

  // ---- a second node, to bid and lose
  const stake = parseUnits("5000", 18);
  await f.wait(await f.c.token.write.faucet([loser.account.address, stake]));
  await f.wait(await f.c.token.write.approve([f.deployed.addresses.Staking, stake], { account: loser.account }));
  await f.wait(await f.c.staking.write.stake([stake], { account: loser.account }));
  await f.wait(
    await f.c.nodes.write.register(
      [
        "http://127.0.0.1:2",
        loser.account.address,
        [{ modelId: MODEL, quantization: Q8_0, maxBatch: 4, maxTokens: 4096, latencySlaMs: 800, pricePerToken: PRICE }],
      ],
      { account: loser.account },
    ),
  );

  // ---- auction: two sealed bids, Vickrey clearing at the second price
  const t0 = await f.now();
  const prompt = "indexer auction prompt";
  const posted = await f.wait(
    await f.c.market.write.postJob(
      [
        {
          modelId: MODEL,
          maxTokens: 64,
          reservePricePerToken: PRICE,
          minReputation: 0n,
          commitDuration: 30,
          revealDuration: 30,
          deliveryDeadline: Number(t0 + 600n),
        },
        prompt,
        [],
        0n,
      ],
      { account: r2.account },
    ),
  );
  const [jp] = parseEventLogs({ abi: f.c.market.abi, logs: posted.logs, eventName: "JobPosted" });
  const jobId = jp!.args.jobId;
  const winnerPrice = PRICE / 2n;
  const loserPrice = (PRICE * 3n) / 4n;
  const salt = (who: string) => keccak256(toHex(`bid ${who}`));
  await f.wait(
    await f.c.market.write.commitBid([jobId, bidCommitment(jobId, node.account.address, winnerPrice, salt("w"))], {
      account: node.account,
    }),
  );
  await f.wait(
    await f.c.market.write.commitBid([jobId, bidCommitment(jobId, loser.account.address, loserPrice, salt("l"))], {
      account: loser.account,
    }),
  );
  await f.advance(31);
  await f.wait(await f.c.market.write.revealBid([jobId, winnerPrice, salt("w")], { account: node.account }));
  await f.wait(await f.c.market.write.revealBid([jobId, loserPrice, salt("l")], { account: loser.account }));
  await f.advance(31);
  await f.wait(await f.c.market.write.finalize([jobId]));
  await f.wait(await f.c.market.write.releaseBond([jobId, loser.account.address]));
  const tokens = [5, 6, 7, 8, 9];
  await f.wait(
    await f.c.market.write.deliver([jobId, outputHash(PROFILE, tokens), tokens.length], { account: node.account }),
  );
  const held = await f.c.market.read.heldOf([jobId]);

  // ---- batch 1: the auction leaf and four ticket leaves of two requesters, settled and released
  const made: MadeLeaf[] = [
    d.auctionLeaf(jobId, r2.account.address, prompt, tokens, held, t0 + 600n),
    await d.ticketLeaf(r1, "ticket one", 7),
    await d.ticketLeaf(r2, "ticket two", 3),
    await d.ticketLeaf(r1, "ticket three", 11),
    await d.ticketLeaf(r2, "ticket four", 2),
  ];
  const b1 = await d.commit(made);
  await d.toSettlement(b1.header);
  // The reward pool of the epoch the settlement records the node's work in.
  await f.wait(await pool.write.fund([await pool.read.currentEpoch(), poolFunded]));
  const [settleReceipt] = await d.settleAll(b1.batchId, b1.header, b1.batch, [r1, r2]);
  const [cs] = parseEventLogs({ abi: f.c.settlement.abi, logs: settleReceipt!.logs, eventName: "ChunkSettled" });
  const [work] = parseEventLogs({ abi: pool.abi, logs: settleReceipt!.logs, eventName: "WorkRecorded" });
  if (!work) throw new Error("the settlement recorded no work in the RewardPool");
  const workEpoch = work.args.epoch;
  await f.wait(await f.c.settlement.write.withdrawCredits({ account: node.account }));

  // ---- batch 2: a data challenge, answered by the node (cleared)
  const dataLeaf = await d.ticketLeaf(r1, "data challenged", 6);
  const b2 = await d.commit([dataLeaf]);
  const dataChallenger = f.validators[1]!;
  const { challengeId: dataChallengeId } = await d.challenge(dataChallenger, b2.batchId, b2.header, 0, CHALLENGE_DATA);
  await d.respond(dataChallengeId, b2, 0, dataLeaf);

  // ---- batch 3: a wrong-output challenge, a committee votes guilty
  const wrongLeaf = await d.ticketLeaf(r1, "wrong output", 4);
  const b3 = await d.commit([wrongLeaf]);
  // Canaries: the wrong-output leaf (its challenger catches it), the data-challenged leaf (nobody
  // challenges its output: missed) and a decoy that is never revealed.
  const canarySalt = (k: string): Hex => keccak256(toHex(`canary ${k}`));
  const canaries = {
    caught: await vr.read.canaryCommitment([b3.batchId, 0, canarySalt("caught")]),
    missed: await vr.read.canaryCommitment([b2.batchId, 0, canarySalt("missed")]),
    decoy: keccak256(toHex("decoy canary")),
  };
  await f.wait(await vr.write.plantCanaries([[canaries.caught, canaries.missed, canaries.decoy]]));
  const plantedAt = await f.now();
  const challenger = f.validators[0]!;
  const { challengeId: wrongChallengeId } = await d.challenge(
    challenger,
    b3.batchId,
    b3.header,
    0,
    CHALLENGE_WRONG_OUTPUT,
  );
  const answered = await d.respond(wrongChallengeId, b3, 0, wrongLeaf);
  const [created] = parseEventLogs({
    abi: committee.abi as never,
    logs: answered.logs,
    eventName: "DisputeCreated" as never,
  });
  const disputeId = (created as unknown as { args: { disputeId: bigint } }).args.disputeId;
  for (let i = 0n; i <= f.deployed.params.drawDelayBlocks + 1n; i++) await f.testClient.mine({ blocks: 1 });
  await f.wait(await committee.write.draw!([disputeId]));
  const members = (await committee.read.membersOf!([disputeId, 0])) as Address[];
  const wallet = (a: Address) => f.validators.find((v) => v.account.address.toLowerCase() === a.toLowerCase())!;
  // Every member votes guilty except the last, who stays silent (and is penalized).
  const votes = members.map((_, i) => (i === members.length - 1 ? null : true));
  const drawnAt = await f.now();
  const voteSalt = (m: Address) => keccak256(toHex(`vote ${disputeId} ${m}`));
  for (const [i, m] of members.entries()) {
    const v = votes[i];
    if (v === null || v === undefined) continue;
    await f.wait(
      await committee.write.commitVote!([disputeId, voteCommitment(disputeId, m, v, voteSalt(m))], {
        account: wallet(m).account,
      }),
    );
  }
  const left = drawnAt + f.deployed.params.voteCommitSeconds + 1n - (await f.now());
  if (left > 0n) await f.advance(left);
  for (const [i, m] of members.entries()) {
    const v = votes[i];
    if (v === null || v === undefined) continue;
    await f.wait(await committee.write.revealVote!([disputeId, v, voteSalt(m)], { account: wallet(m).account }));
  }
  await f.advance(f.deployed.params.voteRevealSeconds + f.deployed.params.appealSeconds + 2n);
  const finalized = await f.wait(await committee.write.finalize!([disputeId]));
  const [voided] = parseEventLogs({ abi: f.c.settlement.abi, logs: finalized.logs, eventName: "BatchVoided" });
  const rewarded = members[0]!;
  await f.wait(await committee.write.claimReward!([disputeId, 0], { account: wallet(rewarded).account }));
  await f.wait(await committee.write.withdrawCredits!([], { account: wallet(rewarded).account }));

  // ---- a settlement parameter change, so every contract's ParameterChanged is seen
  await f.wait(await f.c.settlement.write.setParameter([toHex("protocolFeeBps", { size: 32 }), 250n]));

  // ---- validator fee stream: fund the current epoch, reveal the caught and the missed canary
  const revealAt = plantedAt + f.deployed.params.canaryMinRevealDelaySeconds + 1n;
  const delay = revealAt - (await f.now());
  if (delay > 0n) await f.advance(delay);
  await f.wait(await vr.write.fund([await vr.read.currentEpoch(), validatorFunded]));
  const revealed = await f.wait(await vr.write.revealCanary([b3.batchId, 0, canarySalt("caught")]));
  const [caughtEvent] = parseEventLogs({ abi: vr.abi, logs: revealed.logs, eventName: "CanaryRevealed" });
  const canaryEpoch = caughtEvent!.args.epoch;
  await f.wait(await vr.write.revealCanary([b2.batchId, 0, canarySalt("missed")]));
  await f.wait(await pool.write.setClaimWindowEpochs([40n]));
  await f.wait(await vr.write.setParameter([toHex("lapseCanaries", { size: 32 }), 2n]));

  // ---- two epochs later: claims, and sweeps of the (funded, unworked) epoch in between
  const sweptPoolEpoch = (await pool.read.currentEpoch()) + 1n;
  const sweptValidatorEpoch = (await vr.read.currentEpoch()) + 1n;
  await f.wait(await pool.write.fund([sweptPoolEpoch, sweepFunded]));
  await f.wait(await vr.write.fund([sweptValidatorEpoch, sweepFunded]));
  await f.advance(2n * f.deployed.params.rewardEpochSeconds + 1n);
  const claimed = await f.wait(await pool.write.claim([workEpoch], { account: node.account }));
  const [rc] = parseEventLogs({ abi: pool.abi, logs: claimed.logs, eventName: "RewardClaimed" });
  const vClaimed = await f.wait(await vr.write.claim([canaryEpoch], { account: challenger.account }));
  const [vrc] = parseEventLogs({ abi: vr.abi, logs: vClaimed.logs, eventName: "RewardClaimed" });
  await f.wait(await pool.write.sweep([sweptPoolEpoch]));
  await f.wait(await vr.write.sweep([sweptValidatorEpoch]));

  return {
    f,
    driver: d,
    node: node.account.address,
    loser: loser.account.address,
    job: {
      id: jobId,
      winnerPrice,
      loserPrice,
      clearing: loserPrice,
      tokens,
      requester: r2.account.address,
    },
    settled: {
      batchId: b1.batchId,
      leaves: b1.batch.leaves,
      hashes: b1.batch.hashes,
      chunk: { paid: cs!.args.paid, toNode: cs!.args.toNode, royalties: cs!.args.royalties, fees: cs!.args.fees },
    },
    cleared: {
      batchId: b2.batchId,
      leafIndex: 0,
      challengeId: dataChallengeId,
      challenger: dataChallenger.account.address,
      prompt: dataLeaf.prompt,
      tokens: dataLeaf.tokens,
    },
    rewards: {
      workEpoch,
      poolFunded,
      canaryEpoch,
      validatorFunded,
      sweptPoolEpoch,
      sweptValidatorEpoch,
      sweepFunded,
      claim: {
        share: rc!.args.share,
        paid: rc!.args.paid,
        recycled: rc!.args.recycled,
        intoEpoch: await pool.read.currentEpoch(),
      },
      validatorClaim: vrc!.args.amount,
      catcher: challenger.account.address,
      idle: dataChallenger.account.address,
      canaries,
    },
    upheld: {
      batchId: b3.batchId,
      leafIndex: 0,
      challenger: challenger.account.address,
      disputeId,
      members,
      votes,
      slashed: voided?.args.slashed ?? 0n,
      rewarded,
    },
  };
}
