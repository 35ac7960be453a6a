/**
 * Gas of the protocol's hot paths beyond the staking core (issues 3-5): escrow, auction, batch
 * commit and settlement, challenges, and a committee dispute from open to resolution. Unlike
 * scripts/lib/gasScenario.ts (every external function of the core contracts), this measures the
 * functions users call on the market's paths; role-only hooks (collectVoucher, collectJob,
 * openChallenge, closeChallenge, openDispute, resolveDispute, recordWork) are measured inside the
 * user calls that trigger them. Figures: gasUsed minus the 21,000 base, calldata included.
 */
import { keccak256, parseEventLogs, parseUnits, toHex, type Address, type Hex } from "viem";
import type { network } from "hardhat";
import {
  CHALLENGE_DATA,
  CHALLENGE_WRONG_OUTPUT,
  bidCommitment,
  voteCommitment,
  type Voucher,
} from "../../agents/lib/encodings.ts";
import { chunkGroups, chunkLeafGroups, chunkLeaves, chunkProof } from "../../agents/lib/batch.ts";
import { protocolFixture, MODEL, PRICE } from "../../test/utils/protocolFixture.ts";
import { BatchDriver, type MadeLeaf } from "../../test/utils/batchDriver.ts";
import { GasRecorder, type GasSnapshot } from "./gas.ts";

export async function runGasFlows(conn: Awaited<ReturnType<typeof network.create>>): Promise<GasSnapshot> {
  const f = await protocolFixture({ connection: conn, requesters: 2, validators: 7 });
  const rec = new GasRecorder(f.publicClient as never);
  const d = new BatchDriver(f);
  const [r1, r2] = f.requesters as [(typeof f.requesters)[number], (typeof f.requesters)[number]];
  const node = f.node;
  const c = f.c;
  const as = (w: { account: { address: Address } }) => ({ account: w.account as never });
  const p = f.deployed.params;

  // ---- PairEscrow
  await rec.record(
    "PairEscrow.deposit",
    await c.escrow.write.deposit([node.account.address, parseUnits("10", 18)], as(r1)),
    "second deposit of the pair",
  );
  await rec.record(
    "PairEscrow.requestWithdraw",
    await c.escrow.write.requestWithdraw([node.account.address, parseUnits("1", 18)], as(r1)),
  );
  await rec.record("PairEscrow.cancelThaw", await c.escrow.write.cancelThaw([node.account.address], as(r1)));
  const other = f.validators[6]!.account.address; // any address can be the destination node of a move
  await rec.record(
    "PairEscrow.requestMove",
    await c.escrow.write.requestMove([node.account.address, other, parseUnits("1", 18)], as(r2)),
  );
  await f.advance(p.thawPeriodSeconds + 1n);
  await rec.record("PairEscrow.completeMove", await c.escrow.write.completeMove([node.account.address], as(r2)));
  await f.wait(await c.escrow.write.requestWithdraw([node.account.address, parseUnits("1", 18)], as(r1)));
  await f.advance(p.thawPeriodSeconds + 1n);
  await rec.record(
    "PairEscrow.completeWithdraw",
    await c.escrow.write.completeWithdraw([node.account.address], as(r1)),
  );

  // ---- PairEscrow.redeemVoucher: the standalone path (deployments turn node redemption off; the
  // settlement's collectVoucher does the same work inside settleChunk).
  {
    const { signVoucher } = await import("../../agents/lib/tickets.ts");
    const dom = { chainId: f.chainId, verifyingContract: f.deployed.addresses.PairEscrow };
    await f.wait(await c.escrow.write.setNodeRedeemEnabled([true]));
    const v1 = {
      requester: r1.account.address,
      node: node.account.address,
      cumulativeAmount: PRICE * 10n,
      throughSequence: 1n,
    };
    await f.wait(await c.escrow.write.redeemVoucher([v1, await signVoucher(r1, v1, dom)], as(node)));
    const v2 = { ...v1, cumulativeAmount: PRICE * 25n, throughSequence: 3n };
    await rec.record(
      "PairEscrow.redeemVoucher",
      await c.escrow.write.redeemVoucher([v2, await signVoucher(r1, v2, dom)], as(node)),
      "steady state (pair and node credit already written)",
    );
    await f.wait(await c.escrow.write.setNodeRedeemEnabled([false]));
    d.owed.set(r1.account.address, { total: PRICE * 25n, sequence: 3n });
  }

  // ---- AuctionMarket: post, bid, reveal, finalize, deliver
  const t0 = await f.now();
  const jobParams = {
    modelId: MODEL,
    maxTokens: 64,
    reservePricePerToken: PRICE,
    minReputation: 0n,
    commitDuration: 30,
    revealDuration: 30,
    deliveryDeadline: Number(t0 + 900n),
  };
  await f.wait(await c.market.write.postJob([jobParams, "warm-up", [], 0n], as(r2))); // the requester's first job
  const post = await rec.record(
    "AuctionMarket.postJob",
    await c.market.write.postJob([jobParams, "auction prompt", [], 0n], as(r2)),
    "prompt as calldata, 14 bytes; the requester's second job",
  );
  const [posted] = parseEventLogs({ abi: c.market.abi, logs: post.logs, eventName: "JobPosted" });
  const jobId = posted!.args.jobId;
  await rec.record(
    "AuctionMarket.reserveBondStake",
    await c.market.write.reserveBondStake([parseUnits("100", 18)], as(node)),
  );
  const salt = keccak256(toHex("bid"));
  await rec.record(
    "AuctionMarket.commitBid",
    await c.market.write.commitBid([jobId, bidCommitment(jobId, node.account.address, PRICE / 2n, salt)], as(node)),
    "bond from the reserved stake",
  );
  await f.advance(31);
  await rec.record("AuctionMarket.revealBid", await c.market.write.revealBid([jobId, PRICE / 2n, salt], as(node)));
  await f.advance(31);
  await rec.record("AuctionMarket.finalize", await c.market.write.finalize([jobId]), "one bidder");
  const tokens = [11, 12, 13, 14, 15, 16, 17, 18];
  const { outputHash } = await import("../../agents/lib/encodings.ts");
  const { PROFILE } = await import("../../test/utils/batchDriver.ts");
  await rec.record(
    "AuctionMarket.deliver",
    await c.market.write.deliver([jobId, outputHash(PROFILE, tokens), tokens.length], as(node)),
    "payment held for settlement",
  );
  const held = await c.market.read.heldOf([jobId]);

  // ---- BatchSettlement: commit and settle a mixed batch of 16 leaves
  const made: MadeLeaf[] = [
    d.auctionLeaf(jobId, r2.account.address, "auction prompt", tokens, held, BigInt(jobParams.deliveryDeadline)),
  ];
  for (let i = 0; i < 15; i++) made.push(await d.ticketLeaf(i % 2 ? r1 : r2, `gas ${i}`, 8));
  const b1 = await d.commit(made);
  await rec.record("BatchSettlement.commitBatch", b1.hash, "16 leaves, node's first lock");
  // ---- ChallengeGame: a data challenge answered on batch 1
  const v0 = f.validators[0]!;
  const leafIndex = 3;
  const cs = keccak256(toHex("challenge salt"));
  const { challengeCommitment } = await import("../../agents/lib/encodings.ts");
  // A validator prepays bonds into its reusable challenge slots (1: answered, 2: silent, 3: disputed).
  const bond = await c.game.read.challengeBond();
  await rec.record("ChallengeGame.fundSlot", await c.game.write.fundSlot([1n, bond], as(v0)), "bond transferred in");
  for (const slot of [2n, 3n]) await f.wait(await c.game.write.fundSlot([slot, bond], as(v0)));
  const idOf = (slot: bigint) => c.game.read.challengeIdOf([v0.account.address, slot]);
  await rec.record(
    "ChallengeGame.commitChallenge",
    await c.game.write.commitChallenge(
      [1n, challengeCommitment(b1.batchId, leafIndex, CHALLENGE_DATA, v0.account.address, cs)],
      as(v0),
    ),
    "into a funded slot",
  );
  await rec.record(
    "ChallengeGame.revealChallenge",
    await c.game.write.revealChallenge([1n, b1.batchId, b1.header, leafIndex, CHALLENGE_DATA, cs], as(v0)),
    "bond from the slot; the leaf's status word is new",
  );
  const leaf = b1.batch.leaves[leafIndex]!;
  const m = made.find((x) => x.leaf.ref === leaf.ref)!;
  await rec.record(
    "ChallengeGame.respondToChallenge",
    await c.game.write.respondToChallenge(d.responseArgs(await idOf(1n), b1, leafIndex, m), as(node)),
    "data challenge: 8 output tokens",
  );
  await d.toSettlement(b1.header);
  const vouchersBy = new Map<Address, { voucher: Voucher; signature: Hex }>();
  for (const r of [r1, r2]) vouchersBy.set(r.account.address, await d.voucher(r));
  const leaves = chunkLeaves(b1.batch, 0);
  await rec.record(
    "BatchSettlement.settleChunk",
    await c.settlement.write.settleChunk(
      [
        b1.batchId,
        b1.header,
        {
          index: 0,
          groups: chunkLeafGroups(leaves),
          proof: chunkProof(b1.batch.tree, 0),
          payments: chunkGroups(leaves).map((a) => vouchersBy.get(a)!),
          tickets: [],
        },
      ],
      as(node),
    ),
    "16 leaves (1 auction, 15 tickets of 2 requesters, 2 vouchers)",
  );
  await rec.record(
    "BatchSettlement.withdrawCredits",
    await c.settlement.write.withdrawCredits(as(node)),
    "pulls from escrow and market",
  );
  await rec.record("ChallengeGame.withdrawCredits", await c.game.write.withdrawCredits(as(node)));

  // ---- a silent node
  const b2 = await d.commit([await d.ticketLeaf(r1, "silent", 4)]);
  const cs2 = keccak256(toHex("silent salt"));
  await f.wait(
    await c.game.write.commitChallenge(
      [2n, challengeCommitment(b2.batchId, 0, CHALLENGE_DATA, v0.account.address, cs2)],
      as(v0),
    ),
  );
  await f.wait(await c.game.write.revealChallenge([2n, b2.batchId, b2.header, 0, CHALLENGE_DATA, cs2], as(v0)));
  await f.advance(p.responseWindowSeconds + 1n);
  await rec.record(
    "ChallengeGame.slashSilent",
    await c.game.write.slashSilent([await idOf(2n), b2.batchId, b2.header]),
    "slash, void, unlock, reputation",
  );

  // ---- a wrong-output dispute judged by a committee
  const b3m = await d.ticketLeaf(r1, "disputed", 6);
  const b3 = await d.commit([b3m]);
  const cs3 = keccak256(toHex("dispute salt"));
  await f.wait(
    await c.game.write.commitChallenge(
      [3n, challengeCommitment(b3.batchId, 0, CHALLENGE_WRONG_OUTPUT, v0.account.address, cs3)],
      as(v0),
    ),
  );
  await f.wait(await c.game.write.revealChallenge([3n, b3.batchId, b3.header, 0, CHALLENGE_WRONG_OUTPUT, cs3], as(v0)));
  const open = await rec.record(
    "Committee.openDispute",
    await c.game.write.respondToChallenge(d.responseArgs(await idOf(3n), b3, 0, b3m), as(node)),
    "respondToChallenge that opens the dispute (game + committee)",
  );
  const committee = await f.viem.getContractAt("Committee", f.deployed.addresses.Committee);
  const [opened] = parseEventLogs({ abi: committee.abi, logs: open.logs, eventName: "DisputeCreated" });
  const disputeId = opened!.args.disputeId;
  for (let i = 0n; i <= p.drawDelayBlocks + 1n; i++) await f.testClient.mine({ blocks: 1 });
  await rec.record("Committee.draw", await committee.write.draw([disputeId]), `committee of ${p.committeeSize}`, {
    variable: true,
  });
  const members = await committee.read.membersOf([disputeId, 0]);
  const voters = f.validators.filter((v) =>
    members.map((x) => x.toLowerCase()).includes(v.account.address.toLowerCase()),
  );
  for (const [i, v] of voters.entries()) {
    const s = keccak256(toHex(`vote ${i}`));
    const h = await committee.write.commitVote(
      [disputeId, voteCommitment(disputeId, v.account.address, true, s)],
      as(v),
    );
    if (i === 0) await rec.record("Committee.commitVote", h);
    else await f.wait(h);
  }
  await f.advance(p.voteCommitSeconds + 1n);
  for (const [i, v] of voters.entries()) {
    const h = await committee.write.revealVote([disputeId, true, keccak256(toHex(`vote ${i}`))], as(v));
    if (i === 0) await rec.record("Committee.revealVote", h);
    else await f.wait(h);
  }
  await f.advance(p.voteRevealSeconds + p.appealSeconds + 2n);
  await rec.record(
    "Committee.finalize",
    await committee.write.finalize([disputeId]),
    "resolveDispute + closeChallenge + slash; loops over the seats only",
    { variable: true },
  );
  return rec.snapshot();
}
