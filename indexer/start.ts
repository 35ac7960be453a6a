/**
 * Starts the LLMarket indexer (`ponder start` on indexer/) and prints its URLs.
 *
 *   node indexer/start.ts --deployment deployments/31337.json --rpc http://127.0.0.1:8545 \
 *     [--port 42069] [--schema llmarket] [--database-url postgres://...] [--pglite-dir DIR] [--polling-ms 100] [--rpc-lanes 1]
 *
 * Precedence: flags, then environment (LLMARKET_DEPLOYMENT, LLMARKET_RPC_URL, LLMARKET_PORT,
 * DATABASE_SCHEMA, DATABASE_URL, LLMARKET_PGLITE_DIR, LLMARKET_POLLING_MS), then defaults.
 * Stops Ponder (by its pid) on SIGINT/SIGTERM; exits with Ponder's code if Ponder stops.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { readDeployment } from "../agents/lib/deployments.ts";
import { LLMarketError } from "../agents/lib/errors.ts";
import { startPonder } from "./lib/ponderProcess.ts";

const HELP = `Usage: node indexer/start.ts --deployment <file> --rpc <url> [options]

Starts the LLMarket indexer (Ponder) for one deployment and prints its URLs.

Options (flag, then environment variable, then default):
  --deployment <file>     deployments/<chainId>.json              LLMARKET_DEPLOYMENT (required)
  --rpc <url>             JSON-RPC URL of the chain               LLMARKET_RPC_URL (required)
  --port <n>              HTTP port on 127.0.0.1 (Ponder moves to the next free port if taken)
                                                                  LLMARKET_PORT, default 42069
  --schema <name>         database schema                         DATABASE_SCHEMA, default llmarket
  --database-url <url>    PostgreSQL; without it embedded PGlite  DATABASE_URL
  --pglite-dir <dir>      PGlite directory or memory://           LLMARKET_PGLITE_DIR,
                                                                  default indexer/.ponder/pglite-<chainId>
  --polling-ms <n>        block polling interval                  LLMARKET_POLLING_MS, default 100 on 31337, else 1000
  --rpc-lanes <n>         list the RPC URL n times (1-32): Ponder   LLMARKET_RPC_LANES, default 1
                          rate-limits each URL, from 20 requests/s
  --quiet                 do not echo Ponder's log
  -h, --help              this text

Restarting on the same schema and database resumes from the last indexed block. On SIGINT/SIGTERM
this command stops Ponder and releases its schema lock, so the next start does not wait for it;
after a kill -9 Ponder waits up to ~25 s for the lock to expire (docs/indexer.md).
Use a fresh --schema or --pglite-dir after resetting a local chain.`;

const { values } = parseArgs({
  options: {
    deployment: { type: "string" },
    rpc: { type: "string" },
    port: { type: "string" },
    schema: { type: "string" },
    "database-url": { type: "string" },
    "pglite-dir": { type: "string" },
    "polling-ms": { type: "string" },
    "rpc-lanes": { type: "string" },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const optionsSchema = z.object({
  deployment: z.string({ required_error: "--deployment (or LLMARKET_DEPLOYMENT) is required" }).min(1),
  rpc: z.string({ required_error: "--rpc (or LLMARKET_RPC_URL) is required" }).url("--rpc must be an http(s) URL"),
  port: z.coerce.number().int().min(1).max(65535).default(42069),
  schema: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,44}$/, "--schema must be a SQL identifier of at most 45 characters")
    .default("llmarket"),
  databaseUrl: z.string().min(1).optional(),
  pgliteDir: z.string().min(1).optional(),
  pollingMs: z.coerce.number().int().min(10).max(60_000).optional(),
  rpcLanes: z.coerce.number().int().min(1).max(32).optional(),
});

const env = process.env;
const parsed = optionsSchema.safeParse({
  deployment: values.deployment ?? env.LLMARKET_DEPLOYMENT,
  rpc: values.rpc ?? env.LLMARKET_RPC_URL,
  port: values.port ?? env.LLMARKET_PORT,
  schema: values.schema ?? env.DATABASE_SCHEMA,
  databaseUrl: values["database-url"] ?? env.DATABASE_URL,
  pgliteDir: values["pglite-dir"] ?? env.LLMARKET_PGLITE_DIR,
  pollingMs: values["polling-ms"] ?? env.LLMARKET_POLLING_MS,
  rpcLanes: values["rpc-lanes"] ?? env.LLMARKET_RPC_LANES,
});
if (!parsed.success) {
  console.error(`indexer: ${parsed.error.issues.map((i) => i.message).join("; ")}\n\n${HELP}`);
  process.exit(2);
}
const o = parsed.data;

try {
  const deploymentPath = resolve(o.deployment);
  const deployment = readDeployment(deploymentPath); // fail here, with a clear message, not inside Ponder
  const ponder = await startPonder({
    deploymentPath,
    rpcUrl: o.rpc,
    port: o.port,
    schema: o.schema,
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
    ...(o.pgliteDir ? { pgliteDir: resolve(o.pgliteDir) } : {}),
    ...(o.pollingMs !== undefined ? { pollingMs: o.pollingMs } : {}),
    ...(o.rpcLanes !== undefined ? { rpcLanes: o.rpcLanes } : {}),
    onLog: values.quiet ? undefined : (line) => console.log(line),
  });
  const db = o.databaseUrl ? "postgresql" : `pglite (${o.pgliteDir ?? `indexer/.ponder/pglite-${deployment.chainId}`})`;
  console.log(
    [
      `LLMarket indexer for chain ${deployment.chainId} (pid ${ponder.pid}, database ${db}, schema ${o.schema})`,
      `  REST     ${ponder.url}/nodes/ranked?model=0x...  ${ponder.url}/nodes/<address>  ${ponder.url}/models  ${ponder.url}/stats`,
      `           ${ponder.url}/jobs/<id>  ${ponder.url}/batches/<id>  ${ponder.url}/challenges/<batchId>:<leafIndex>`,
      `  GraphQL  ${ponder.url}/graphql`,
      `  SQL      ${ponder.url}/sql  (@ponder/client)`,
      `  Status   ${ponder.url}/health  ${ponder.url}/ready  ${ponder.url}/status  ${ponder.url}/metrics`,
    ].join("\n"),
  );
  let stopping: Promise<void> | undefined;
  const shutdown = (): void => {
    stopping ??= ponder.stop(5000, { releaseLock: true }).then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  const { code, signal } = await ponder.exited;
  if (stopping) await stopping; // exits when the lock is released
  console.error(`indexer: Ponder exited (${code ?? signal}).`);
  process.exit(code ?? 1);
} catch (error) {
  const message = error instanceof LLMarketError ? error.message : String(error);
  console.error(`indexer: ${message}`);
  process.exit(1);
}
