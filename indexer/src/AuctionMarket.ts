/**
 * AuctionMarket events -> auction_job, auction_bid, bond_account, auction credits, node and market
 * aggregates. Registers only when the deployment has an AuctionMarket.
 */
import { ponder } from "ponder:registry";
import { auctionBid, auctionJob, bondAccount, credit, creditWithdrawal } from "ponder:schema";
import { zeroAddress } from "viem";
import { isDeployed } from "../indexerEnv.ts";
import { meta, updateCredit, updateMarket, updateNodeStats } from "../lib/store.ts";

if (isDeployed("AuctionMarket")) {
  ponder.on("AuctionMarket:JobPosted", async ({ event, context }) => {
    const { jobId, requester, modelId, inputHash, params, commitEnd, revealEnd, escrow } = event.args;
    await context.db.insert(auctionJob).values({
      id: jobId,
      requester,
      modelId,
      inputHash,
      inputKind: "calldata",
      prompt: null,
      inputUri: null,
      postingBond: 0n,
      maxTokens: params.maxTokens,
      reservePricePerToken: params.reservePricePerToken,
      minReputation: params.minReputation,
      commitEnd,
      revealEnd,
      deliveryDeadline: BigInt(params.deliveryDeadline),
      escrow,
      status: "open",
      bids: 0,
      revealedBids: 0,
      best: null,
      bestPrice: null,
      secondPricePlusOne: null,
      winner: null,
      pricePerToken: null,
      outputHash: null,
      tokens: null,
      payment: null,
      collected: null,
      refunded: null,
      flaggedAt: null,
      postedAt: event.block.timestamp,
      postedBlock: event.block.number,
      finalizedAt: null,
      deliveredAt: null,
      txHash: event.transaction.hash,
    });
    await updateMarket(context.db, event, (m) => ({ auctionJobs: m.auctionJobs + 1 }));
  });

  ponder.on("AuctionMarket:JobInputPosted", async ({ event, context }) => {
    await context.db.update(auctionJob, { id: event.args.jobId }).set({ prompt: event.args.prompt });
  });

  ponder.on("AuctionMarket:JobInputUri", async ({ event, context }) => {
    const { jobId, uri, postingBond } = event.args;
    await context.db.update(auctionJob, { id: jobId }).set({ inputKind: "uri", inputUri: uri, postingBond });
  });

  ponder.on("AuctionMarket:BondStakeReserved", async ({ event, context }) => {
    const { node, amount, available } = event.args;
    await context.db
      .insert(bondAccount)
      .values({ node, available, reserved: amount, released: 0n })
      .onConflictDoUpdate((b) => ({ available, reserved: b.reserved + amount }));
  });

  ponder.on("AuctionMarket:BondStakeReleased", async ({ event, context }) => {
    const { node, amount, available } = event.args;
    await context.db
      .insert(bondAccount)
      .values({ node, available, reserved: 0n, released: amount })
      .onConflictDoUpdate((b) => ({ available, released: b.released + amount }));
  });

  ponder.on("AuctionMarket:BidCommitted", async ({ event, context }) => {
    const { jobId, bidder, commitment, order, bond } = event.args;
    await context.db.insert(auctionBid).values({
      jobId,
      bidder,
      commitment,
      order: Number(order),
      bond,
      price: null,
      status: "committed",
      slashed: 0n,
      committedAt: event.block.timestamp,
      revealedAt: null,
    });
    await context.db.update(auctionJob, { id: jobId }).set((j) => ({ bids: j.bids + 1 }));
    await updateNodeStats(context.db, bidder, (n) => ({ auctionBids: n.auctionBids + 1 }));
    await updateMarket(context.db, event, (m) => ({ auctionBids: m.auctionBids + 1 }));
  });

  ponder.on("AuctionMarket:BidRevealed", async ({ event, context }) => {
    const { jobId, bidder, price, best, bestPrice, secondPricePlusOne } = event.args;
    await context.db
      .update(auctionBid, { jobId, bidder })
      .set({ price, status: "revealed", revealedAt: event.block.timestamp });
    await context.db.update(auctionJob, { id: jobId }).set((j) => ({
      revealedBids: j.revealedBids + 1,
      best: best === zeroAddress ? null : best,
      bestPrice,
      secondPricePlusOne,
    }));
  });

  ponder.on("AuctionMarket:BondReleased", async ({ event, context }) => {
    await context.db
      .update(auctionBid, { jobId: event.args.jobId, bidder: event.args.bidder })
      .set({ status: "released" });
  });

  ponder.on("AuctionMarket:BondSlashed", async ({ event, context }) => {
    const { jobId, bidder, slashed } = event.args;
    await context.db
      .update(auctionBid, { jobId, bidder })
      .set((b) => ({ status: "slashed", slashed: b.slashed + slashed }));
  });

  ponder.on("AuctionMarket:JobFinalized", async ({ event, context }) => {
    const { jobId, winner, pricePerToken } = event.args;
    const none = winner === zeroAddress;
    await context.db.update(auctionJob, { id: jobId }).set({
      status: none ? "no_bids" : "finalized",
      winner: none ? null : winner,
      pricePerToken: none ? null : pricePerToken,
      finalizedAt: event.block.timestamp,
    });
    if (!none) await updateNodeStats(context.db, winner, (n) => ({ auctionsWon: n.auctionsWon + 1 }));
  });

  ponder.on("AuctionMarket:JobDelivered", async ({ event, context }) => {
    const { jobId, winner, outputHash, tokens, payment } = event.args;
    await context.db
      .update(auctionJob, { id: jobId })
      .set({ status: "delivered", outputHash, tokens, payment, deliveredAt: event.block.timestamp });
    await updateNodeStats(context.db, winner, (n) => ({ auctionsDelivered: n.auctionsDelivered + 1 }));
    await updateMarket(context.db, event, (m) => ({ auctionsDelivered: m.auctionsDelivered + 1 }));
  });

  ponder.on("AuctionMarket:JobCollected", async ({ event, context }) => {
    const { jobId, paid, refunded } = event.args;
    await context.db.update(auctionJob, { id: jobId }).set({ status: "collected", collected: paid, refunded });
  });

  ponder.on("AuctionMarket:UnsettledRefunded", async ({ event, context }) => {
    await context.db
      .update(auctionJob, { id: event.args.jobId })
      .set({ status: "unsettled_refunded", refunded: event.args.amount });
  });

  ponder.on("AuctionMarket:JobRefunded", async ({ event, context }) => {
    await context.db
      .update(auctionJob, { id: event.args.jobId })
      .set({ status: "refunded", refunded: event.args.refund });
  });

  ponder.on("AuctionMarket:InputFlagged", async ({ event, context }) => {
    await context.db.update(auctionJob, { id: event.args.jobId }).set({ flaggedAt: event.block.timestamp });
  });

  ponder.on("AuctionMarket:JobUnreachable", async ({ event, context }) => {
    await context.db
      .update(auctionJob, { id: event.args.jobId })
      .set({ status: "unreachable", refunded: event.args.refund });
  });

  ponder.on("AuctionMarket:DeadlineExtended", async ({ event, context }) => {
    await context.db
      .update(auctionJob, { id: event.args.jobId })
      .set({ deliveryDeadline: event.args.deliveryDeadline });
  });

  ponder.on("AuctionMarket:Credited", async ({ event, context }) => {
    const { account, amount } = event.args;
    await context.db
      .insert(credit)
      .values({ id: event.id, source: "auction", beneficiary: account, from: zeroAddress, amount, ...meta(event) });
    await updateCredit(context.db, "auction", account, { credited: amount });
  });

  ponder.on("AuctionMarket:CreditsWithdrawn", async ({ event, context }) => {
    const { account, amount } = event.args;
    await context.db
      .insert(creditWithdrawal)
      .values({ id: event.id, source: "auction", account, amount, ...meta(event) });
    await updateCredit(context.db, "auction", account, { withdrawn: amount });
  });
}
