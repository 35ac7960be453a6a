/**
 * The indexer end to end on embedded PGlite: a real `hardhat node`, every staking-core and
 * PairEscrow event driven through the contracts, `ponder start` as a child process, and
 * assertions on REST, GraphQL and SQL over HTTP, cross-checked against the chain; then a restart
 * on the same database resumes without duplicates.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@ponder/client";
import type { Address } from "viem";
import * as schema from "../../indexer/ponder.schema.ts";
import { startPonder, type PonderProcess } from "../../indexer/lib/ponderProcess.ts";
import { freePort } from "../../scripts/lib/localChain.ts";
import { DECAY_TOLERANCE_WEI } from "../../agents/lib/reputation.ts";
import { chainFixture, getJson, graphql, rowCounts, type ChainFixture } from "./harness.ts";
import { E18, runScenario, type ScenarioResult } from "./scenario.ts";

let fx: ChainFixture;
let sc: ScenarioResult;
let ponder: PonderProcess;
let pgliteDir: string;
const SCHEMA = "llmarket_test";
const lower = (a: string): string => a.toLowerCase();

async function latestBlock(): Promise<bigint> {
  return (await fx.viem.getPublicClient()).getBlockNumber();
}

describe("indexer (PGlite, real chain, ponder start)", () => {
  beforeAll(async () => {
    fx = await chainFixture();
    sc = await runScenario(fx.viem, fx.deployment);
    pgliteDir = join(fx.dir, "pglite");
    ponder = await startPonder({
      deploymentPath: fx.deploymentPath,
      rpcUrl: fx.chain.url,
      port: await freePort(),
      schema: SCHEMA,
      pgliteDir,
    });
    await ponder.waitForBlock(await latestBlock());
  }, 180_000);

  afterAll(async () => {
    await ponder?.stop();
    await fx?.cleanup();
  });

  const ranked = async (query: string) => getJson(ponder.url, `/nodes/ranked?model=${sc.models.m1}${query}`);
  const order = (body: any): string[] => body.nodes.map((n: any) => n.address);

  it("ranks the registered nodes of a model with the score's parts", async () => {
    const { status, body } = await ranked("");
    expect(status).toBe(200);
    const { nodeA, nodeB, nodeC, nodeD } = sc.accounts;
    // nodeD deregistered: its capabilities are gone.
    expect(new Set(order(body))).toEqual(new Set([nodeA, nodeB, nodeC].map(lower)));
    expect(order(body)).not.toContain(lower(nodeD));
    const byAddr = Object.fromEntries(body.nodes.map((n: any) => [n.address, n]));
    const a = byAddr[lower(nodeA)];
    const b = byAddr[lower(nodeB)];
    const c = byAddr[lower(nodeC)];
    // C is cheapest, B fastest; A never had a reputation event (newcomer 0.4).
    expect(c.parts.price.normalized).toBe(1);
    expect(b.parts.latency.normalized).toBe(1);
    expect(a.parts.price.normalized).toBeCloseTo(Number(sc.prices.C) / Number(sc.prices.A), 9);
    expect(a.parts.latency.normalized).toBeCloseTo(sc.latencies.B / sc.latencies.A, 9);
    expect(a.reputation).toBe(String(4n * 10n ** 17n));
    expect(a.endpoint).toBe("http://127.0.0.1:9700");
    for (const n of body.nodes) {
      const sum = n.parts.price.contribution + n.parts.reputation.contribution + n.parts.latency.contribution;
      expect(n.score).toBeCloseTo(sum, 8);
    }
    const scores = body.nodes.map((n: any) => n.score);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
    // The indexed reputation, decayed to the latest block, matches the contract's reputationOf.
    const nodes = await fx.viem.getContractAt("NodeRegistry", fx.deployment.contracts.NodeRegistry!.address);
    for (const n of body.nodes) {
      const onChain = await nodes.read.reputationOf([n.address as Address]);
      const diff = BigInt(n.reputation) - onChain;
      expect(diff < 0n ? -diff : diff).toBeLessThanOrEqual(DECAY_TOLERANCE_WEI);
    }
  });

  it("orders by each weight alone", async () => {
    const { nodeA, nodeB, nodeC } = sc.accounts;
    expect(order((await ranked("&wPrice=1&wReputation=0&wLatency=0")).body)).toEqual([nodeC, nodeA, nodeB].map(lower));
    expect(order((await ranked("&wPrice=0&wReputation=0&wLatency=1")).body)).toEqual([nodeB, nodeA, nodeC].map(lower));
    // B had a perfect outcome, C a failed one; A is a newcomer in between.
    expect(order((await ranked("&wPrice=0&wReputation=1&wLatency=0")).body)).toEqual([nodeB, nodeA, nodeC].map(lower));
  });

  it("applies each hard constraint and the limit", async () => {
    const { nodeA, nodeB, nodeC } = sc.accounts;
    const set = async (q: string) => new Set(order((await ranked(q)).body));
    expect(await set(`&maxPrice=${sc.prices.A}`)).toEqual(new Set([nodeA, nodeC].map(lower)));
    expect(await set("&maxLatencyMs=500")).toEqual(new Set([nodeA, nodeB].map(lower)));
    expect(await set("&minReputation=0.45")).toEqual(new Set([lower(nodeB)]));
    // Free stake: A 5000, B 3000, C 2000 - 500 locked + 200 unlocked - 0 (the slash took locked).
    expect(await set(`&minFreeStake=${2500n * E18}`)).toEqual(new Set([nodeA, nodeB].map(lower)));
    expect(await set(`&minFreeStake=${1700n * E18}`)).toEqual(new Set([nodeA, nodeB, nodeC].map(lower)));
    expect(await set(`&minFreeStake=${1700n * E18 + 1n}`)).toEqual(new Set([nodeA, nodeB].map(lower)));
    expect(await set(`&maxPrice=1&maxLatencyMs=1`)).toEqual(new Set());
    const limited = await ranked("&limit=1&wPrice=1&wReputation=0&wLatency=0");
    expect(order(limited.body)).toEqual([lower(nodeC)]);
    expect(limited.body.eligible).toBe(1);
    expect(limited.body.candidates).toBe(3);
  });

  it("rejects bad query parameters with 400 JSON", async () => {
    const bad = [
      "/nodes/ranked",
      "/nodes/ranked?model=0x1234",
      `/nodes/ranked?model=${sc.models.m1}&maxPrice=abc`,
      `/nodes/ranked?model=${sc.models.m1}&maxPrice=-5`,
      `/nodes/ranked?model=${sc.models.m1}&minReputation=1.5`,
      `/nodes/ranked?model=${sc.models.m1}&maxLatencyMs=1.5`,
      `/nodes/ranked?model=${sc.models.m1}&wPrice=-1`,
      `/nodes/ranked?model=${sc.models.m1}&wPrice=0&wReputation=0&wLatency=0`,
      `/nodes/ranked?model=${sc.models.m1}&limit=0`,
      `/nodes/ranked?model=${sc.models.m1}&limit=101`,
      `/nodes/ranked?model=${sc.models.m1}&minStake=1`,
      "/nodes/0x1234",
    ];
    for (const path of bad) {
      const r = await getJson(ponder.url, path);
      expect(r.status, path).toBe(400);
      expect(r.contentType, path).toContain("application/json");
      expect(r.body.error.code, path).toBe("invalid_query");
      expect(typeof r.body.error.message, path).toBe("string");
      expect(r.body.error.issues.length, path).toBeGreaterThan(0);
    }
    const unknownModel = await getJson(ponder.url, `/nodes/ranked?model=0x${"ab".repeat(32)}`);
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.error.code).toBe("unknown_model");
    const unknownNode = await getJson(ponder.url, `/nodes/0x${"12".repeat(20)}`);
    expect(unknownNode.status).toBe(404);
    expect(unknownNode.body.error.code).toBe("unknown_node");
  });

  it("serves one node with stake, capabilities, reputation history, credits and escrow", async () => {
    const { nodeA, nodeC, nodeD, other } = sc.accounts;
    const a = (await getJson(ponder.url, `/nodes/${nodeA}`)).body;
    expect(a.status).toBe("registered");
    expect(a.signer).toBe(lower(other));
    expect(a.capabilities.map((c: any) => c.modelId).sort()).toEqual([sc.models.m1, sc.models.m2].map(lower).sort());
    expect(a.stake.free).toBe(String(5000n * E18));
    const c = (await getJson(ponder.url, `/nodes/${nodeC}`)).body;
    expect(c.stake).toMatchObject({
      free: String(1700n * E18),
      locked: String(200n * E18),
      totalSlashed: String(100n * E18),
    });
    expect(c.capabilities.map((x: any) => x.modelId)).toEqual([lower(sc.models.m1)]);
    expect(c.stats).toMatchObject({ slashCount: 1, slashedAmount: String(100n * E18) });
    expect(c.reputationHistory).toHaveLength(1);
    expect(c.reputationHistory[0].score).toBe("0");
    const d = (await getJson(ponder.url, `/nodes/${nodeD}`)).body;
    expect(d.status).toBe("deregistered");
    expect(d.capabilities).toEqual([]);
    if (sc.escrow) {
      // Voucher 7 + ticket 50 tokens x price A, all withdrawn by node A.
      const earned = 7n * E18 + 50n * sc.prices.A;
      expect(a.stats).toMatchObject({
        earnings: String(earned),
        jobsServed: "1",
        tokensServed: "50",
        vouchersRedeemed: "1",
      });
      expect(a.credits.escrow).toEqual({ credited: String(earned), withdrawn: String(earned), balance: "0" });
      // Pair (requester, A): 100 deposited + 5 moved in - 1 withdrawn - earned.
      expect(a.escrow.escrowed).toBe(String(104n * E18 - earned));
    }
  });

  it("lists models and market stats that match the chain", async () => {
    const models = (await getJson(ponder.url, "/models")).body.models;
    const byId = Object.fromEntries(models.map((m: any) => [m.id, m]));
    expect(byId[lower(sc.models.m1)]).toMatchObject({
      uri: "https://models.example/m1-v2.gguf",
      nodes: 3,
      cheapestPricePerToken: String(sc.prices.C),
      validators: 1,
      royaltyPerToken: "1000",
    });
    expect(byId[lower(sc.models.m2)]).toMatchObject({
      owner: lower(sc.accounts.other),
      pendingOwner: null,
      nodes: 1,
      validators: 0,
    });
    expect(byId[lower(sc.models.m3)].deprecated).toBe(true);

    const stats = (await getJson(ponder.url, "/stats")).body;
    const staking = await fx.viem.getContractAt("Staking", fx.deployment.contracts.Staking!.address);
    expect(stats.market).toMatchObject({
      models: 3,
      activeModels: 2,
      registeredNodes: 3,
      validators: 1,
      totalStaked: String(await staking.read.totalStaked()),
      totalBurned: String(await staking.read.totalBurned()),
      slashes: 1,
    });
    expect(stats.parameters.NodeRegistry).toMatchObject({
      minNodeStake: String(1200n * E18),
      reputationHalfLife: String(20n * 86_400n),
      stakeTier0MinReputation: String(75n * 10n ** 16n),
      stakeTier0FactorBps: "8000",
    });
    expect(stats.parameters.Staking.unbondingPeriod).toBe(String(8n * 86_400n));
    expect(stats.parameters.ModelRegistry.maxRoyaltyPerToken).toBe(String(2n * 10n ** 15n));
    if (sc.escrow) {
      const escrow = await fx.viem.getContractAt("PairEscrow", sc.escrow);
      const [escrowed] = await escrow.read.totals();
      expect(stats.market.escrowed).toBe(String(escrowed));
      expect(stats.market).toMatchObject({ vouchersRedeemed: "1", ticketsRedeemed: "1", tokensServed: "50" });
      const { thawPeriod } = await escrow.read.timing();
      expect(stats.parameters.PairEscrow).toMatchObject({ grace: "700", thawPeriod: String(thawPeriod) });
    }
  });

  it("answers GraphQL with relations", async () => {
    const data = await graphql(
      ponder.url,
      `
        {
          nodes(where: { status: "registered" }, orderBy: "address") {
            items {
              address
              endpoint
              stake {
                free
                locked
              }
              capabilities {
                items {
                  modelId
                  pricePerToken
                  model {
                    family
                  }
                }
              }
            }
          }
          validatorModels(where: { declared: true }) {
            items {
              validator
              modelId
              weight
              validatorRecord {
                modelCount
              }
            }
          }
        }
      `,
    );
    const items = data.nodes.items;
    expect(items).toHaveLength(3);
    const c = items.find((n: any) => n.address === lower(sc.accounts.nodeC));
    expect(c.stake.locked).toBe(String(200n * E18));
    expect(c.capabilities.items[0].model.family).toBe("llama");
    const staking = await fx.viem.getContractAt("Staking", fx.deployment.contracts.Staking!.address);
    expect(data.validatorModels.items).toEqual([
      {
        validator: lower(sc.accounts.validator),
        modelId: lower(sc.models.m1),
        weight: String(await staking.read.validatorWeight([sc.models.m1, sc.accounts.validator])),
        validatorRecord: { modelCount: 1 },
      },
    ]);
  });

  it("answers SQL over HTTP (@ponder/client), and every stake account matches stakeOf on chain", async () => {
    const client = createClient(`${ponder.url}/sql`, { schema });
    const events = await client.db.select().from(schema.stakeEvent);
    expect(new Set(events.map((e) => e.kind))).toEqual(
      new Set(["staked", "unstake_requested", "unbonded_withdrawn", "locked", "unlocked"]),
    );
    const slashes = await client.db.select().from(schema.slash);
    expect(slashes).toHaveLength(1);
    expect(slashes[0]).toMatchObject({ slashed: 100n * E18, fromLocked: 100n * E18, burned: 90n * E18 });
    const credits = await client.db.select().from(schema.creditBalance);
    expect(credits.find((c) => c.source === "staking")).toMatchObject({
      account: lower(sc.accounts.validator),
      credited: 10n * E18,
      balance: 0n,
    });
    const staking = await fx.viem.getContractAt("Staking", fx.deployment.contracts.Staking!.address);
    const accounts = await client.db.select().from(schema.stakeAccount);
    expect(accounts.length).toBe(6); // A, B, C, D, validator, requester
    for (const a of accounts) {
      const [free, locked, unbonding, releaseAt] = await staking.read.stakeOf([a.address]);
      expect({ free: a.free, locked: a.locked, unbonding: a.unbonding, releaseAt: a.unbondingReleaseAt }).toEqual({
        free,
        locked,
        unbonding,
        releaseAt,
      });
    }
    if (sc.escrow) {
      const kinds = (await client.db.select().from(schema.escrowEvent)).map((e) => e.kind);
      expect(new Set(kinds)).toEqual(new Set(["deposited", "thaw_requested", "thaw_cancelled", "withdrawn", "moved"]));
      const escrow = await fx.viem.getContractAt("PairEscrow", sc.escrow);
      for (const p of await client.db.select().from(schema.escrowPair)) {
        const onChain = await escrow.read.pairOf([p.requester, p.node]);
        expect({ balance: p.balance, paid: p.paid, seq: p.voucherSequence }).toEqual({
          balance: onChain.balance,
          paid: onChain.paid,
          seq: onChain.voucherSequence,
        });
        expect(p.thawAmount).toBe(0n);
      }
      const tickets = await client.db.select().from(schema.ticketRedemption);
      expect(tickets.map((t) => t.ticketId)).toEqual([sc.ticketId]);
      expect(await client.db.select().from(schema.voucherRedemption)).toHaveLength(1);
    }
  });

  it("resumes after a restart on the same database without duplicates", async () => {
    const tables = {
      stakeEvent: schema.stakeEvent,
      slash: schema.slash,
      credit: schema.credit,
      creditWithdrawal: schema.creditWithdrawal,
      reputationUpdate: schema.reputationUpdate,
      parameterChange: schema.parameterChange,
      escrowEvent: schema.escrowEvent,
      voucherRedemption: schema.voucherRedemption,
      ticketRedemption: schema.ticketRedemption,
      model: schema.model,
      node: schema.node,
      capability: schema.capability,
    };
    const before = await rowCounts(ponder.url, tables);
    const statsBefore = (await getJson(ponder.url, "/stats")).body.market;

    const t0 = Date.now();
    await ponder.stop(10_000, { releaseLock: true });
    const stopMs = Date.now() - t0;

    // Two new events while the indexer is down.
    const staking = await fx.viem.getContractAt("Staking", fx.deployment.contracts.Staking!.address);
    const [, nodeA] = await fx.viem.getWalletClients();
    await staking.write.stake([E18], { account: nodeA!.account });
    const nodes = await fx.viem.getContractAt("NodeRegistry", fx.deployment.contracts.NodeRegistry!.address);
    await nodes.write.recordOutcome([sc.accounts.nodeA, E18, E18]);

    const t1 = Date.now();
    ponder = await startPonder({
      deploymentPath: fx.deploymentPath,
      rpcUrl: fx.chain.url,
      port: await freePort(),
      schema: SCHEMA,
      pgliteDir,
    });
    const healthMs = Date.now() - t1;
    await ponder.waitForBlock(await latestBlock());
    const caughtUpMs = Date.now() - t1;
    const waitedForLock = ponder.output().includes("Schema is locked");
    console.log(
      `indexer restart: stop ${stopMs} ms, /health after ${healthMs} ms, caught up after ${caughtUpMs} ms, waited for the schema lock: ${waitedForLock}`,
    );
    // The stop released PGlite's schema lock (indexer/lib/schemaLock.ts): no ~25 s wait.
    expect(waitedForLock).toBe(false);

    const after = await rowCounts(ponder.url, tables);
    expect(after).toEqual({
      ...before,
      stakeEvent: before.stakeEvent! + 1,
      reputationUpdate: before.reputationUpdate! + 1,
    });
    const statsAfter = (await getJson(ponder.url, "/stats")).body.market;
    expect(BigInt(statsAfter.totalStaked)).toBe(BigInt(statsBefore.totalStaked) + E18);
    expect(statsAfter.totalStaked).toBe(String(await staking.read.totalStaked()));
  });
});
