/**
 * The indexer's configuration, read from the environment that `indexer/start.ts` (or a test)
 * sets before spawning Ponder. Ponder loads its config in its own process, so the environment is
 * the only channel; flags are turned into these variables by `indexer/start.ts`.
 *
 *   LLMARKET_DEPLOYMENT   path of deployments/<chainId>.json (required)
 *   LLMARKET_RPC_URL      JSON-RPC URL of the chain (required)
 *   LLMARKET_POLLING_MS   block polling interval (default 100 on chain 31337, else 1000)
 *   LLMARKET_RPC_LANES    list the RPC URL this many times (default 1): Ponder rate-limits each URL
 *                         separately, starting at 20 requests/s; lanes lift that for a local node
 *   DATABASE_URL          PostgreSQL connection string; unset = embedded PGlite
 *   LLMARKET_PGLITE_DIR   PGlite directory, or "memory://" (default indexer/.ponder/pglite-<chainId>)
 */
import { join } from "node:path";
import { z } from "zod";
import { readDeployment, type Deployment } from "../agents/lib/deployments.ts";
import { ConfigError } from "../agents/lib/errors.ts";

/** Contracts the indexer cannot run without. */
export const REQUIRED_CONTRACTS = ["ModelRegistry", "Staking", "NodeRegistry"] as const;
/** Contracts indexed when the deployment has them (their handlers register only then). */
export const OPTIONAL_CONTRACTS = [
  "PairEscrow",
  "AuctionMarket",
  "BatchSettlement",
  "ChallengeGame",
  "Committee",
  "RewardPool",
  "ValidatorRewards",
] as const;
export type IndexedContract = (typeof REQUIRED_CONTRACTS)[number] | (typeof OPTIONAL_CONTRACTS)[number];

export type IndexerEnv = {
  deployment: Deployment;
  deploymentPath: string;
  rpcUrl: string;
  pollingMs: number;
  rpcLanes: number;
  database: { kind: "postgres"; connectionString: string } | { kind: "pglite"; directory: string };
};

const envSchema = z.object({
  LLMARKET_DEPLOYMENT: z.string().min(1, "LLMARKET_DEPLOYMENT is required (path of deployments/<chainId>.json)"),
  LLMARKET_RPC_URL: z.string().url("LLMARKET_RPC_URL must be an http(s) URL"),
  LLMARKET_POLLING_MS: z.coerce.number().int().min(10).max(60_000).optional(),
  LLMARKET_RPC_LANES: z.coerce.number().int().min(1).max(32).optional(),
  DATABASE_URL: z.string().min(1).optional(),
  LLMARKET_PGLITE_DIR: z.string().min(1).optional(),
});

const INDEXER_DIR = new URL(".", import.meta.url).pathname;

let cached: IndexerEnv | undefined;

/** Reads and validates the environment once per process; throws ConfigError with what to set. */
export function indexerEnv(env: NodeJS.ProcessEnv = process.env): IndexerEnv {
  if (cached && env === process.env) return cached;
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `Indexer environment is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}. ` +
        "Start the indexer with `node indexer/start.ts --deployment <file> --rpc <url>`.",
      { cause: parsed.error },
    );
  }
  const e = parsed.data;
  const deployment = readDeployment(e.LLMARKET_DEPLOYMENT);
  for (const name of REQUIRED_CONTRACTS) {
    if (!deployment.contracts[name]) {
      throw new ConfigError(
        `Deployment ${e.LLMARKET_DEPLOYMENT} has no ${name}; the indexer needs ${REQUIRED_CONTRACTS.join(", ")}. Redeploy with the current scripts.`,
        { details: { path: e.LLMARKET_DEPLOYMENT, missing: name } },
      );
    }
  }
  const result: IndexerEnv = {
    deployment,
    deploymentPath: e.LLMARKET_DEPLOYMENT,
    rpcUrl: e.LLMARKET_RPC_URL,
    pollingMs: e.LLMARKET_POLLING_MS ?? (deployment.chainId === 31337 ? 100 : 1000),
    rpcLanes: e.LLMARKET_RPC_LANES ?? 1,
    database: e.DATABASE_URL
      ? { kind: "postgres", connectionString: e.DATABASE_URL }
      : {
          kind: "pglite",
          directory: e.LLMARKET_PGLITE_DIR ?? join(INDEXER_DIR, ".ponder", `pglite-${deployment.chainId}`),
        },
  };
  if (env === process.env) cached = result;
  return result;
}

/** Whether the deployment has `name`, i.e. whether its handlers should register. */
export function isDeployed(name: IndexedContract): boolean {
  return indexerEnv().deployment.contracts[name] !== undefined;
}

/** The deployed address of `name`, lower-cased; undefined when the deployment lacks it. */
export function deployedAddress(name: IndexedContract): string | undefined {
  return indexerEnv().deployment.contracts[name]?.address.toLowerCase();
}
