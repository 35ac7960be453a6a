/**
 * The indexer's HTTP API (Hono, served by Ponder on its port):
 *   /graphql                 GraphQL over every table (Ponder)
 *   /sql/*                   SQL over HTTP for @ponder/client (Ponder)
 *   GET /nodes/ranked        nodes offering a model, filtered and scored (indexer/lib/rankNodes.ts)
 *   GET /nodes/:address      one node: registry, stake, capabilities, reputation, aggregates
 *   GET /models              models with their offer counts, cheapest price and validators
 *   GET /jobs/:id            one auction job with its bids
 *   GET /batches/:id         one batch with its chunks, leaves (decoded from calldata) and challenges
 *   GET /challenges/:id      one challenge ("batchId:leafIndex") with its dispute, rounds and votes
 *   GET /validators/:address one validator: declared models, stake, canary catches, fee-stream rewards
 *   GET /stats               market totals, reward epochs, contract links and governance parameters
 * Ponder adds /health, /ready, /status and /metrics. Errors are JSON: { error: { code, message, issues? } }.
 */
import { db, publicClients } from "ponder:api";
import schema, {
  auctionBid,
  auctionJob,
  batch,
  batchChunk,
  batchLeaf,
  canary,
  capability,
  challenge,
  committeeVote,
  contractLink,
  dispute,
  disputeRound,
  leafStatus,
  creditBalance,
  escrowPair,
  marketStats,
  model,
  node,
  nodeReward,
  nodeStats,
  parameter,
  reputationUpdate,
  rewardEpoch,
  stakeAccount,
  validator,
  validatorModel,
  validatorReward,
  validatorStats,
} from "ponder:schema";
import { Hono, type Context } from "hono";
import { and, asc, client, count, desc, eq, graphql, inArray, min, replaceBigInts, sum } from "ponder";
import type { Hex } from "viem";
import { z } from "zod";
import { START, valueAt } from "../../../agents/lib/reputation.ts";
import { rankNodes, rankQuerySchema, type Candidate } from "../../lib/rankNodes.ts";

const app = new Hono();

app.use("/graphql", graphql({ db, schema }));
app.use("/sql/*", client({ db, schema }));

type Issue = { path: string; message: string };

function fail(c: Context, status: 400 | 404, code: string, message: string, issues?: Issue[]): Response {
  return c.json({ error: { code, message, ...(issues ? { issues } : {}) } }, status);
}

function badRequest(c: Context, error: z.ZodError): Response {
  const issues = error.issues.map((i) => ({ path: i.path.join(".") || "(query)", message: i.message }));
  return fail(c, 400, "invalid_query", issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
}

const json = (c: Context, body: unknown): Response => c.json(replaceBigInts(body, (v) => String(v)) as object);

// ---------------------------------------------------------------- reputation "now"

let nowCache: { at: number; seconds: bigint } | undefined;

/** Timestamp of the chain's latest block (cached 1 s); the wall clock if the RPC fails. */
async function chainNow(): Promise<bigint> {
  if (nowCache && Date.now() - nowCache.at < 1000) return nowCache.seconds;
  let seconds: bigint;
  try {
    seconds = (await publicClients.chain.getBlock({ blockTag: "latest" })).timestamp;
  } catch {
    seconds = BigInt(Math.floor(Date.now() / 1000));
  }
  nowCache = { at: Date.now(), seconds };
  return seconds;
}

async function reputationParams(): Promise<{ halfLifeSeconds: bigint; memoryWeight: bigint }> {
  const rows = await db.select().from(parameter).where(eq(parameter.contract, "NodeRegistry"));
  const get = (name: string): bigint => rows.find((r) => r.name === name)?.value ?? 0n;
  return { halfLifeSeconds: get("reputationHalfLife"), memoryWeight: get("reputationMemoryWeight") };
}

/** The reputation a node has now: decayed from its last update; START for newcomers. */
function currentReputation(
  row: { reputation: bigint; reputationUpdatedAt: bigint | null },
  now: bigint,
  params: { halfLifeSeconds: bigint; memoryWeight: bigint },
): bigint {
  if (row.reputationUpdatedAt === null) return START;
  if (params.halfLifeSeconds <= 0n) return row.reputation;
  return valueAt({ value: row.reputation, lastUpdate: row.reputationUpdatedAt, initialized: true }, now, params);
}

// ---------------------------------------------------------------- routes

app.get("/nodes/ranked", async (c) => {
  const parsed = rankQuerySchema.safeParse(c.req.query());
  if (!parsed.success) return badRequest(c, parsed.error);
  const q = parsed.data;
  const modelId = q.model.toLowerCase() as Hex;
  const [m] = await db.select().from(model).where(eq(model.id, modelId));
  if (!m) return fail(c, 404, "unknown_model", `No model ${modelId} is registered.`);
  const rows = await db
    .select({
      address: node.address,
      endpoint: node.endpoint,
      signer: node.signer,
      reputation: node.reputation,
      reputationUpdatedAt: node.reputationUpdatedAt,
      pricePerToken: capability.pricePerToken,
      latencySlaMs: capability.latencySlaMs,
      maxTokens: capability.maxTokens,
      maxBatch: capability.maxBatch,
      quantization: capability.quantization,
      free: stakeAccount.free,
      locked: stakeAccount.locked,
    })
    .from(capability)
    .innerJoin(node, eq(node.address, capability.node))
    .leftJoin(stakeAccount, eq(stakeAccount.address, capability.node))
    .where(and(eq(capability.modelId, modelId), eq(node.status, "registered")));
  const [now, params] = await Promise.all([chainNow(), reputationParams()]);
  const candidates: Candidate[] = rows.map((r) => ({
    address: r.address,
    endpoint: r.endpoint,
    signer: r.signer,
    pricePerToken: r.pricePerToken,
    latencySlaMs: r.latencySlaMs,
    maxTokens: r.maxTokens,
    maxBatch: r.maxBatch,
    quantization: r.quantization,
    reputation: currentReputation(r, now, params),
    freeStake: r.free ?? 0n,
    lockedStake: r.locked ?? 0n,
  }));
  const nodes = rankNodes(candidates, q);
  return json(c, {
    model: { id: m.id, family: m.family, deprecated: m.deprecated },
    constraints: {
      maxPrice: q.maxPrice ?? null,
      minReputation: q.minReputation ?? null,
      minFreeStake: q.minFreeStake ?? null,
      maxLatencyMs: q.maxLatencyMs ?? null,
    },
    weights: { price: q.wPrice, reputation: q.wReputation, latency: q.wLatency },
    reputationAt: now,
    candidates: candidates.length,
    eligible: nodes.length,
    nodes,
  });
});

const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "address must be a 20-byte hex address");

app.get("/nodes/:address", async (c) => {
  const parsed = addressSchema.safeParse(c.req.param("address"));
  if (!parsed.success) return badRequest(c, parsed.error);
  const address = parsed.data.toLowerCase() as Hex;
  const [n] = await db.select().from(node).where(eq(node.address, address));
  if (!n) return fail(c, 404, "unknown_node", `No node ${address} has been seen on chain.`);
  const [stakeRows, caps, stats, history, credits, escrow, now, params, batches, challenges, auctionsWon, rewards] =
    await Promise.all([
      db.select().from(stakeAccount).where(eq(stakeAccount.address, address)),
      db
        .select({
          modelId: capability.modelId,
          family: model.family,
          quantization: capability.quantization,
          maxBatch: capability.maxBatch,
          maxTokens: capability.maxTokens,
          latencySlaMs: capability.latencySlaMs,
          pricePerToken: capability.pricePerToken,
          updatedAt: capability.updatedAt,
        })
        .from(capability)
        .leftJoin(model, eq(model.id, capability.modelId))
        .where(eq(capability.node, address)),
      db.select().from(nodeStats).where(eq(nodeStats.node, address)),
      db
        .select()
        .from(reputationUpdate)
        .where(eq(reputationUpdate.node, address))
        .orderBy(desc(reputationUpdate.blockNumber), desc(reputationUpdate.id))
        .limit(20),
      db.select().from(creditBalance).where(eq(creditBalance.account, address)),
      db
        .select({ pairs: count(), escrowed: sum(escrowPair.balance), paid: sum(escrowPair.paid) })
        .from(escrowPair)
        .where(eq(escrowPair.node, address)),
      chainNow(),
      reputationParams(),
      db.select().from(batch).where(eq(batch.node, address)).orderBy(desc(batch.id)).limit(20),
      db.select().from(challenge).where(eq(challenge.node, address)).orderBy(desc(challenge.revealedAt)).limit(20),
      db.select().from(auctionJob).where(eq(auctionJob.winner, address)).orderBy(desc(auctionJob.id)).limit(20),
      db.select().from(nodeReward).where(eq(nodeReward.node, address)).orderBy(desc(nodeReward.epoch)).limit(20),
    ]);
  const s = stakeRows[0];
  const st = stats[0];
  return json(c, {
    ...n,
    reputation: { current: currentReputation(n, now, params), stored: n.reputation, updatedAt: n.reputationUpdatedAt },
    stake: s
      ? {
          free: s.free,
          locked: s.locked,
          unbonding: s.unbonding,
          unbondingReleaseAt: s.unbondingReleaseAt,
          totalSlashed: s.totalSlashed,
        }
      : { free: 0n, locked: 0n, unbonding: 0n, unbondingReleaseAt: 0n, totalSlashed: 0n },
    capabilities: caps,
    stats: stats[0] ?? null,
    reputationHistory: history,
    credits: Object.fromEntries(
      credits.map((r) => [r.source, { credited: r.credited, withdrawn: r.withdrawn, balance: r.balance }]),
    ),
    escrow: { pairs: escrow[0]?.pairs ?? 0, escrowed: escrow[0]?.escrowed ?? "0", paid: escrow[0]?.paid ?? "0" },
    recentBatches: batches,
    recentChallenges: challenges,
    recentAuctionsWon: auctionsWon,
    rewards: {
      points: st?.rewardPoints ?? 0n,
      fees: st?.rewardFees ?? 0n,
      claimed: st?.rewardsClaimed ?? 0n,
      capped: st?.rewardsCapped ?? 0n,
      epochs: await withRewardEstimates(rewards),
    },
  });
});

type NodeRewardRow = typeof nodeReward.$inferSelect;

/**
 * The node's RewardPool epochs, newest first; an unclaimed one carries `estimate` = what a claim
 * would pay from the epoch's pool and points as indexed now (share = pool x points / total points,
 * amount = min(share, fees): the contract's formula; the pool of an epoch not yet ended can grow).
 */
async function withRewardEstimates(rows: NodeRewardRow[]) {
  const epochs = rows.length
    ? await db
        .select()
        .from(rewardEpoch)
        .where(
          and(
            eq(rewardEpoch.contract, "RewardPool"),
            inArray(
              rewardEpoch.epoch,
              rows.map((r) => r.epoch),
            ),
          ),
        )
    : [];
  return rows.map((r) => {
    const e = epochs.find((x) => x.epoch === r.epoch);
    if (r.claimed || !e || e.swept || e.points === 0n) return { ...r, estimate: null };
    const share = (e.pool * r.points) / e.points;
    return { ...r, estimate: { share, amount: share < r.fees ? share : r.fees } };
  });
}

app.get("/validators/:address", async (c) => {
  const parsed = addressSchema.safeParse(c.req.param("address"));
  if (!parsed.success) return badRequest(c, parsed.error);
  const address = parsed.data.toLowerCase() as Hex;
  const [declared, stats, stakeRows, models, rewards, catches, market, lapse] = await Promise.all([
    db.select().from(validator).where(eq(validator.address, address)),
    db.select().from(validatorStats).where(eq(validatorStats.validator, address)),
    db.select().from(stakeAccount).where(eq(stakeAccount.address, address)),
    db.select().from(validatorModel).where(eq(validatorModel.validator, address)).orderBy(asc(validatorModel.modelId)),
    db
      .select()
      .from(validatorReward)
      .where(eq(validatorReward.validator, address))
      .orderBy(desc(validatorReward.epoch))
      .limit(20),
    db.select().from(canary).where(eq(canary.catcher, address)).orderBy(desc(canary.revealIndex)).limit(20),
    db.select().from(marketStats),
    db
      .select()
      .from(parameter)
      .where(and(eq(parameter.contract, "ValidatorRewards"), eq(parameter.name, "lapseCanaries"))),
  ]);
  const v = declared[0];
  const st = stats[0];
  if (!v && !st && stakeRows.length === 0) {
    return fail(c, 404, "unknown_validator", `No validator ${address} has been seen on chain.`);
  }
  const revealed = market[0]?.canariesRevealed ?? 0;
  const lastCatchAt = st?.lastCatchAt ?? 0;
  const lapseCanaries = lapse[0]?.value ?? null;
  return json(c, {
    address,
    declared: v ? { modelCount: v.modelCount, firstDeclaredAt: v.firstDeclaredAt } : null,
    models,
    stake: stakeRows[0] ?? null,
    canaries: {
      catches: st?.catches ?? 0,
      lastCatchAt,
      // ValidatorRewards.isLapsed: caught none of the last `lapseCanaries` revealed canaries.
      sinceLastCatch: revealed - lastCatchAt,
      lapsed: lapseCanaries === null ? null : BigInt(revealed - lastCatchAt) >= lapseCanaries,
      recentCatches: catches,
    },
    rewards: { claimed: st?.rewardsClaimed ?? 0n, claims: st?.claims ?? 0, epochs: rewards },
  });
});

app.get("/models", async (c) => {
  const [models, offers, validators] = await Promise.all([
    db.select().from(model).orderBy(model.registeredBlock, model.id),
    db
      .select({ modelId: capability.modelId, nodes: count(), cheapest: min(capability.pricePerToken) })
      .from(capability)
      .innerJoin(node, eq(node.address, capability.node))
      .where(eq(node.status, "registered"))
      .groupBy(capability.modelId),
    db
      .select({ modelId: validatorModel.modelId, validators: count() })
      .from(validatorModel)
      .where(eq(validatorModel.declared, true))
      .groupBy(validatorModel.modelId),
  ]);
  return json(c, {
    models: models.map((m) => {
      const o = offers.find((x) => x.modelId === m.id);
      return {
        ...m,
        nodes: o?.nodes ?? 0,
        cheapestPricePerToken: o?.cheapest ?? null,
        validators: validators.find((v) => v.modelId === m.id)?.validators ?? 0,
      };
    }),
  });
});

const idSchema = z.string().regex(/^[0-9]{1,78}$/, "id must be a decimal integer");
const challengeIdSchema = z
  .string()
  .regex(/^[0-9]{1,78}:[0-9]{1,10}$/, "challenge id must be batchId:leafIndex (decimal integers)");

app.get("/jobs/:id", async (c) => {
  const parsed = idSchema.safeParse(c.req.param("id"));
  if (!parsed.success) return badRequest(c, parsed.error);
  const id = BigInt(parsed.data);
  const [job] = await db.select().from(auctionJob).where(eq(auctionJob.id, id));
  if (!job) return fail(c, 404, "unknown_job", `No auction job ${id} has been posted.`);
  const [bids, leaves] = await Promise.all([
    db.select().from(auctionBid).where(eq(auctionBid.jobId, id)).orderBy(asc(auctionBid.order)),
    // The auction leaf that paid the job (ref = job id as bytes32), once its chunk settled.
    db
      .select()
      .from(batchLeaf)
      .where(and(eq(batchLeaf.kind, 1), eq(batchLeaf.ref, `0x${id.toString(16).padStart(64, "0")}` as Hex))),
  ]);
  return json(c, { ...job, bidList: bids, settledLeaf: leaves[0] ?? null });
});

app.get("/batches/:id", async (c) => {
  const parsed = idSchema.safeParse(c.req.param("id"));
  if (!parsed.success) return badRequest(c, parsed.error);
  const id = BigInt(parsed.data);
  const [b] = await db.select().from(batch).where(eq(batch.id, id));
  if (!b) return fail(c, 404, "unknown_batch", `No batch ${id} has been committed.`);
  const [chunks, leaves, statuses, challenges] = await Promise.all([
    db.select().from(batchChunk).where(eq(batchChunk.batchId, id)).orderBy(asc(batchChunk.chunkIndex)),
    db.select().from(batchLeaf).where(eq(batchLeaf.batchId, id)).orderBy(asc(batchLeaf.leafIndex)),
    db.select().from(leafStatus).where(eq(leafStatus.batchId, id)),
    db.select().from(challenge).where(eq(challenge.batchId, id)).orderBy(asc(challenge.leafIndex)),
  ]);
  const statusOf = new Map(statuses.map((r) => [r.leafIndex, r.status]));
  return json(c, {
    ...b,
    chunks,
    leaves: leaves.map((l) => ({ ...l, challengeStatus: statusOf.get(l.leafIndex) ?? null })),
    leafStatuses: statuses,
    challenges,
  });
});

app.get("/challenges/:id", async (c) => {
  const parsed = challengeIdSchema.safeParse(c.req.param("id"));
  if (!parsed.success) return badRequest(c, parsed.error);
  const [ch] = await db.select().from(challenge).where(eq(challenge.id, parsed.data));
  if (!ch) return fail(c, 404, "unknown_challenge", `No challenge ${parsed.data} has been revealed.`);
  const [leaf, disputes] = await Promise.all([
    db
      .select()
      .from(batchLeaf)
      .where(and(eq(batchLeaf.batchId, ch.batchId), eq(batchLeaf.leafIndex, ch.leafIndex))),
    ch.disputeId === null ? Promise.resolve([]) : db.select().from(dispute).where(eq(dispute.id, ch.disputeId)),
  ]);
  const d = disputes[0];
  const [rounds, votes] = d
    ? await Promise.all([
        db.select().from(disputeRound).where(eq(disputeRound.disputeId, d.id)).orderBy(asc(disputeRound.round)),
        db
          .select()
          .from(committeeVote)
          .where(eq(committeeVote.disputeId, d.id))
          .orderBy(asc(committeeVote.round), asc(committeeVote.member)),
      ])
    : [[], []];
  return json(c, {
    ...ch,
    leaf: leaf[0] ?? null,
    dispute: d
      ? { ...d, rounds: rounds.map((r) => ({ ...r, votes: votes.filter((v) => v.round === r.round) })) }
      : null,
  });
});

app.get("/stats", async (c) => {
  const [[market], params, epochs, links] = await Promise.all([
    db.select().from(marketStats),
    db.select().from(parameter).orderBy(parameter.contract, parameter.name),
    db.select().from(rewardEpoch).orderBy(asc(rewardEpoch.contract), desc(rewardEpoch.epoch)),
    db.select().from(contractLink).orderBy(contractLink.contract, contractLink.name),
  ]);
  const parameters: Record<string, Record<string, bigint>> = {};
  for (const p of params) (parameters[p.contract] ??= {})[p.name] = p.value;
  const contracts: Record<string, Record<string, string>> = {};
  for (const l of links) (contracts[l.contract] ??= {})[l.name] = l.address;
  // The last 10 epochs of each reward contract, newest first.
  const rewardEpochs = {
    RewardPool: epochs.filter((e) => e.contract === "RewardPool").slice(0, 10),
    ValidatorRewards: epochs.filter((e) => e.contract === "ValidatorRewards").slice(0, 10),
  };
  return json(c, { market: market ?? null, rewardEpochs, contracts, parameters });
});

export default app;
