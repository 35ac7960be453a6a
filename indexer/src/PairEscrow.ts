/**
 * PairEscrow events -> escrow_pair, escrow_event, voucher_redemption, ticket_redemption, escrow
 * credits and node earnings. Registers only when the deployment has a PairEscrow.
 */
import { ponder } from "ponder:registry";
import { credit, creditWithdrawal, escrowEvent, escrowPair, ticketRedemption, voucherRedemption } from "ponder:schema";
import type { Hex } from "viem";
import { deployedAddress, isDeployed } from "../indexerEnv.ts";
import { meta, updateCredit, updateMarket, updateNodeStats, type Db } from "../lib/store.ts";

type PairRow = typeof escrowPair.$inferSelect;

/** Applies `change(row)` to the (requester, node) pair, created empty on first use. */
async function updatePair(
  db: Db,
  requester: Hex,
  node: Hex,
  timestamp: bigint,
  change: (row: PairRow) => Partial<Omit<PairRow, "requester" | "node">>,
): Promise<void> {
  await db
    .insert(escrowPair)
    .values({
      requester,
      node,
      balance: 0n,
      paid: 0n,
      voucherSequence: 0n,
      deposited: 0n,
      withdrawn: 0n,
      thawAmount: 0n,
      thawToNode: null,
      thawEndsAt: null,
      updatedAt: timestamp,
    })
    .onConflictDoNothing();
  await db.update(escrowPair, { requester, node }).set((row) => ({ ...change(row), updatedAt: timestamp }));
}

const NO_THAW = { thawAmount: 0n, thawToNode: null, thawEndsAt: null } as const;

/**
 * The beneficiary of a redemption: BatchSettlement when the transaction is a settlement call
 * (collectVoucher/collectTicket pay the settlement contract, which splits node, royalty and fee
 * in its own ledger: BatchSettlement.ts counts the node's part), else the node itself.
 */
function payee(tx: { to: Hex | null }, node: Hex): { beneficiary: Hex; viaSettlement: boolean } {
  const settlement = deployedAddress("BatchSettlement");
  if (settlement !== undefined && tx.to?.toLowerCase() === settlement) {
    return { beneficiary: settlement as Hex, viaSettlement: true };
  }
  return { beneficiary: node, viaSettlement: false };
}

if (isDeployed("PairEscrow")) {
  ponder.on("PairEscrow:Deposited", async ({ event, context }) => {
    const { requester, node, amount, balance } = event.args;
    await updatePair(context.db, requester, node, event.block.timestamp, (p) => ({
      balance,
      deposited: p.deposited + amount,
    }));
    await context.db.insert(escrowEvent).values({
      id: event.id,
      kind: "deposited",
      requester,
      node,
      toNode: null,
      amount,
      balanceAfter: balance,
      ...meta(event),
    });
    await updateMarket(context.db, event, (m) => ({ escrowed: m.escrowed + amount }));
  });

  ponder.on("PairEscrow:ThawRequested", async ({ event, context }) => {
    const { requester, node, toNode, amount, endsAt } = event.args;
    const to = BigInt(toNode) === 0n ? null : toNode;
    await updatePair(context.db, requester, node, event.block.timestamp, () => ({
      thawAmount: amount,
      thawToNode: to,
      thawEndsAt: endsAt,
    }));
    await context.db.insert(escrowEvent).values({
      id: event.id,
      kind: "thaw_requested",
      requester,
      node,
      toNode: to,
      amount,
      balanceAfter: null,
      ...meta(event),
    });
  });

  ponder.on("PairEscrow:ThawCancelled", async ({ event, context }) => {
    const { requester, node, amount } = event.args;
    await updatePair(context.db, requester, node, event.block.timestamp, () => NO_THAW);
    await context.db.insert(escrowEvent).values({
      id: event.id,
      kind: "thaw_cancelled",
      requester,
      node,
      toNode: null,
      amount,
      balanceAfter: null,
      ...meta(event),
    });
  });

  ponder.on("PairEscrow:Withdrawn", async ({ event, context }) => {
    const { requester, node, amount, balance } = event.args;
    await updatePair(context.db, requester, node, event.block.timestamp, (p) => ({
      balance,
      withdrawn: p.withdrawn + amount,
      ...NO_THAW,
    }));
    await context.db.insert(escrowEvent).values({
      id: event.id,
      kind: "withdrawn",
      requester,
      node,
      toNode: null,
      amount,
      balanceAfter: balance,
      ...meta(event),
    });
    await updateMarket(context.db, event, (m) => ({ escrowed: m.escrowed - amount }));
  });

  ponder.on("PairEscrow:Moved", async ({ event, context }) => {
    const { requester, fromNode, toNode, amount, fromBalance, toBalance } = event.args;
    await updatePair(context.db, requester, fromNode, event.block.timestamp, () => ({
      balance: fromBalance,
      ...NO_THAW,
    }));
    await updatePair(context.db, requester, toNode, event.block.timestamp, (p) => ({
      balance: toBalance,
      deposited: p.deposited + amount,
    }));
    await context.db.insert(escrowEvent).values({
      id: event.id,
      kind: "moved",
      requester,
      node: fromNode,
      toNode,
      amount,
      balanceAfter: fromBalance,
      ...meta(event),
    });
  });

  ponder.on("PairEscrow:VoucherRedeemed", async ({ event, context }) => {
    const { requester, node, cumulativeAmount, throughSequence, amount, paid, balance } = event.args;
    await updatePair(context.db, requester, node, event.block.timestamp, () => ({
      balance,
      paid,
      voucherSequence: throughSequence,
    }));
    await context.db.insert(voucherRedemption).values({
      id: event.id,
      requester,
      node,
      cumulativeAmount,
      throughSequence,
      amount,
      paid,
      balance,
      ...meta(event),
    });
    const { beneficiary, viaSettlement } = payee(event.transaction, node);
    await context.db
      .insert(credit)
      .values({ id: event.id, source: "escrow", beneficiary, from: requester, amount, ...meta(event) });
    await updateCredit(context.db, "escrow", beneficiary, { credited: amount });
    await updateNodeStats(context.db, node, (n) => ({
      earnings: n.earnings + (viaSettlement ? 0n : amount),
      vouchersRedeemed: n.vouchersRedeemed + 1n,
    }));
    await updateMarket(context.db, event, (m) => ({
      escrowed: m.escrowed - amount,
      paidToNodes: m.paidToNodes + amount,
      vouchersRedeemed: m.vouchersRedeemed + 1n,
    }));
  });

  ponder.on("PairEscrow:TicketRedeemed", async ({ event, context }) => {
    const { ticketId, requester, node, sequence, tokensUsed, amount, balance } = event.args;
    await updatePair(context.db, requester, node, event.block.timestamp, (p) => ({ balance, paid: p.paid + amount }));
    await context.db.insert(ticketRedemption).values({
      ticketId,
      requester,
      node,
      sequence,
      tokensUsed,
      amount,
      balance,
      ...meta(event),
    });
    const { beneficiary, viaSettlement } = payee(event.transaction, node);
    await context.db
      .insert(credit)
      .values({ id: event.id, source: "escrow", beneficiary, from: requester, amount, ...meta(event) });
    await updateCredit(context.db, "escrow", beneficiary, { credited: amount });
    // A ticket paid inside a settled chunk is one of that chunk's leaves: counted there.
    const alone = viaSettlement ? 0n : 1n;
    const tokens = viaSettlement ? 0n : BigInt(tokensUsed);
    await updateNodeStats(context.db, node, (n) => ({
      jobsServed: n.jobsServed + alone,
      tokensServed: n.tokensServed + tokens,
      earnings: n.earnings + (viaSettlement ? 0n : amount),
      ticketsRedeemed: n.ticketsRedeemed + 1n,
    }));
    await updateMarket(context.db, event, (m) => ({
      escrowed: m.escrowed - amount,
      paidToNodes: m.paidToNodes + amount,
      ticketsRedeemed: m.ticketsRedeemed + 1n,
      tokensServed: m.tokensServed + tokens,
    }));
  });

  ponder.on("PairEscrow:CreditsWithdrawn", async ({ event, context }) => {
    const { account, amount } = event.args;
    await context.db
      .insert(creditWithdrawal)
      .values({ id: event.id, source: "escrow", account, amount, ...meta(event) });
    await updateCredit(context.db, "escrow", account, { withdrawn: amount });
  });
}
