/**
 * The indexer's market, settlement and dispute tables end to end, for one database: a real
 * `hardhat node`, the events of test/indexer/marketScenario.ts driven through the contracts,
 * `ponder start` as a child process, assertions on REST, GraphQL and SQL over HTTP cross-checked
 * against the chain and the scenario's own leaves, then a restart on the same database that must
 * not duplicate a row. Run by market.test.ts (PGlite) and market.postgres.test.ts (PostgreSQL).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient } from "@ponder/client";
import { eq } from "@ponder/client";
import { parseEventLogs } from "viem";
import { leafHash } from "../../agents/lib/encodings.ts";
import { writeDeployment } from "../../agents/lib/deployments.ts";
import * as schema from "../../indexer/ponder.schema.ts";
import { startPonder, type PonderProcess } from "../../indexer/lib/ponderProcess.ts";
import { freePort, startLocalChain, type LocalChain } from "../../scripts/lib/localChain.ts";
import { getJson, graphql, rowCounts } from "./harness.ts";
import { runMarketScenario, type MarketScenario } from "./marketScenario.ts";

export type SuiteDatabase = { kind: "pglite" } | { kind: "postgres"; url: () => string };

const lower = (a: string): string => a.toLowerCase();

export function marketSuite(database: SuiteDatabase): void {
  let chain: LocalChain;
  let sc: MarketScenario;
  let ponder: PonderProcess;
  let dir: string;
  let deploymentPath: string;
  const schemaName = `llmarket_market_${database.kind}`;

  const start = async (): Promise<PonderProcess> =>
    startPonder({
      deploymentPath,
      rpcUrl: chain.url,
      port: await freePort(),
      schema: schemaName,
      ...(database.kind === "postgres" ? { databaseUrl: database.url() } : { pgliteDir: join(dir, "pglite") }),
    });
  const latestBlock = async (): Promise<bigint> => sc.f.publicClient.getBlockNumber();

  beforeAll(async () => {
    chain = await startLocalChain();
    dir = mkdtempSync(join(tmpdir(), "llmarket-indexer-market-"));
    sc = await runMarketScenario(chain.url);
    deploymentPath = writeDeployment(sc.f.deployed.deployment, dir);
    ponder = await start();
    await ponder.waitForBlock(await latestBlock());
  }, 300_000);

  afterAll(async () => {
    await ponder?.stop();
    await sc?.f.conn.close();
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves an auction job with its bids and outcome, and the leaf that paid it", async () => {
    const { status, body } = await getJson(ponder.url, `/jobs/${sc.job.id}`);
    expect(status).toBe(200);
    const onChain = await sc.f.c.market.read.getJob([sc.job.id]);
    expect(body).toMatchObject({
      id: String(sc.job.id),
      requester: lower(sc.job.requester),
      modelId: lower(onChain.modelId),
      inputKind: "calldata",
      prompt: "indexer auction prompt",
      bids: 2,
      revealedBids: 2,
      winner: lower(sc.node),
      best: lower(onChain.best),
      bestPrice: String(onChain.bestPrice),
      // Vickrey: the winner is paid the second price.
      pricePerToken: String(sc.job.clearing),
      tokens: sc.job.tokens.length,
      status: "collected",
    });
    expect(BigInt(body.payment)).toBe(BigInt(sc.job.tokens.length) * sc.job.clearing);
    expect(BigInt(body.collected)).toBe(BigInt(body.payment));
    const bids = Object.fromEntries(body.bidList.map((b: any) => [b.bidder, b]));
    expect(bids[lower(sc.node)]).toMatchObject({ order: 0, price: String(sc.job.winnerPrice) });
    expect(bids[lower(sc.loser)]).toMatchObject({ order: 1, price: String(sc.job.loserPrice), status: "released" });
    expect(body.settledLeaf).toMatchObject({ batchId: String(sc.settled.batchId), kind: 1, node: lower(sc.node) });
    expect((await getJson(ponder.url, "/jobs/999999")).status).toBe(404);
    expect((await getJson(ponder.url, "/jobs/abc")).body.error.code).toBe("invalid_query");
  });

  it("decodes every leaf of a settled batch from the settleChunk calldata", async () => {
    const { status, body } = await getJson(ponder.url, `/batches/${sc.settled.batchId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      node: lower(sc.node),
      leafCount: sc.settled.leaves.length,
      status: "released",
      settledChunks: 1,
      leavesDecoded: sc.settled.leaves.length,
      paid: String(sc.settled.chunk.paid),
      toNode: String(sc.settled.chunk.toNode),
      royalties: String(sc.settled.chunk.royalties),
      fees: String(sc.settled.chunk.fees),
    });
    expect(body.chunks).toHaveLength(1);
    expect(body.chunks[0]).toMatchObject({ chunkIndex: 0, decoded: true, leaves: sc.settled.leaves.length });
    // Leaf by leaf, the decoded fields and hash equal what the node built and committed.
    expect(body.leaves).toHaveLength(sc.settled.leaves.length);
    for (const [i, l] of sc.settled.leaves.entries()) {
      const got = body.leaves[i];
      expect(got).toMatchObject({
        leafIndex: l.index,
        kind: l.kind,
        ref: lower(l.ref),
        requester: lower(l.requester),
        modelId: lower(l.model),
        tokens: l.tokens,
        amount: String(l.amount),
        expiry: String(l.expiry),
        input: lower(l.input),
        output: lower(l.output),
        hash: sc.settled.hashes[i],
      });
      expect(got.hash).toBe(leafHash(l));
    }
    const state = await sc.f.c.settlement.read.stateOf([sc.settled.batchId]);
    expect(BigInt(body.paid)).toBe(state.paid);
    expect(state.released).toBe(true);
  });

  it("tracks a data challenge the node answered, with the data posted in calldata", async () => {
    const id = `${sc.cleared.batchId}:${sc.cleared.leafIndex}`;
    const { status, body } = await getJson(ponder.url, `/challenges/${id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      kind: "data",
      status: "cleared",
      node: lower(sc.node),
      challenger: lower(sc.cleared.challenger),
      prompt: sc.cleared.prompt,
      outputTokens: sc.cleared.tokens.length,
      bondTo: lower(sc.node),
      dispute: null,
    });
    const onChain = await sc.f.c.game.read.challengeOf([sc.cleared.challengeId]);
    expect(onChain.status).toBe(3); // Cleared
    expect(body.commitment).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("tracks a wrong-output challenge through the committee: members, votes, verdict, slash", async () => {
    const id = `${sc.upheld.batchId}:${sc.upheld.leafIndex}`;
    const { body } = await getJson(ponder.url, `/challenges/${id}`);
    expect(body).toMatchObject({
      kind: "wrong_output",
      status: "upheld",
      disputeId: String(sc.upheld.disputeId),
      slashed: String(sc.upheld.slashed),
    });
    expect(sc.upheld.slashed).toBeGreaterThan(0n);
    const d = body.dispute;
    expect(d).toMatchObject({ outcome: "guilty", node: lower(sc.node), challenger: lower(sc.upheld.challenger) });
    expect(d.rounds).toHaveLength(1);
    const round = d.rounds[0];
    expect(round.members).toEqual(sc.upheld.members.map(lower));
    expect(round).toMatchObject({
      outcome: "guilty",
      guiltyVotes: sc.upheld.votes.filter((v) => v === true).length,
      notGuiltyVotes: 0,
      nonVoters: 1,
    });
    const votes = Object.fromEntries(round.votes.map((v: any) => [v.member, v]));
    for (const [i, m] of sc.upheld.members.entries()) {
      const v = votes[lower(m)];
      expect(v.guilty).toBe(sc.upheld.votes[i]);
      if (sc.upheld.votes[i] === null) expect(BigInt(v.penalty)).toBeGreaterThan(0n);
    }
    expect(BigInt(votes[lower(sc.upheld.rewarded)].reward)).toBeGreaterThan(0n);
    const batch = (await getJson(ponder.url, `/batches/${sc.upheld.batchId}`)).body;
    expect(batch).toMatchObject({ status: "voided", slashed: String(sc.upheld.slashed), voidReason: 1 });
    expect(batch.leafStatuses.map((s: any) => s.status)).toEqual(["upheld"]);
    expect((await getJson(ponder.url, "/challenges/1-2")).body.error.code).toBe("invalid_query");
    expect((await getJson(ponder.url, "/challenges/999:0")).status).toBe(404);
  });

  it("keeps per-node aggregates and market stats that match the chain", async () => {
    const n = (await getJson(ponder.url, `/nodes/${sc.node}`)).body;
    const settledTokens = sc.settled.leaves.reduce((s, l) => s + l.tokens, 0);
    expect(n.stats).toMatchObject({
      jobsServed: String(sc.settled.leaves.length),
      tokensServed: String(settledTokens),
      earnings: String(sc.settled.chunk.toNode),
      batchesCommitted: "3",
      batchesVoided: 1,
      chunksSettled: "1",
      auctionBids: 1,
      auctionsWon: 1,
      auctionsDelivered: 1,
      challengesReceived: 2,
      challengesWon: 1,
      challengesLost: 1,
      slashCount: 1,
      slashedAmount: String(sc.upheld.slashed),
    });
    // The node withdrew its settlement credit: credited = withdrawn = the chunk's toNode.
    expect(n.credits.settlement).toEqual({
      credited: String(sc.settled.chunk.toNode),
      withdrawn: String(sc.settled.chunk.toNode),
      balance: "0",
    });
    expect(await sc.f.c.settlement.read.creditOf([sc.node])).toBe(0n);
    expect(n.recentBatches.map((b: any) => b.status).sort()).toEqual(["committed", "released", "voided"]);
    const loser = (await getJson(ponder.url, `/nodes/${sc.loser}`)).body;
    expect(loser.stats).toMatchObject({ auctionBids: 1, auctionsWon: 0 });

    const stats = (await getJson(ponder.url, "/stats")).body;
    expect(stats.market).toMatchObject({
      auctionJobs: 1,
      auctionBids: 2,
      auctionsDelivered: 1,
      batches: 3,
      chunksSettled: 1,
      leavesSettled: String(sc.settled.leaves.length),
      settledVolume: String(sc.settled.chunk.paid),
      challenges: 2,
      challengesUpheld: 1,
      disputes: 1,
      slashes: 2, // the node (guilty) and the silent committee member
    });
    expect(stats.parameters.BatchSettlement.protocolFeeBps).toBe("250");
    expect(stats.parameters.Committee.committeeSize).toBe(String(sc.f.deployed.params.committeeSize));
    expect(stats.parameters.ChallengeGame).toBeDefined();
    expect(stats.parameters.AuctionMarket).toBeDefined();
  });

  it("indexes the reward pool and the validator fee stream, matching the contracts' views", async () => {
    const r = sc.rewards;
    const pool = await sc.f.viem.getContractAt("RewardPool", sc.f.deployed.addresses.RewardPool);
    const vr = await sc.f.viem.getContractAt("ValidatorRewards", sc.f.deployed.addresses.ValidatorRewards);
    // Node detail: the node's work, its capped claim, and the aggregates.
    const n = (await getJson(ponder.url, `/nodes/${sc.node}`)).body;
    const work = await pool.read.workOf([r.workEpoch, sc.node]);
    expect(work.claimed).toBe(true);
    expect(r.claim.paid).toBe(work.fees); // the pool (10 LLMT) is far above the fees: capped
    expect(r.claim.recycled).toBe(r.claim.share - r.claim.paid);
    expect(r.claim.recycled).toBeGreaterThan(0n);
    expect(n.rewards).toMatchObject({
      points: String(work.points),
      fees: String(work.fees),
      claimed: String(r.claim.paid),
      capped: String(r.claim.recycled),
    });
    expect(n.rewards.epochs).toHaveLength(1);
    expect(n.rewards.epochs[0]).toMatchObject({
      epoch: String(r.workEpoch),
      points: String(work.points),
      fees: String(work.fees),
      claimed: true,
      share: String(r.claim.share),
      paid: String(r.claim.paid),
      recycled: String(r.claim.recycled),
      estimate: null,
    });
    expect(n.stats).toMatchObject({
      rewardPoints: String(work.points),
      rewardFees: String(work.fees),
      rewardsClaimed: String(r.claim.paid),
      rewardsCapped: String(r.claim.recycled),
    });
    // The settlement's paid value is the work point count.
    expect(work.points).toBe(sc.settled.chunk.paid);

    // Every indexed epoch of both contracts equals epochOf on chain.
    const client = createClient(`${ponder.url}/sql`, { schema });
    const epochs = await client.db.select().from(schema.rewardEpoch);
    for (const e of epochs) {
      const onChain =
        e.contract === "RewardPool" ? await pool.read.epochOf([e.epoch]) : await vr.read.epochOf([e.epoch]);
      expect({
        contract: e.contract,
        epoch: e.epoch,
        pool: e.pool,
        points: e.points,
        allocated: e.allocated,
        swept: e.swept,
      }).toEqual({
        contract: e.contract,
        epoch: e.epoch,
        pool: onChain.pool,
        points: onChain.points,
        allocated: onChain.allocated,
        swept: onChain.swept,
      });
      expect(e.pool).toBe(e.funded + e.recycledIn + e.sweptIn);
    }
    const byKey = new Map(epochs.map((e) => [`${e.contract}:${e.epoch}`, e]));
    expect(byKey.get(`RewardPool:${r.workEpoch}`)).toMatchObject({
      funded: r.poolFunded,
      claims: 1,
      paid: r.claim.paid,
    });
    expect(byKey.get(`RewardPool:${r.sweptPoolEpoch}`)).toMatchObject({
      swept: true,
      sweptAmount: r.sweepFunded,
      sweptInto: r.claim.intoEpoch,
    });
    // The claim's capped part and the sweep both landed in the epoch current at the claim.
    expect(byKey.get(`RewardPool:${r.claim.intoEpoch}`)).toMatchObject({
      recycledIn: r.claim.recycled,
      sweptIn: r.sweepFunded,
    });
    expect(byKey.get(`ValidatorRewards:${r.canaryEpoch}`)).toMatchObject({ points: 1n, paid: r.validatorClaim });
    expect(byKey.get(`ValidatorRewards:${r.sweptValidatorEpoch}`)).toMatchObject({ swept: true });

    // Validator detail: the catcher's catch and claim; the idle validator has lapsed.
    const v = (await getJson(ponder.url, `/validators/${r.catcher}`)).body;
    const [catches, lastCatchAt] = await vr.read.catchesOf([r.catcher]);
    expect(v.canaries).toMatchObject({
      catches: Number(catches),
      lastCatchAt: Number(lastCatchAt),
      lapsed: await vr.read.isLapsed([r.catcher]),
    });
    expect(v.canaries.lapsed).toBe(false);
    expect(v.canaries.recentCatches.map((c: any) => c.commitment)).toEqual([r.canaries.caught]);
    expect(v.canaries.recentCatches[0]).toMatchObject({
      batchId: String(sc.upheld.batchId),
      leafIndex: sc.upheld.leafIndex,
      epoch: String(r.canaryEpoch),
    });
    expect(v.rewards).toMatchObject({ claimed: String(r.validatorClaim), claims: 1 });
    expect(v.rewards.epochs).toEqual([
      expect.objectContaining({
        epoch: String(r.canaryEpoch),
        points: String(await vr.read.pointsOf([r.canaryEpoch, r.catcher])),
        claimed: true,
        paid: String(r.validatorClaim),
      }),
    ]);
    expect(r.validatorClaim).toBe(r.validatorFunded); // the only catcher of its epoch takes the pool
    expect(v.declared).toMatchObject({ modelCount: 1 });
    const idle = (await getJson(ponder.url, `/validators/${r.idle}`)).body;
    expect(idle.canaries).toMatchObject({ catches: 0, lastCatchAt: 0, sinceLastCatch: 2, lapsed: true });
    expect(await vr.read.isLapsed([r.idle])).toBe(true);
    expect((await getJson(ponder.url, `/validators/0x${"00".repeat(19)}01`)).status).toBe(404);
    expect((await getJson(ponder.url, "/validators/0x12")).body.error.code).toBe("invalid_query");

    // Market stats and contract wiring.
    const stats = (await getJson(ponder.url, "/stats")).body;
    const [revealed, caught, missed] = await vr.read.canaryStats();
    expect(stats.market).toMatchObject({
      canariesPlanted: 3,
      canariesRevealed: Number(revealed),
      canariesCaught: Number(caught),
      rewardPoolFunded: String(r.poolFunded + r.sweepFunded),
      rewardPoolPaid: String(r.claim.paid),
      rewardPoolRecycled: String(r.claim.recycled),
      rewardPoolSwept: String(r.sweepFunded),
      validatorRewardsFunded: String(r.validatorFunded + r.sweepFunded),
      validatorRewardsPaid: String(r.validatorClaim),
      validatorRewardsSwept: String(r.sweepFunded),
    });
    expect(missed).toBe(1n);
    expect(stats.rewardEpochs.RewardPool.map((e: any) => e.epoch)).toContain(String(r.workEpoch));
    expect(stats.rewardEpochs.ValidatorRewards.map((e: any) => e.epoch)).toContain(String(r.canaryEpoch));
    expect(stats.parameters.RewardPool.claimWindowEpochs).toBe("40");
    expect(stats.parameters.ValidatorRewards).toMatchObject({
      lapseCanaries: "2",
      minRevealDelay: String(sc.f.deployed.params.canaryMinRevealDelaySeconds),
    });
    const a = sc.f.deployed.addresses;
    expect(stats.contracts).toEqual({
      BatchSettlement: { rewardPool: lower(a.RewardPool), auctionMarket: lower(a.AuctionMarket) },
      ChallengeGame: { resolver: lower(a.Committee) },
    });

    // The canary rows: the decoy stays unrevealed; the missed one has no catcher.
    const rows = await client.db.select().from(schema.canary);
    const c = Object.fromEntries(rows.map((x) => [x.commitment, x]));
    expect(c[r.canaries.caught]).toMatchObject({ revealed: true, catcher: lower(r.catcher), revealIndex: 1 });
    expect(c[r.canaries.missed]).toMatchObject({
      revealed: true,
      catcher: null,
      batchId: sc.cleared.batchId,
      revealIndex: 2,
    });
    expect(c[r.canaries.decoy]).toMatchObject({ revealed: false, batchId: null });
    const fundings = await client.db.select().from(schema.rewardFunding);
    expect(fundings.map((x) => `${x.contract}:${x.amount}`).sort()).toEqual(
      [
        `RewardPool:${r.poolFunded}`,
        `RewardPool:${r.sweepFunded}`,
        `ValidatorRewards:${r.validatorFunded}`,
        `ValidatorRewards:${r.sweepFunded}`,
      ].sort(),
    );
  });

  it("answers GraphQL over the new tables with their relations", async () => {
    const data = await graphql(
      ponder.url,
      `{
        batch(id: "${sc.settled.batchId}") { status leaves(orderBy: "leafIndex") { items { leafIndex tokens hash } } chunks { items { decoded } } }
        auctionJob(id: "${sc.job.id}") { status bidList { items { bidder price status } } }
        disputes { items { id outcome votes { items { member guilty } } rounds { items { outcome } } } }
        node(address: "${lower(sc.node)}") { rewards { items { epoch claimed paid } } }
        validator(address: "${lower(sc.rewards.catcher)}") { stats { catches } rewards { items { epoch points } } }
        canarys(where: { revealed: true }, orderBy: "revealIndex") { items { commitment catcher batchRecord { id } } }
      }`,
    );
    expect(data.batch.status).toBe("released");
    expect(data.batch.leaves.items.map((l: any) => l.hash)).toEqual(sc.settled.hashes);
    expect(data.batch.chunks.items).toEqual([{ decoded: true }]);
    expect(data.auctionJob.bidList.items).toHaveLength(2);
    expect(data.disputes.items).toHaveLength(1);
    expect(data.disputes.items[0].votes.items).toHaveLength(sc.upheld.members.length);
    expect(data.disputes.items[0].rounds.items).toEqual([{ outcome: "guilty" }]);
    expect(data.node.rewards.items).toEqual([
      { epoch: String(sc.rewards.workEpoch), claimed: true, paid: String(sc.rewards.claim.paid) },
    ]);
    expect(data.validator.stats).toEqual({ catches: 1 });
    expect(data.validator.rewards.items).toEqual([{ epoch: String(sc.rewards.canaryEpoch), points: "1" }]);
    expect(data.canarys.items).toEqual([
      {
        commitment: sc.rewards.canaries.caught,
        catcher: lower(sc.rewards.catcher),
        batchRecord: { id: String(sc.upheld.batchId) },
      },
      { commitment: sc.rewards.canaries.missed, catcher: null, batchRecord: { id: String(sc.cleared.batchId) } },
    ]);
  });

  it("answers SQL over HTTP on the new tables", async () => {
    const client = createClient(`${ponder.url}/sql`, { schema });
    const leaves = await client.db
      .select()
      .from(schema.batchLeaf)
      .where(eq(schema.batchLeaf.batchId, sc.settled.batchId));
    expect(leaves.map((l) => l.amount)).toEqual(sc.settled.leaves.map((l) => l.amount));
    const commits = await client.db.select().from(schema.challengeCommit);
    expect(commits.map((c) => c.status).sort()).toEqual(["revealed", "revealed"]);
    const votes = await client.db.select().from(schema.committeeVote);
    expect(votes.filter((v) => v.guilty === true)).toHaveLength(sc.upheld.votes.filter((v) => v === true).length);
    const withdrawals = await client.db.select().from(schema.creditWithdrawal);
    expect(new Set(withdrawals.map((w) => w.source))).toEqual(
      new Set(["settlement", "committee", "escrow", "auction"]),
    );
    // The node's settlement withdrawal makes the settlement contract pull from escrow and auction.
    for (const w of withdrawals.filter((x) => x.source === "escrow" || x.source === "auction"))
      expect(w.account).toBe(lower(sc.f.deployed.addresses.BatchSettlement));
    // Vouchers paid through settlement credit the settlement contract, not the node.
    const escrowCredits = await client.db.select().from(schema.credit).where(eq(schema.credit.source, "escrow"));
    expect(escrowCredits.length).toBeGreaterThan(0);
    for (const c of escrowCredits) expect(c.beneficiary).toBe(lower(sc.f.deployed.addresses.BatchSettlement));
  });

  it("resumes after a restart on the same database without duplicates", async () => {
    const tables = {
      auctionJob: schema.auctionJob,
      auctionBid: schema.auctionBid,
      batch: schema.batch,
      batchChunk: schema.batchChunk,
      batchLeaf: schema.batchLeaf,
      leafStatus: schema.leafStatus,
      challenge: schema.challenge,
      challengeCommit: schema.challengeCommit,
      dispute: schema.dispute,
      disputeRound: schema.disputeRound,
      committeeVote: schema.committeeVote,
      credit: schema.credit,
      creditWithdrawal: schema.creditWithdrawal,
      stakeEvent: schema.stakeEvent,
      parameterChange: schema.parameterChange,
      rewardEpoch: schema.rewardEpoch,
      rewardFunding: schema.rewardFunding,
      nodeReward: schema.nodeReward,
      validatorReward: schema.validatorReward,
      validatorStats: schema.validatorStats,
      canary: schema.canary,
      contractLink: schema.contractLink,
    };
    const before = await rowCounts(ponder.url, tables);
    const statsBefore = (await getJson(ponder.url, "/stats")).body.market;
    const t0 = Date.now();
    // The stop also releases the schema lock Ponder leaves behind (indexer/lib/schemaLock.ts).
    await ponder.stop(10_000, { releaseLock: true });
    const stopMs = Date.now() - t0;
    // One new batch while the indexer is down.
    const root = `0x${"11".repeat(32)}` as const;
    await sc.f.wait(await sc.f.c.settlement.write.commitBatch([root, 1, 1n], { account: sc.f.node.account }));
    const t1 = Date.now();
    ponder = await start();
    const healthMs = Date.now() - t1;
    await ponder.waitForBlock(await latestBlock());
    const caughtUpMs = Date.now() - t1;
    const waitedForLock = ponder.output().includes("Schema is locked");
    console.log(
      `indexer restart (${database.kind}): stop ${stopMs} ms, /health after ${healthMs} ms, caught up after ${caughtUpMs} ms, ` +
        `waited for the schema lock: ${waitedForLock}`,
    );
    expect(waitedForLock).toBe(false);
    const after = await rowCounts(ponder.url, tables);
    expect(after).toEqual({ ...before, batch: before.batch! + 1, stakeEvent: before.stakeEvent! + 1 });
    const statsAfter = (await getJson(ponder.url, "/stats")).body.market;
    expect(statsAfter.batches).toBe(statsBefore.batches + 1);
    expect(statsAfter.leavesSettled).toBe(statsBefore.leavesSettled);
  }, 300_000);

  // Last: it settles a new batch, which the assertions above do not count.
  it("estimates an unclaimed node reward as the contract's claimable", async () => {
    const pool = await sc.f.viem.getContractAt("RewardPool", sc.f.deployed.addresses.RewardPool);
    // The second requester's vouchers are fully settled, so its next voucher pays exactly this leaf.
    const r2 = sc.f.requesters[1]!;
    const made = await sc.driver.ticketLeaf(r2, "unclaimed work", 5);
    const b = await sc.driver.commit([made]);
    await sc.driver.toSettlement(b.header);
    const [receipt] = await sc.driver.settleAll(b.batchId, b.header, b.batch, [r2]);
    const [work] = parseEventLogs({ abi: pool.abi, logs: receipt!.logs, eventName: "WorkRecorded" });
    const epoch = work!.args.epoch;
    // The epoch current at the claims holds the capped part and the sweep: a pool to share.
    expect(epoch).toBe(sc.rewards.claim.intoEpoch);
    await ponder.waitForBlock(await latestBlock());
    const n = (await getJson(ponder.url, `/nodes/${sc.node}`)).body;
    const [share, amount] = await pool.read.claimable([epoch, sc.node]);
    expect(share).toBeGreaterThan(0n);
    expect(amount).toBeLessThan(share); // capped by the fees of this one leaf
    expect(n.rewards.epochs[0]).toMatchObject({
      epoch: String(epoch),
      claimed: false,
      estimate: { share: String(share), amount: String(amount) },
    });
    expect(n.rewards.epochs[1]).toMatchObject({ epoch: String(sc.rewards.workEpoch), estimate: null });
  }, 120_000);
}
