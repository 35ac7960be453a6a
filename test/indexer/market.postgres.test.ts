/**
 * Auctions, batches (leaves decoded from calldata), challenges and committees in the indexer, on
 * a real PostgreSQL this test starts (test/indexer/marketSuite.ts); skipped with a message when
 * PostgreSQL is not installed (scripts/ci/install-postgres.sh installs it).
 */
import { afterAll, beforeAll, describe } from "vitest";
import { findPostgresBin, startTestPostgres, type TestPostgres } from "./postgres.ts";
import { marketSuite } from "./marketSuite.ts";

const bin = findPostgresBin();
if (!bin) {
  console.warn(
    "SKIPPED test/indexer/market.postgres.test.ts: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). " +
      "Install it with scripts/ci/install-postgres.sh.",
  );
}

describe.skipIf(!bin)("indexer market tables (PostgreSQL via DATABASE_URL, real chain, ponder start)", () => {
  let pg: TestPostgres | undefined;
  beforeAll(async () => {
    pg = await startTestPostgres(bin!);
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });
  marketSuite({ kind: "postgres", url: () => pg!.url });
});
