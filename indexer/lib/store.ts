/**
 * Row helpers shared by the handler files: default rows, upserts of the aggregate tables and the
 * common event columns. Kept outside indexer/src so Ponder does not load it as a handler file.
 */
import type { Context } from "ponder:registry";
import { hexToString, type Hex } from "viem";
import { contractLink, creditBalance, marketStats, nodeStats, rewardEpoch, stakeAccount } from "../ponder.schema.ts";

export type Db = Context["db"];
type EventLike = { block: { number: bigint; timestamp: bigint }; transaction: { hash: Hex } };

export const MARKET_ID = "market";

/** The contract that holds a credit. */
export type CreditSource = "staking" | "escrow" | "auction" | "settlement" | "challenge" | "committee";

/** A challenge's id: "batchId:leafIndex". */
export const challengeKey = (batchId: bigint, leafIndex: number): string => `${batchId}:${leafIndex}`;

/** blockNumber, timestamp and txHash of an event. */
export function meta(event: EventLike): { blockNumber: bigint; timestamp: bigint; txHash: Hex } {
  return { blockNumber: event.block.number, timestamp: event.block.timestamp, txHash: event.transaction.hash };
}

/** A bytes32 parameter name as text ("minNodeStake"), right padding removed. */
export function parameterName(name: Hex): string {
  return hexToString(name, { size: 32 }).replace(/\0+$/, "");
}

type MarketRow = typeof marketStats.$inferSelect;
type MarketChange = Partial<Omit<MarketRow, "id">>;

const EMPTY_MARKET: MarketRow = {
  id: MARKET_ID,
  models: 0,
  activeModels: 0,
  registeredNodes: 0,
  validators: 0,
  totalStaked: 0n,
  totalLocked: 0n,
  totalUnbonding: 0n,
  totalSlashed: 0n,
  totalBurned: 0n,
  slashes: 0,
  escrowed: 0n,
  paidToNodes: 0n,
  vouchersRedeemed: 0n,
  ticketsRedeemed: 0n,
  tokensServed: 0n,
  auctionJobs: 0,
  auctionBids: 0,
  auctionsDelivered: 0,
  batches: 0,
  chunksSettled: 0,
  leavesSettled: 0n,
  settledVolume: 0n,
  settledToNodes: 0n,
  royalties: 0n,
  fees: 0n,
  challenges: 0,
  challengesUpheld: 0,
  disputes: 0,
  rewardPoolFunded: 0n,
  rewardPoolPaid: 0n,
  rewardPoolRecycled: 0n,
  rewardPoolSwept: 0n,
  validatorRewardsFunded: 0n,
  validatorRewardsPaid: 0n,
  validatorRewardsSwept: 0n,
  canariesPlanted: 0,
  canariesRevealed: 0,
  canariesCaught: 0,
  lastBlock: 0n,
  lastTimestamp: 0n,
};

/**
 * Applies `change(row)` to the market row (created on first use) and stamps the block: one
 * upsert, so a handler never reads before it writes. Returns the row after the change.
 */
export async function updateMarket(
  db: Db,
  event: EventLike,
  change: (row: MarketRow) => MarketChange,
): Promise<MarketRow> {
  const stamp = { lastBlock: event.block.number, lastTimestamp: event.block.timestamp };
  return db
    .insert(marketStats)
    .values({ ...EMPTY_MARKET, ...change(EMPTY_MARKET), ...stamp })
    .onConflictDoUpdate((row) => ({ ...change(row), ...stamp }));
}

type StakeRow = typeof stakeAccount.$inferSelect;

/** Applies `change(row)` to `account`'s stake row, created empty on first use. */
export async function updateStake(
  db: Db,
  account: Hex,
  change: (row: StakeRow) => Partial<Omit<StakeRow, "address">>,
): Promise<void> {
  const empty: StakeRow = {
    address: account,
    free: 0n,
    locked: 0n,
    unbonding: 0n,
    unbondingReleaseAt: 0n,
    totalSlashed: 0n,
  };
  await db
    .insert(stakeAccount)
    .values({ ...empty, ...change(empty) })
    .onConflictDoUpdate(change);
}

type NodeStatsRow = typeof nodeStats.$inferSelect;

function emptyNodeStats(node: Hex): NodeStatsRow {
  return {
    node,
    jobsServed: 0n,
    tokensServed: 0n,
    earnings: 0n,
    vouchersRedeemed: 0n,
    ticketsRedeemed: 0n,
    slashCount: 0,
    slashedAmount: 0n,
    batchesCommitted: 0n,
    batchesVoided: 0,
    chunksSettled: 0n,
    auctionBids: 0,
    auctionsWon: 0,
    auctionsDelivered: 0,
    challengesReceived: 0,
    challengesWon: 0,
    challengesLost: 0,
    rewardPoints: 0n,
    rewardFees: 0n,
    rewardsClaimed: 0n,
    rewardsCapped: 0n,
  };
}

/** Applies `change(row)` to `node`'s aggregates, created at zero on first use (one upsert). */
export async function updateNodeStats(
  db: Db,
  node: Hex,
  change: (row: NodeStatsRow) => Partial<Omit<NodeStatsRow, "node">>,
): Promise<void> {
  const empty = emptyNodeStats(node);
  await db
    .insert(nodeStats)
    .values({ ...empty, ...change(empty) })
    .onConflictDoUpdate(change);
}

/** Adds `credited` and subtracts `withdrawn` on the (source, account) credit balance. */
export async function updateCredit(
  db: Db,
  source: CreditSource,
  account: Hex,
  delta: { credited?: bigint; withdrawn?: bigint },
): Promise<void> {
  const credited = delta.credited ?? 0n;
  const withdrawn = delta.withdrawn ?? 0n;
  await db
    .insert(creditBalance)
    .values({ source, account, credited, withdrawn, balance: credited - withdrawn })
    .onConflictDoUpdate((row) => ({
      credited: row.credited + credited,
      withdrawn: row.withdrawn + withdrawn,
      balance: row.balance + credited - withdrawn,
    }));
}

/** The two reward contracts, as named in reward_epoch.contract. */
export type RewardContract = "RewardPool" | "ValidatorRewards";

type RewardEpochRow = typeof rewardEpoch.$inferSelect;

/** Applies `change(row)` to one epoch of a reward contract, created at zero on first use (one upsert). */
export async function updateRewardEpoch(
  db: Db,
  contract: RewardContract,
  epoch: bigint,
  change: (row: RewardEpochRow) => Partial<Omit<RewardEpochRow, "contract" | "epoch">>,
): Promise<RewardEpochRow> {
  const empty: RewardEpochRow = {
    contract,
    epoch,
    pool: 0n,
    funded: 0n,
    recycledIn: 0n,
    sweptIn: 0n,
    points: 0n,
    allocated: 0n,
    claims: 0,
    paid: 0n,
    recycledOut: 0n,
    swept: false,
    sweptAmount: null,
    sweptInto: null,
    sweptAt: null,
  };
  return db
    .insert(rewardEpoch)
    .values({ ...empty, ...change(empty) })
    .onConflictDoUpdate(change);
}

/** Records that `contract` now points its `name` link at `address` (e.g. BatchSettlement.rewardPool). */
export async function setLink(db: Db, contract: string, name: string, address: Hex, event: EventLike): Promise<void> {
  const fields = { address, updatedBlock: event.block.number, updatedAt: event.block.timestamp };
  await db
    .insert(contractLink)
    .values({ contract, name, ...fields })
    .onConflictDoUpdate(fields);
}
