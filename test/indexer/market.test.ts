/**
 * Auctions, batches (leaves decoded from calldata), challenges and committees in the indexer, on
 * embedded PGlite (test/indexer/marketSuite.ts).
 */
import { describe } from "vitest";
import { marketSuite } from "./marketSuite.ts";

describe("indexer market tables (PGlite, real chain, ponder start)", () => {
  marketSuite({ kind: "pglite" });
});
