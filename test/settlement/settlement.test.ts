/**
 * Batch settlement scenarios on Hardhat's chain (issue 4): an honest node settles; a silent node
 * is slashed; an equivocating node is slashed from its own receipt; a batch mixing auction and
 * ticket leaves; a large batch settled chunk by chunk; a challenged leaf does not hold back the
 * others; and the adversarial cases (payout cap, re-committed tickets, ticket fallback replay).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { keccak256, parseEventLogs, toHex, type Address, type Hex } from "viem";
import { CHALLENGE_DATA, TYPES, challengerOf, domain, outputHash, type Voucher } from "../../agents/lib/encodings.ts";
import { signReceipt } from "../../agents/lib/tickets.ts";
import { chunkCount } from "../../agents/lib/batch.ts";
import { protocolFixture, MODEL, PRICE, type ProtocolFixture } from "../utils/protocolFixture.ts";
import { BatchDriver, PROFILE, type MadeLeaf } from "../utils/batchDriver.ts";

const LEAF_STATUS = { None: 0, Held: 1, Cleared: 2, Paid: 3, Upheld: 4 } as const;

describe("batch settlement on a real chain", () => {
  let f: ProtocolFixture;
  let d: BatchDriver;

  beforeEach(async () => {
    f = await protocolFixture({ requesters: 3, validators: 1 });
    d = new BatchDriver(f);
  });

  const nodeAddr = (): Address => f.node.account.address;
  const total = async (a: Address): Promise<bigint> => {
    const [free, locked, unbonding] = await f.c.staking.read.stakeOf([a]);
    return free + locked + unbonding;
  };

  it("an honest node settles: vouchers pay each requester group, fee and royalty split, lock released", async () => {
    const [r1, r2] = f.requesters as [ProtocolFixture["requesters"][number], ProtocolFixture["requesters"][number]];
    const made: MadeLeaf[] = [];
    for (let i = 0; i < 6; i++) made.push(await d.ticketLeaf(i % 2 ? r1 : r2, `job ${i}`, 5 + i));
    const { batchId, header, batch } = await d.commit(made);
    expect(await f.c.staking.read.lockedOf([nodeAddr()])).toBe(header.lock);
    // Settlement before the window closes is refused.
    await expect(d.settleAll(batchId, header, batch, [r1, r2])).rejects.toThrow(/SettlementWrongPhase/);
    await d.toSettlement(header);
    const escrowBefore = await f.c.escrow.read.pairOf([r1.account.address, nodeAddr()]);
    const [receipt] = await d.settleAll(batchId, header, batch, [r1, r2]);
    const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: receipt!.logs, eventName: "ChunkSettled" });
    expect(ev!.args.paid).toBe(batch.payout);
    expect(ev!.args.unpaidLeaves).toBe(0);
    const fee = (batch.payout * 200n) / 10_000n;
    expect(ev!.args.fees).toBe(0n + (await splitFees(batch.payout)));
    const tokens = batch.leaves.reduce((s, l) => s + BigInt(l.tokens), 0n);
    expect(ev!.args.royalties).toBe(tokens * 10n ** 14n);
    expect(ev!.args.toNode).toBe(batch.payout - ev!.args.fees - ev!.args.royalties);
    expect(fee).toBeGreaterThan(0n);
    const escrowAfter = await f.c.escrow.read.pairOf([r1.account.address, nodeAddr()]);
    expect(escrowBefore.balance - escrowAfter.balance).toBe(d.owed.get(r1.account.address)!.total);
    // The lock is released once every chunk is settled; the node can withdraw its credits.
    expect(await f.c.staking.read.lockedOf([nodeAddr()])).toBe(0n);
    const state = await f.c.settlement.read.stateOf([batchId]);
    expect(state.released).toBe(true);
    const credit = await f.c.settlement.read.creditOf([nodeAddr()]);
    const balBefore = await f.c.token.read.balanceOf([nodeAddr()]);
    await f.wait(await f.c.settlement.write.withdrawCredits({ account: f.node.account }));
    expect((await f.c.token.read.balanceOf([nodeAddr()])) - balBefore).toBe(credit);
    // Reputation rose above the newcomer start (0.4) after paid work.
    expect(await f.c.nodes.read.reputationOf([nodeAddr()])).toBeGreaterThan(4n * 10n ** 17n);
    // A chunk cannot be settled twice.
    await expect(d.settleAll(batchId, header, batch, [r1, r2])).rejects.toThrow(/SettlementChunkAlreadySettled/);
  });

  async function splitFees(paid: bigint): Promise<bigint> {
    const p = await f.c.settlement.read.params();
    return (paid * p.protocolFeeBps) / 10_000n;
  }

  it("a silent node is slashed at least the payout and its batch voided; requesters are not charged", async () => {
    const [r1] = f.requesters;
    const made = [await d.ticketLeaf(r1!, "a", 8), await d.ticketLeaf(r1!, "b", 8)];
    const { batchId, header, batch } = await d.commit(made);
    const validator = f.validators[0]!;
    const { challengeId } = await d.challenge(validator, batchId, header, 1, CHALLENGE_DATA);
    // The TypeScript id (agents/lib/encodings.ts) is the contract's.
    const onChainId = await f.c.game.read.challengeIdOf([validator.account.address, BigInt.asUintN(96, challengeId)]);
    expect(challengeId).toBe(onChainId);
    expect(challengerOf(challengeId)).toBe(validator.account.address.toLowerCase());
    expect(await f.c.settlement.read.leafStatusOf([batchId, 1])).toBe(LEAF_STATUS.Held);
    await f.advance(f.deployed.params.responseWindowSeconds + f.deployed.params.revealPeriodSeconds + 1n);
    const before = await total(nodeAddr());
    const escrowBefore = (await f.c.escrow.read.pairOf([r1!.account.address, nodeAddr()])).balance;
    await f.wait(await f.c.game.write.slashSilent([challengeId, batchId, header]));
    const lost = before - (await total(nodeAddr()));
    expect(lost >= header.payout).toBe(true);
    expect((await f.c.settlement.read.stateOf([batchId])).voided).toBe(true);
    expect(await f.c.staking.read.lockedOf([nodeAddr()])).toBe(0n);
    await expect(d.settleAll(batchId, header, batch, [r1!])).rejects.toThrow(/SettlementBatchVoided/);
    expect((await f.c.escrow.read.pairOf([r1!.account.address, nodeAddr()])).balance).toBe(escrowBefore);
    // The bond is back in the challenger's slot, ready for its next challenge.
    expect((await f.c.game.read.challengeOf([challengeId])).balance).toBe(f.deployed.params.challengeBond);
  });

  it("an equivocating node is slashed from its own signed receipt, with no committee", async () => {
    const [r1] = f.requesters;
    const made = [await d.ticketLeaf(r1!, "x", 6), await d.ticketLeaf(r1!, "y", 6)];
    const { batchId, header, batch } = await d.commit(made);
    const leaf = batch.leaves[0]!;
    // The node streamed other tokens than it committed: its receipt says so.
    const gameDomain = { chainId: f.chainId, verifyingContract: f.deployed.addresses.ChallengeGame };
    const receipt = { ticket: leaf.ref, output: outputHash(PROFILE, [1, 2, 3, 4, 5, 6]), tokens: leaf.tokens };
    const signature = await signReceipt(f.node, receipt, gameDomain);
    const reporter = f.requesters[1]!;
    const before = await total(nodeAddr());
    await f.wait(
      await f.c.game.write.proveEquivocation([batchId, header, leaf, batch.tree.proof(0), receipt, signature], {
        account: reporter.account,
      }),
    );
    expect(before - (await total(nodeAddr())) >= header.payout).toBe(true);
    expect(await f.c.staking.read.creditOf([reporter.account.address])).toBeGreaterThan(0n);
    expect((await f.c.settlement.read.stateOf([batchId])).voided).toBe(true);
    // A second proof against the same batch changes nothing.
    await expect(
      f.c.game.write.proveEquivocation([batchId, header, leaf, batch.tree.proof(0), receipt, signature]),
    ).rejects.toThrow(/SettlementBatchVoided/);
    void TYPES;
    void domain;
  });

  it("a challenged leaf does not hold back the others; once cleared it is paid exactly once", async () => {
    // A response window longer than challenge window + reveal period keeps the challenge open
    // while the chunk settles.
    f = await protocolFixture({ requesters: 3, validators: 1, params: { responseWindowSeconds: 300n } });
    d = new BatchDriver(f);
    const [r1, r2] = f.requesters;
    const made: MadeLeaf[] = [];
    for (let i = 0; i < 4; i++) made.push(await d.ticketLeaf(i < 2 ? r1! : r2!, `p${i}`, 4));
    const { batchId, header, batch } = await d.commit(made);
    const target = batch.leaves.findIndex((l) => l.requester === r2!.account.address);
    const { challengeId } = await d.challenge(f.validators[0]!, batchId, header, target, CHALLENGE_DATA);
    await d.toSettlement(header);
    const [receipt] = await d.settleAll(batchId, header, batch, [r1!, r2!], new Set([target]));
    const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: receipt!.logs, eventName: "ChunkSettled" });
    expect(ev!.args.heldLeaves).toBe(1);
    expect(ev!.args.paid).toBe(batch.payout - batch.leaves[target]!.amount);
    expect((await f.c.settlement.read.stateOf([batchId])).released).toBe(false);
    // The node posts the leaf's data: cleared; then the held leaf is paid, and only once.
    const leaf = batch.leaves[target]!;
    const m = made.find((x) => x.leaf.ref === leaf.ref)!;
    await d.respond(challengeId, { batchId, header, batch }, target, m);
    expect(await f.c.settlement.read.leafStatusOf([batchId, target])).toBe(LEAF_STATUS.Cleared);
    expect((await f.c.settlement.read.stateOf([batchId])).released).toBe(true);
    const v = await d.voucher(r2!);
    await f.wait(
      await f.c.settlement.write.settleHeldLeaf([batchId, header, leaf, batch.tree.proof(target), [v], []], {
        account: f.node.account,
      }),
    );
    expect((await f.c.settlement.read.stateOf([batchId])).paid).toBe(batch.payout);
    await expect(
      f.c.settlement.write.settleHeldLeaf([batchId, header, leaf, batch.tree.proof(target), [v], []]),
    ).rejects.toThrow(/SettlementLeafNotHeld/);
  });

  it("a large batch settles chunk by chunk, each transaction under the 16,777,216 gas cap", async () => {
    const [r1, r2, r3] = f.requesters;
    const made: MadeLeaf[] = [];
    for (let i = 0; i < 600; i++) made.push(await d.ticketLeaf([r1!, r2!, r3!][i % 3]!, `bulk ${i}`, 3));
    const { batchId, header, batch } = await d.commit(made);
    expect(chunkCount(batch.leaves.length)).toBe(3);
    await d.toSettlement(header);
    const receipts = await d.settleAll(batchId, header, batch, [r1!, r2!, r3!]);
    for (const r of receipts) expect(r.gasUsed < 16_777_216n).toBe(true);
    const state = await f.c.settlement.read.stateOf([batchId]);
    expect(state.paid).toBe(batch.payout);
    expect(state.settledChunks).toBe(3);
    expect(state.released).toBe(true);
  });

  it("a batch mixing auction and ticket leaves pays both, the auction from its held job payment", async () => {
    const [r1, r2] = f.requesters;
    // An auction job won and delivered by the node.
    const node = f.node;
    const t0 = await f.now();
    const prompt = "auction prompt";
    const post = await f.c.market.write.postJob(
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
      { account: r2!.account },
    );
    const postReceipt = await f.wait(post);
    const [posted] = parseEventLogs({ abi: f.c.market.abi, logs: postReceipt.logs, eventName: "JobPosted" });
    const jobId = posted!.args.jobId;
    const salt = keccak256(toHex("bid salt"));
    const { bidCommitment } = await import("../../agents/lib/encodings.ts");
    await f.wait(
      await f.c.market.write.commitBid([jobId, bidCommitment(jobId, node.account.address, PRICE / 2n, salt)], {
        account: node.account,
      }),
    );
    await f.advance(31);
    await f.wait(await f.c.market.write.revealBid([jobId, PRICE / 2n, salt], { account: node.account }));
    await f.advance(31);
    await f.wait(await f.c.market.write.finalize([jobId]));
    const tokens = [5, 6, 7, 8];
    const out = outputHash(PROFILE, tokens);
    await f.wait(await f.c.market.write.deliver([jobId, out, tokens.length], { account: node.account }));
    const held = await f.c.market.read.heldOf([jobId]);
    expect(held).toBe(BigInt(tokens.length) * PRICE); // alone: paid the reserve
    const made = [
      d.auctionLeaf(jobId, r2!.account.address, prompt, tokens, held, t0 + 600n),
      await d.ticketLeaf(r1!, "t1", 5),
      await d.ticketLeaf(r1!, "t2", 5),
    ];
    const { batchId, header, batch } = await d.commit(made);
    await d.toSettlement(header);
    const [receipt] = await d.settleAll(batchId, header, batch, [r1!]);
    const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: receipt!.logs, eventName: "ChunkSettled" });
    expect(ev!.args.paid).toBe(batch.payout);
    expect(await f.c.market.read.heldOf([jobId])).toBe(0n);
    // The settlement pulls the auction payment from the market when the node withdraws.
    await f.wait(await f.c.settlement.write.withdrawCredits({ account: f.node.account }));
  });

  it("never pays more than declared: a batch whose leaves add up to more than its payout is paid its payout", async () => {
    const [r1] = f.requesters;
    const made = [await d.ticketLeaf(r1!, "m1", 10), await d.ticketLeaf(r1!, "m2", 10)];
    const sum = made.reduce((s, m) => s + m.leaf.amount, 0n);
    const { batchId, header, batch } = await d.commit(made, sum / 2n);
    await d.toSettlement(header);
    await d.settleAll(batchId, header, batch, [r1!]);
    expect((await f.c.settlement.read.stateOf([batchId])).paid).toBe(sum / 2n);
  });

  it("a ticket already paid cannot be paid again by re-committing it, through either path", async () => {
    const [r1] = f.requesters;
    const m1 = await d.ticketLeaf(r1!, "once", 7, { sign: true });
    const first = await d.commit([m1]);
    await d.toSettlement(first.header);
    await d.settleAll(first.batchId, first.header, first.batch, [r1!]);
    const paid = (await f.c.escrow.read.pairOf([r1!.account.address, nodeAddr()])).paid;
    // Re-committed and settled with the same voucher: nothing more is owed.
    const again = await d.commit([m1]);
    await d.toSettlement(again.header);
    const [receipt] = await d.settleAll(again.batchId, again.header, again.batch, [r1!]);
    const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: receipt!.logs, eventName: "ChunkSettled" });
    expect(ev!.args.paid).toBe(0n);
    expect(ev!.args.unpaidLeaves).toBe(1);
    // Through the single-ticket path: covered by the voucher's throughSequence.
    const third = await d.commit([m1]);
    await d.toSettlement(third.header);
    const vouchersBy = new Map<Address, { voucher: Voucher; signature: Hex }>();
    await expect(
      d.settleChunk(third.batchId, third.header, third.batch, 0, { vouchersBy, byTicket: new Map([[0, m1]]) }),
    ).rejects.toThrow(/EscrowTicketSettledByVoucher/);
    expect((await f.c.escrow.read.pairOf([r1!.account.address, nodeAddr()])).paid).toBe(paid);
  });

  it("the ticket fallback pays a ticket alone once, and a ticket committed after its expiry is refused", async () => {
    const [r1] = f.requesters;
    const m = await d.ticketLeaf(r1!, "fallback", 9, { sign: true });
    const b = await d.commit([m]);
    await d.toSettlement(b.header);
    const vouchersBy = new Map<Address, { voucher: Voucher; signature: Hex }>();
    const receipt = await d.settleChunk(b.batchId, b.header, b.batch, 0, { vouchersBy, byTicket: new Map([[0, m]]) });
    const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: receipt.logs, eventName: "ChunkSettled" });
    expect(ev!.args.paid).toBe(9n * PRICE);
    const again = await d.commit([m]);
    await d.toSettlement(again.header);
    await expect(
      d.settleChunk(again.batchId, again.header, again.batch, 0, { vouchersBy, byTicket: new Map([[0, m]]) }),
    ).rejects.toThrow(/EscrowTicketAlreadyRedeemed/);
    // A ticket whose expiry + commit lag has passed cannot be committed and paid.
    const late = await d.ticketLeaf(r1!, "late", 3);
    await f.advance(late.ticket!.expiry - (await f.now()) + f.deployed.params.batchCommitLagSeconds + 5n);
    const lb = await d.commit([late]);
    await d.toSettlement(lb.header);
    await expect(d.settleAll(lb.batchId, lb.header, lb.batch, [r1!])).rejects.toThrow(/SettlementTicketCommittedLate/);
  });
});
