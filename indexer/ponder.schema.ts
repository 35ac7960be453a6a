/**
 * Indexer tables (docs/indexer.md lists them with their meaning). Amounts are token wei (bigint),
 * reputations are 1e18 fixed point, times are block timestamps in seconds. Event rows are keyed by
 * Ponder's `event.id` (unique per log, stable across restarts), so a re-indexed block cannot
 * duplicate a row.
 */
import { index, onchainTable, primaryKey, relations } from "ponder";

// ---------------------------------------------------------------- models

export const model = onchainTable("model", (t) => ({
  id: t.hex().primaryKey(), // GGUF sha256
  owner: t.hex().notNull(),
  pendingOwner: t.hex(),
  uri: t.text().notNull(),
  family: t.text().notNull(),
  parameterCount: t.bigint().notNull(),
  quantization: t.integer().notNull(),
  contextLength: t.integer().notNull(),
  minMemoryMb: t.integer().notNull(),
  defaultProfileHash: t.hex().notNull(),
  royaltyPerToken: t.bigint().notNull(),
  deprecated: t.boolean().notNull(),
  registeredAt: t.bigint().notNull(),
  registeredBlock: t.bigint().notNull(),
}));

// ---------------------------------------------------------------- nodes

export const node = onchainTable(
  "node",
  (t) => ({
    address: t.hex().primaryKey(),
    signer: t.hex().notNull(),
    endpoint: t.text().notNull(),
    /** "registered" or "deregistered". */
    status: t.text().notNull(),
    registeredAt: t.bigint().notNull(),
    registeredBlock: t.bigint().notNull(),
    deregisteredAt: t.bigint(),
    /** Reputation after the last ReputationUpdated (undecayed); 0.4e18 before any. */
    reputation: t.bigint().notNull(),
    /** Timestamp of the last ReputationUpdated; null before any (a newcomer does not decay). */
    reputationUpdatedAt: t.bigint(),
  }),
  (t) => ({ statusIdx: index().on(t.status) }),
);

export const capability = onchainTable(
  "capability",
  (t) => ({
    node: t.hex().notNull(),
    modelId: t.hex().notNull(),
    quantization: t.integer().notNull(),
    maxBatch: t.integer().notNull(),
    maxTokens: t.integer().notNull(),
    latencySlaMs: t.integer().notNull(),
    pricePerToken: t.bigint().notNull(),
    updatedAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.node, t.modelId] }), modelIdx: index().on(t.modelId) }),
);

export const reputationUpdate = onchainTable(
  "reputation_update",
  (t) => ({
    id: t.text().primaryKey(),
    node: t.hex().notNull(),
    newValue: t.bigint().notNull(),
    score: t.bigint().notNull(),
    value: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ nodeIdx: index().on(t.node) }),
);

/**
 * Per-node aggregates. Filled from the events that exist today (escrow redemptions, slashes);
 * TODO(batches): batchesCommitted/leavesSettled from BatchSettlement; TODO(challenges):
 * challengesWon/challengesLost from Committees; TODO(auctions): auctionsWon from AuctionMarket.
 */
export const nodeStats = onchainTable("node_stats", (t) => ({
  node: t.hex().primaryKey(),
  /** Jobs known to be paid one by one (tickets redeemed alone; batches will add leaves). */
  jobsServed: t.bigint().notNull(),
  /** Tokens of those jobs (vouchers carry no token count). */
  tokensServed: t.bigint().notNull(),
  /** Tokens paid to the node by escrow (vouchers + tickets). */
  earnings: t.bigint().notNull(),
  vouchersRedeemed: t.bigint().notNull(),
  ticketsRedeemed: t.bigint().notNull(),
  slashCount: t.integer().notNull(),
  slashedAmount: t.bigint().notNull(),
  batchesCommitted: t.bigint().notNull(),
  challengesWon: t.integer().notNull(),
  challengesLost: t.integer().notNull(),
}));

// ---------------------------------------------------------------- staking

export const stakeAccount = onchainTable("stake_account", (t) => ({
  address: t.hex().primaryKey(),
  free: t.bigint().notNull(),
  locked: t.bigint().notNull(),
  unbonding: t.bigint().notNull(),
  unbondingReleaseAt: t.bigint().notNull(),
  totalSlashed: t.bigint().notNull(),
}));

export const stakeEvent = onchainTable(
  "stake_event",
  (t) => ({
    id: t.text().primaryKey(),
    account: t.hex().notNull(),
    /** staked | unstake_requested | unbonded_withdrawn | locked | unlocked */
    kind: t.text().notNull(),
    amount: t.bigint().notNull(),
    /** The locker for locked/unlocked, else null. */
    locker: t.hex(),
    /** The bucket total after the event (free, unbonding or locked; 0 for unbonded_withdrawn). */
    balanceAfter: t.bigint().notNull(),
    releaseAt: t.bigint(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ accountIdx: index().on(t.account) }),
);

export const slash = onchainTable(
  "slash",
  (t) => ({
    id: t.text().primaryKey(),
    account: t.hex().notNull(),
    slasher: t.hex().notNull(),
    requested: t.bigint().notNull(),
    slashed: t.bigint().notNull(),
    fromLocked: t.bigint().notNull(),
    fromFree: t.bigint().notNull(),
    fromUnbonding: t.bigint().notNull(),
    burned: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ accountIdx: index().on(t.account) }),
);

/** Credits per (source contract, account): source is "staking" or "escrow". */
export const creditBalance = onchainTable(
  "credit_balance",
  (t) => ({
    source: t.text().notNull(),
    account: t.hex().notNull(),
    credited: t.bigint().notNull(),
    withdrawn: t.bigint().notNull(),
    balance: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.source, t.account] }) }),
);

/** One row per Credited (staking, from a slash) or redemption credit (escrow). */
export const credit = onchainTable(
  "credit",
  (t) => ({
    id: t.text().primaryKey(),
    source: t.text().notNull(),
    beneficiary: t.hex().notNull(),
    /** The slashed account for staking credits; the requester for escrow credits. */
    from: t.hex().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ beneficiaryIdx: index().on(t.beneficiary) }),
);

export const creditWithdrawal = onchainTable(
  "credit_withdrawal",
  (t) => ({
    id: t.text().primaryKey(),
    source: t.text().notNull(),
    account: t.hex().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ accountIdx: index().on(t.account) }),
);

export const validator = onchainTable("validator", (t) => ({
  address: t.hex().primaryKey(),
  modelCount: t.integer().notNull(),
  firstDeclaredAt: t.bigint().notNull(),
}));

export const validatorModel = onchainTable(
  "validator_model",
  (t) => ({
    validator: t.hex().notNull(),
    modelId: t.hex().notNull(),
    declared: t.boolean().notNull(),
    /** Sortition weight (free + locked when >= minValidatorStake, else 0). */
    weight: t.bigint().notNull(),
    declaredAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.validator, t.modelId] }), modelIdx: index().on(t.modelId) }),
);

// ---------------------------------------------------------------- governance

/** Current value of each governance parameter, per contract. */
export const parameter = onchainTable(
  "parameter",
  (t) => ({
    contract: t.text().notNull(),
    name: t.text().notNull(),
    value: t.bigint().notNull(),
    address: t.hex().notNull(),
    updatedBlock: t.bigint().notNull(),
    updatedAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.contract, t.name] }) }),
);

export const parameterChange = onchainTable("parameter_change", (t) => ({
  id: t.text().primaryKey(),
  contract: t.text().notNull(),
  name: t.text().notNull(),
  oldValue: t.bigint().notNull(),
  newValue: t.bigint().notNull(),
  blockNumber: t.bigint().notNull(),
  timestamp: t.bigint().notNull(),
  txHash: t.hex().notNull(),
}));

// ---------------------------------------------------------------- escrow (PairEscrow)

export const escrowPair = onchainTable(
  "escrow_pair",
  (t) => ({
    requester: t.hex().notNull(),
    node: t.hex().notNull(),
    balance: t.bigint().notNull(),
    paid: t.bigint().notNull(),
    voucherSequence: t.bigint().notNull(),
    deposited: t.bigint().notNull(),
    withdrawn: t.bigint().notNull(),
    /** Pending thaw (0 when none); thawToNode null for a withdrawal. */
    thawAmount: t.bigint().notNull(),
    thawToNode: t.hex(),
    thawEndsAt: t.bigint(),
    updatedAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.requester, t.node] }), nodeIdx: index().on(t.node) }),
);

/** Deposits, thaws, withdrawals and moves, one row per event. */
export const escrowEvent = onchainTable(
  "escrow_event",
  (t) => ({
    id: t.text().primaryKey(),
    /** deposited | thaw_requested | thaw_cancelled | withdrawn | moved */
    kind: t.text().notNull(),
    requester: t.hex().notNull(),
    node: t.hex().notNull(),
    toNode: t.hex(),
    amount: t.bigint().notNull(),
    balanceAfter: t.bigint(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ pairIdx: index().on(t.requester, t.node) }),
);

export const voucherRedemption = onchainTable(
  "voucher_redemption",
  (t) => ({
    id: t.text().primaryKey(),
    requester: t.hex().notNull(),
    node: t.hex().notNull(),
    cumulativeAmount: t.bigint().notNull(),
    throughSequence: t.bigint().notNull(),
    amount: t.bigint().notNull(),
    paid: t.bigint().notNull(),
    balance: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ nodeIdx: index().on(t.node) }),
);

export const ticketRedemption = onchainTable(
  "ticket_redemption",
  (t) => ({
    ticketId: t.hex().primaryKey(),
    requester: t.hex().notNull(),
    node: t.hex().notNull(),
    sequence: t.bigint().notNull(),
    tokensUsed: t.integer().notNull(),
    amount: t.bigint().notNull(),
    balance: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ nodeIdx: index().on(t.node) }),
);

// ---------------------------------------------------------------- market

/** One row, id "market": running totals for /stats. */
export const marketStats = onchainTable("market_stats", (t) => ({
  id: t.text().primaryKey(),
  models: t.integer().notNull(),
  activeModels: t.integer().notNull(),
  registeredNodes: t.integer().notNull(),
  validators: t.integer().notNull(),
  totalStaked: t.bigint().notNull(),
  totalLocked: t.bigint().notNull(),
  totalUnbonding: t.bigint().notNull(),
  totalSlashed: t.bigint().notNull(),
  totalBurned: t.bigint().notNull(),
  slashes: t.integer().notNull(),
  escrowed: t.bigint().notNull(),
  paidToNodes: t.bigint().notNull(),
  vouchersRedeemed: t.bigint().notNull(),
  ticketsRedeemed: t.bigint().notNull(),
  tokensServed: t.bigint().notNull(),
  lastBlock: t.bigint().notNull(),
  lastTimestamp: t.bigint().notNull(),
}));

// ---------------------------------------------------------------- relations (GraphQL)

export const nodeRelations = relations(node, ({ one, many }) => ({
  stake: one(stakeAccount, { fields: [node.address], references: [stakeAccount.address] }),
  stats: one(nodeStats, { fields: [node.address], references: [nodeStats.node] }),
  capabilities: many(capability),
  reputationHistory: many(reputationUpdate),
}));

// Relation names must not repeat a column name (GraphQL would lose the column): "...Record".
export const capabilityRelations = relations(capability, ({ one }) => ({
  nodeRecord: one(node, { fields: [capability.node], references: [node.address] }),
  model: one(model, { fields: [capability.modelId], references: [model.id] }),
}));

export const reputationUpdateRelations = relations(reputationUpdate, ({ one }) => ({
  nodeRecord: one(node, { fields: [reputationUpdate.node], references: [node.address] }),
}));

export const modelRelations = relations(model, ({ many }) => ({
  capabilities: many(capability),
  validators: many(validatorModel),
}));

export const validatorRelations = relations(validator, ({ one, many }) => ({
  stake: one(stakeAccount, { fields: [validator.address], references: [stakeAccount.address] }),
  models: many(validatorModel),
}));

export const validatorModelRelations = relations(validatorModel, ({ one }) => ({
  validatorRecord: one(validator, { fields: [validatorModel.validator], references: [validator.address] }),
  model: one(model, { fields: [validatorModel.modelId], references: [model.id] }),
}));
