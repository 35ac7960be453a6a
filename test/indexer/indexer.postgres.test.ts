/**
 * The indexer on a real PostgreSQL (DATABASE_URL) instead of PGlite: the same contracts and
 * events, a server this test starts itself; skipped with a message when PostgreSQL is not
 * installed (scripts/ci/install-postgres.sh installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@ponder/client";
import * as schema from "../../indexer/ponder.schema.ts";
import { startPonder, type PonderProcess } from "../../indexer/lib/ponderProcess.ts";
import { freePort } from "../../scripts/lib/localChain.ts";
import { chainFixture, getJson, graphql, type ChainFixture } from "./harness.ts";
import { findPostgresBin, startTestPostgres, type TestPostgres } from "./postgres.ts";
import { E18, runScenario, type ScenarioResult } from "./scenario.ts";

const bin = findPostgresBin();
if (!bin) {
  console.warn(
    "SKIPPED test/indexer/indexer.postgres.test.ts: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). " +
      "Install it with scripts/ci/install-postgres.sh.",
  );
}

describe.skipIf(!bin)("indexer (PostgreSQL via DATABASE_URL, real chain, ponder start)", () => {
  let fx: ChainFixture;
  let sc: ScenarioResult;
  let pg: TestPostgres;
  let ponder: PonderProcess;

  beforeAll(async () => {
    [pg, fx] = await Promise.all([startTestPostgres(bin!), chainFixture()]);
    sc = await runScenario(fx.viem, fx.deployment);
    ponder = await startPonder({
      deploymentPath: fx.deploymentPath,
      rpcUrl: fx.chain.url,
      port: await freePort(),
      schema: "llmarket_pg_test",
      databaseUrl: pg.url,
    });
    await ponder.waitForBlock(await (await fx.viem.getPublicClient()).getBlockNumber());
  }, 180_000);

  afterAll(async () => {
    await ponder?.stop();
    await fx?.cleanup();
    await pg?.stop();
  });

  it("indexes into PostgreSQL: ranked REST, GraphQL and SQL over HTTP agree with the chain", async () => {
    expect(ponder.output()).toContain('"type":"postgres"');
    const ranked = await getJson(ponder.url, `/nodes/ranked?model=${sc.models.m1}&wPrice=1&wReputation=0&wLatency=0`);
    expect(ranked.status).toBe(200);
    expect(ranked.body.nodes.map((n: any) => n.address)).toEqual(
      [sc.accounts.nodeC, sc.accounts.nodeA, sc.accounts.nodeB].map((a) => a.toLowerCase()),
    );
    const bad = await getJson(ponder.url, `/nodes/ranked?model=${sc.models.m1}&limit=x`);
    expect(bad.status).toBe(400);

    const staking = await fx.viem.getContractAt("Staking", fx.deployment.contracts.Staking!.address);
    const stats = (await getJson(ponder.url, "/stats")).body.market;
    expect(stats.totalStaked).toBe(String(await staking.read.totalStaked()));

    const data = await graphql(
      ponder.url,
      `
        {
          models(orderBy: "id") {
            items {
              id
              deprecated
            }
          }
        }
      `,
    );
    expect(data.models.items).toHaveLength(3);

    const client = createClient(`${ponder.url}/sql`, { schema });
    for (const a of await client.db.select().from(schema.stakeAccount)) {
      const [free, locked, unbonding] = await staking.read.stakeOf([a.address]);
      expect([a.free, a.locked, a.unbonding]).toEqual([free, locked, unbonding]);
    }

    // Live: one more event is indexed while running.
    const [, nodeA] = await fx.viem.getWalletClients();
    await staking.write.stake([E18], { account: nodeA!.account });
    await ponder.waitForBlock(await (await fx.viem.getPublicClient()).getBlockNumber(), 30_000);
    const after = (await getJson(ponder.url, "/stats")).body.market;
    expect(BigInt(after.totalStaked)).toBe(BigInt(stats.totalStaked) + E18);
  });
});
