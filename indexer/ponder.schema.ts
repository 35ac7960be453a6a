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
 * Per-node aggregates. Jobs and tokens count settled batch leaves (decoded from settleChunk
 * calldata) plus tickets redeemed alone outside settlement; earnings are what reached the node's
 * credit (settlement's toNode, auction payments collected, standalone escrow redemptions).
 */
export const nodeStats = onchainTable("node_stats", (t) => ({
  node: t.hex().primaryKey(),
  /** Settled leaves (each a served job) plus tickets redeemed alone. */
  jobsServed: t.bigint().notNull(),
  /** Tokens of those jobs. */
  tokensServed: t.bigint().notNull(),
  /** Tokens credited to the node: settlement toNode, plus standalone voucher/ticket redemptions. */
  earnings: t.bigint().notNull(),
  vouchersRedeemed: t.bigint().notNull(),
  ticketsRedeemed: t.bigint().notNull(),
  slashCount: t.integer().notNull(),
  slashedAmount: t.bigint().notNull(),
  batchesCommitted: t.bigint().notNull(),
  batchesVoided: t.integer().notNull(),
  chunksSettled: t.bigint().notNull(),
  auctionBids: t.integer().notNull(),
  auctionsWon: t.integer().notNull(),
  auctionsDelivered: t.integer().notNull(),
  /** Challenges against the node's leaves, by outcome (ChallengeClosed). */
  challengesReceived: t.integer().notNull(),
  challengesWon: t.integer().notNull(),
  challengesLost: t.integer().notNull(),
  /** RewardPool: work points recorded (settled value) and protocol fees its buyers paid, all epochs. */
  rewardPoints: t.bigint().notNull(),
  rewardFees: t.bigint().notNull(),
  /** RewardPool claims: tokens paid, and the part of the shares the fee cap withheld (recycled). */
  rewardsClaimed: t.bigint().notNull(),
  rewardsCapped: t.bigint().notNull(),
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
  auctionJobs: t.integer().notNull(),
  auctionBids: t.integer().notNull(),
  auctionsDelivered: t.integer().notNull(),
  batches: t.integer().notNull(),
  chunksSettled: t.integer().notNull(),
  leavesSettled: t.bigint().notNull(),
  /** Paid through batch settlement (all leaves), and its split. */
  settledVolume: t.bigint().notNull(),
  settledToNodes: t.bigint().notNull(),
  royalties: t.bigint().notNull(),
  fees: t.bigint().notNull(),
  challenges: t.integer().notNull(),
  challengesUpheld: t.integer().notNull(),
  disputes: t.integer().notNull(),
  /** RewardPool (node rewards): funded by Funded, paid by claims, withheld by the fee cap, swept forward. */
  rewardPoolFunded: t.bigint().notNull(),
  rewardPoolPaid: t.bigint().notNull(),
  rewardPoolRecycled: t.bigint().notNull(),
  rewardPoolSwept: t.bigint().notNull(),
  /** ValidatorRewards (validator fee stream): funded, paid by claims, swept forward. */
  validatorRewardsFunded: t.bigint().notNull(),
  validatorRewardsPaid: t.bigint().notNull(),
  validatorRewardsSwept: t.bigint().notNull(),
  /** Canary commitments planted (decoys included: the chain cannot tell them apart), revealed, caught. */
  canariesPlanted: t.integer().notNull(),
  canariesRevealed: t.integer().notNull(),
  canariesCaught: t.integer().notNull(),
  lastBlock: t.bigint().notNull(),
  lastTimestamp: t.bigint().notNull(),
}));

// ---------------------------------------------------------------- auctions (AuctionMarket)

/**
 * One sealed-bid reverse Vickrey job. `status`: open | finalized | no_bids | delivered | refunded |
 * unreachable | collected (paid through a settled auction leaf) | unsettled_refunded. The phase
 * within `open` follows from commitEnd/revealEnd and the clock, as in the contract.
 */
export const auctionJob = onchainTable(
  "auction_job",
  (t) => ({
    id: t.bigint().primaryKey(),
    requester: t.hex().notNull(),
    modelId: t.hex().notNull(),
    inputHash: t.hex().notNull(),
    /** "calldata" (prompt in JobInputPosted) or "uri" (hash-only posting with a posting bond). */
    inputKind: t.text().notNull(),
    prompt: t.text(),
    inputUri: t.text(),
    postingBond: t.bigint().notNull(),
    maxTokens: t.integer().notNull(),
    reservePricePerToken: t.bigint().notNull(),
    minReputation: t.bigint().notNull(),
    commitEnd: t.bigint().notNull(),
    revealEnd: t.bigint().notNull(),
    deliveryDeadline: t.bigint().notNull(),
    escrow: t.bigint().notNull(),
    status: t.text().notNull(),
    bids: t.integer().notNull(),
    revealedBids: t.integer().notNull(),
    best: t.hex(),
    bestPrice: t.bigint(),
    secondPricePlusOne: t.bigint(),
    winner: t.hex(),
    /** Clearing price per token (second price, capped by the reserve). */
    pricePerToken: t.bigint(),
    outputHash: t.hex(),
    tokens: t.integer(),
    payment: t.bigint(),
    /** Paid to the winner through settlement (JobCollected), and refunded to the requester. */
    collected: t.bigint(),
    refunded: t.bigint(),
    flaggedAt: t.bigint(),
    postedAt: t.bigint().notNull(),
    postedBlock: t.bigint().notNull(),
    finalizedAt: t.bigint(),
    deliveredAt: t.bigint(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ modelIdx: index().on(t.modelId), winnerIdx: index().on(t.winner), requesterIdx: index().on(t.requester) }),
);

/** status: committed | revealed | released (bond back) | slashed (unrevealed or missed deadline). */
export const auctionBid = onchainTable(
  "auction_bid",
  (t) => ({
    jobId: t.bigint().notNull(),
    bidder: t.hex().notNull(),
    commitment: t.hex().notNull(),
    order: t.integer().notNull(),
    bond: t.bigint().notNull(),
    price: t.bigint(),
    status: t.text().notNull(),
    slashed: t.bigint().notNull(),
    committedAt: t.bigint().notNull(),
    revealedAt: t.bigint(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.jobId, t.bidder] }), bidderIdx: index().on(t.bidder) }),
);

/** Stake a node reserved for auction bonds (BondStakeReserved/Released). */
export const bondAccount = onchainTable("bond_account", (t) => ({
  node: t.hex().primaryKey(),
  available: t.bigint().notNull(),
  reserved: t.bigint().notNull(),
  released: t.bigint().notNull(),
}));

// ---------------------------------------------------------------- batches (BatchSettlement)

/** status: committed | released (all chunks settled, lock returned) | voided (node slashed). */
export const batch = onchainTable(
  "batch",
  (t) => ({
    id: t.bigint().primaryKey(),
    node: t.hex().notNull(),
    root: t.hex().notNull(),
    leafCount: t.integer().notNull(),
    chunkCount: t.integer().notNull(),
    payout: t.bigint().notNull(),
    lock: t.bigint().notNull(),
    committedAt: t.bigint().notNull(),
    committedBlock: t.bigint().notNull(),
    txHash: t.hex().notNull(),
    status: t.text().notNull(),
    settledChunks: t.integer().notNull(),
    /** Leaves decoded from settleChunk calldata (all leaves of the settled chunks). */
    leavesDecoded: t.integer().notNull(),
    tokens: t.bigint().notNull(),
    paid: t.bigint().notNull(),
    toNode: t.bigint().notNull(),
    royalties: t.bigint().notNull(),
    fees: t.bigint().notNull(),
    heldLeaves: t.integer().notNull(),
    unpaidLeaves: t.integer().notNull(),
    unlocked: t.bigint(),
    releasedAt: t.bigint(),
    voidReason: t.integer(),
    voidBeneficiary: t.hex(),
    slashed: t.bigint(),
    voidedAt: t.bigint(),
  }),
  (t) => ({ nodeIdx: index().on(t.node) }),
);

export const batchChunk = onchainTable(
  "batch_chunk",
  (t) => ({
    batchId: t.bigint().notNull(),
    chunkIndex: t.integer().notNull(),
    leaves: t.integer().notNull(),
    /** False when the settling transaction was not a direct settleChunk call (leaves unknown). */
    decoded: t.boolean().notNull(),
    paid: t.bigint().notNull(),
    toNode: t.bigint().notNull(),
    royalties: t.bigint().notNull(),
    fees: t.bigint().notNull(),
    heldLeaves: t.integer().notNull(),
    unpaidLeaves: t.integer().notNull(),
    vouchers: t.integer().notNull(),
    tickets: t.integer().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.batchId, t.chunkIndex] }) }),
);

/**
 * One leaf of a settled chunk, decoded from the settleChunk calldata (the contract emits one event
 * per chunk, not per leaf) with agents/lib/batch.ts's expandLeafGroups; `hash` is its leaf hash.
 */
export const batchLeaf = onchainTable(
  "batch_leaf",
  (t) => ({
    batchId: t.bigint().notNull(),
    leafIndex: t.integer().notNull(),
    chunkIndex: t.integer().notNull(),
    /** 0 ticket (ref = ticket id), 1 auction (ref = job id). */
    kind: t.integer().notNull(),
    ref: t.hex().notNull(),
    requester: t.hex().notNull(),
    node: t.hex().notNull(),
    modelId: t.hex().notNull(),
    adapter: t.hex().notNull(),
    profile: t.hex().notNull(),
    input: t.hex().notNull(),
    output: t.hex().notNull(),
    tokens: t.integer().notNull(),
    amount: t.bigint().notNull(),
    expiry: t.bigint().notNull(),
    hash: t.hex().notNull(),
    settledAt: t.bigint().notNull(),
  }),
  (t) => ({
    pk: primaryKey({ columns: [t.batchId, t.leafIndex] }),
    nodeIdx: index().on(t.node),
    refIdx: index().on(t.ref),
  }),
);

/** LeafStatusChanged: the payment status of a challenged leaf (held, cleared, paid, upheld). */
export const leafStatus = onchainTable(
  "leaf_status",
  (t) => ({
    batchId: t.bigint().notNull(),
    leafIndex: t.integer().notNull(),
    status: t.text().notNull(),
    paid: t.bigint(),
    updatedAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.batchId, t.leafIndex] }) }),
);

// ---------------------------------------------------------------- challenges (ChallengeGame)

/** A challenge commitment and its bond: committed | revealed | reclaimed. */
export const challengeCommit = onchainTable("challenge_commit", (t) => ({
  commitment: t.hex().primaryKey(),
  challenger: t.hex().notNull(),
  bond: t.bigint().notNull(),
  status: t.text().notNull(),
  /** The challenge it revealed (batchId:leafIndex), recomputed from the reveal's calldata. */
  challengeId: t.text(),
  committedAt: t.bigint().notNull(),
}));

/**
 * A revealed challenge of one leaf, id "batchId:leafIndex". kind: data | wrong_output. status:
 * open | answered | disputed | cleared | upheld (the node lost: batch voided, node slashed).
 */
export const challenge = onchainTable(
  "challenge",
  (t) => ({
    id: t.text().primaryKey(),
    batchId: t.bigint().notNull(),
    leafIndex: t.integer().notNull(),
    node: t.hex(),
    challenger: t.hex().notNull(),
    kind: t.text().notNull(),
    status: t.text().notNull(),
    commitment: t.hex(),
    deadline: t.bigint().notNull(),
    /** From the answer: the leaf hash, and the posted data decoded from respondToChallenge calldata. */
    leafHash: t.hex(),
    prompt: t.text(),
    outputTokens: t.integer(),
    disputeId: t.bigint(),
    resolver: t.hex(),
    bond: t.bigint(),
    bondTo: t.hex(),
    slashed: t.bigint(),
    revealedAt: t.bigint().notNull(),
    answeredAt: t.bigint(),
    closedAt: t.bigint(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ batchIdx: index().on(t.batchId), challengerIdx: index().on(t.challenger), nodeIdx: index().on(t.node) }),
);

/** Equivocation and ticket-mismatch proofs (no challenge needed: the node is slashed at once). */
export const fraudProof = onchainTable("fraud_proof", (t) => ({
  id: t.text().primaryKey(),
  kind: t.text().notNull(),
  batchId: t.bigint().notNull(),
  leafIndex: t.integer().notNull(),
  reporter: t.hex().notNull(),
  slashed: t.bigint().notNull(),
  blockNumber: t.bigint().notNull(),
  timestamp: t.bigint().notNull(),
  txHash: t.hex().notNull(),
}));

// ---------------------------------------------------------------- committees (Committee)

/** outcome: pending | not_guilty | guilty | neutral. */
export const dispute = onchainTable(
  "dispute",
  (t) => ({
    id: t.bigint().primaryKey(),
    batchId: t.bigint().notNull(),
    leafIndex: t.integer().notNull(),
    challengeId: t.text().notNull(),
    node: t.hex().notNull(),
    challenger: t.hex().notNull(),
    modelId: t.hex().notNull(),
    leafHash: t.hex().notNull(),
    profile: t.hex().notNull(),
    fee: t.bigint().notNull(),
    round: t.integer().notNull(),
    outcome: t.text().notNull(),
    received: t.bigint(),
    pot: t.bigint(),
    coherentWeight: t.bigint(),
    createdAt: t.bigint().notNull(),
    resolvedAt: t.bigint(),
  }),
  (t) => ({ challengeIdx: index().on(t.challengeId) }),
);

export const disputeRound = onchainTable(
  "dispute_round",
  (t) => ({
    disputeId: t.bigint().notNull(),
    round: t.integer().notNull(),
    targetBlock: t.bigint(),
    weightAtTarget: t.bigint(),
    retargets: t.integer().notNull(),
    members: t.hex().array(),
    bond: t.bigint(),
    commitEnd: t.bigint(),
    revealEnd: t.bigint(),
    /** Set when no committee could be formed (CommitteeUnformed). */
    unformedFound: t.bigint(),
    outcome: t.text().notNull(),
    guiltyVotes: t.integer(),
    notGuiltyVotes: t.integer(),
    nonVoters: t.integer(),
    penalties: t.bigint(),
    appellant: t.hex(),
    appealFee: t.bigint(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.disputeId, t.round] }) }),
);

/** A member's seat and vote in one round. */
export const committeeVote = onchainTable(
  "committee_vote",
  (t) => ({
    disputeId: t.bigint().notNull(),
    round: t.integer().notNull(),
    member: t.hex().notNull(),
    commitment: t.hex(),
    committedAt: t.bigint(),
    /** Null until revealed. */
    guilty: t.boolean(),
    revealedAt: t.bigint(),
    penalty: t.bigint(),
    reward: t.bigint(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.disputeId, t.round, t.member] }), memberIdx: index().on(t.member) }),
);

// ---------------------------------------------------------------- rewards (RewardPool, ValidatorRewards)

/**
 * One epoch of a reward contract ("RewardPool" or "ValidatorRewards"), mirroring its EpochTotals:
 * pool = funded + recycledIn + sweptIn; points (RewardPool: settled value; ValidatorRewards: canary
 * catches); allocated (shares claimed, and the rest once swept).
 */
export const rewardEpoch = onchainTable(
  "reward_epoch",
  (t) => ({
    contract: t.text().notNull(),
    epoch: t.bigint().notNull(),
    pool: t.bigint().notNull(),
    funded: t.bigint().notNull(),
    /** RewardPool only: capped parts of claims made during this epoch. */
    recycledIn: t.bigint().notNull(),
    /** What sweeps of ended epochs moved into this one. */
    sweptIn: t.bigint().notNull(),
    points: t.bigint().notNull(),
    allocated: t.bigint().notNull(),
    /** Claims of this epoch: count, tokens paid, and (RewardPool) the capped parts recycled. */
    claims: t.integer().notNull(),
    paid: t.bigint().notNull(),
    recycledOut: t.bigint().notNull(),
    swept: t.boolean().notNull(),
    sweptAmount: t.bigint(),
    sweptInto: t.bigint(),
    sweptAt: t.bigint(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.contract, t.epoch] }) }),
);

/** Funded events of both reward contracts. */
export const rewardFunding = onchainTable("reward_funding", (t) => ({
  id: t.text().primaryKey(),
  contract: t.text().notNull(),
  epoch: t.bigint().notNull(),
  from: t.hex().notNull(),
  amount: t.bigint().notNull(),
  /** The epoch's pool after the funding. */
  poolAfter: t.bigint().notNull(),
  blockNumber: t.bigint().notNull(),
  timestamp: t.bigint().notNull(),
  txHash: t.hex().notNull(),
}));

/** A node's RewardPool work in one epoch (WorkRecorded) and its claim (RewardClaimed). */
export const nodeReward = onchainTable(
  "node_reward",
  (t) => ({
    epoch: t.bigint().notNull(),
    node: t.hex().notNull(),
    points: t.bigint().notNull(),
    fees: t.bigint().notNull(),
    workRecords: t.integer().notNull(),
    claimed: t.boolean().notNull(),
    /** pool x points / totalPoints at the claim; paid = min(share, fees); recycled = share - paid. */
    share: t.bigint(),
    paid: t.bigint(),
    recycled: t.bigint(),
    claimedAt: t.bigint(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.epoch, t.node] }), nodeIdx: index().on(t.node) }),
);

/** A validator's ValidatorRewards points (canary catches) in one epoch and its claim. */
export const validatorReward = onchainTable(
  "validator_reward",
  (t) => ({
    epoch: t.bigint().notNull(),
    validator: t.hex().notNull(),
    points: t.bigint().notNull(),
    claimed: t.boolean().notNull(),
    paid: t.bigint(),
    claimedAt: t.bigint(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.epoch, t.validator] }), validatorIdx: index().on(t.validator) }),
);

/**
 * A canary commitment (CanaryPlanted); once revealed, the leaf it named and who caught it (null:
 * missed). Decoys are planted and never revealed.
 */
export const canary = onchainTable(
  "canary",
  (t) => ({
    commitment: t.hex().primaryKey(),
    plantedAt: t.bigint().notNull(),
    plantedBlock: t.bigint().notNull(),
    revealed: t.boolean().notNull(),
    batchId: t.bigint(),
    leafIndex: t.integer(),
    catcher: t.hex(),
    /** The epoch the catch counted in. */
    epoch: t.bigint(),
    /** 1-based order among revealed canaries (the contract's revealed count after this one). */
    revealIndex: t.integer(),
    revealedAt: t.bigint(),
  }),
  (t) => ({ catcherIdx: index().on(t.catcher), batchIdx: index().on(t.batchId) }),
);

/** Per-validator fee-stream aggregates (ValidatorRewards), as catchesOf and isLapsed read them. */
export const validatorStats = onchainTable("validator_stats", (t) => ({
  validator: t.hex().primaryKey(),
  catches: t.integer().notNull(),
  /** revealIndex of its last catch (the contract's lastCatchAt); 0 before any. */
  lastCatchAt: t.integer().notNull(),
  rewardsClaimed: t.bigint().notNull(),
  claims: t.integer().notNull(),
}));

/** Contract wiring set after deployment (RewardPoolSet, AuctionMarketSet, ChallengeGameSet, ResolverSet). */
export const contractLink = onchainTable(
  "contract_link",
  (t) => ({
    contract: t.text().notNull(),
    name: t.text().notNull(),
    address: t.hex().notNull(),
    updatedBlock: t.bigint().notNull(),
    updatedAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.contract, t.name] }) }),
);

// ---------------------------------------------------------------- relations (GraphQL)

export const nodeRelations = relations(node, ({ one, many }) => ({
  stake: one(stakeAccount, { fields: [node.address], references: [stakeAccount.address] }),
  stats: one(nodeStats, { fields: [node.address], references: [nodeStats.node] }),
  capabilities: many(capability),
  reputationHistory: many(reputationUpdate),
  rewards: many(nodeReward),
}));

export const nodeRewardRelations = relations(nodeReward, ({ one }) => ({
  nodeRecord: one(node, { fields: [nodeReward.node], references: [node.address] }),
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
  stats: one(validatorStats, { fields: [validator.address], references: [validatorStats.validator] }),
  models: many(validatorModel),
  rewards: many(validatorReward),
}));

export const validatorRewardRelations = relations(validatorReward, ({ one }) => ({
  validatorRecord: one(validator, { fields: [validatorReward.validator], references: [validator.address] }),
}));

export const canaryRelations = relations(canary, ({ one }) => ({
  batchRecord: one(batch, { fields: [canary.batchId], references: [batch.id] }),
}));

export const validatorModelRelations = relations(validatorModel, ({ one }) => ({
  validatorRecord: one(validator, { fields: [validatorModel.validator], references: [validator.address] }),
  model: one(model, { fields: [validatorModel.modelId], references: [model.id] }),
}));

export const auctionJobRelations = relations(auctionJob, ({ many }) => ({
  bidList: many(auctionBid),
}));

export const auctionBidRelations = relations(auctionBid, ({ one }) => ({
  job: one(auctionJob, { fields: [auctionBid.jobId], references: [auctionJob.id] }),
}));

export const batchRelations = relations(batch, ({ many }) => ({
  chunks: many(batchChunk),
  leaves: many(batchLeaf),
  challenges: many(challenge),
}));

export const batchChunkRelations = relations(batchChunk, ({ one }) => ({
  batchRecord: one(batch, { fields: [batchChunk.batchId], references: [batch.id] }),
}));

export const batchLeafRelations = relations(batchLeaf, ({ one }) => ({
  batchRecord: one(batch, { fields: [batchLeaf.batchId], references: [batch.id] }),
}));

export const challengeRelations = relations(challenge, ({ one }) => ({
  batchRecord: one(batch, { fields: [challenge.batchId], references: [batch.id] }),
  disputeRecord: one(dispute, { fields: [challenge.disputeId], references: [dispute.id] }),
}));

export const disputeRelations = relations(dispute, ({ many }) => ({
  rounds: many(disputeRound),
  votes: many(committeeVote),
}));

export const disputeRoundRelations = relations(disputeRound, ({ one }) => ({
  disputeRecord: one(dispute, { fields: [disputeRound.disputeId], references: [dispute.id] }),
}));

export const committeeVoteRelations = relations(committeeVote, ({ one }) => ({
  disputeRecord: one(dispute, { fields: [committeeVote.disputeId], references: [dispute.id] }),
}));
