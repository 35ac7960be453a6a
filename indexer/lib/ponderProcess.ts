/**
 * Runs `ponder start` on indexer/ as a child process (Ponder has no programmatic API): sets the
 * environment indexer/indexerEnv.ts reads, learns the actual port from Ponder's JSON log (Ponder
 * moves to the next port when the requested one is taken), waits for /health, and stops by pid
 * (SIGTERM, then SIGKILL). Used by indexer/start.ts, the tests and the benchmark.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { readDeployment } from "../../agents/lib/deployments.ts";
import { LLMarketError } from "../../agents/lib/errors.ts";
import { releasePgliteSchemaLock, releasePostgresSchemaLock } from "./schemaLock.ts";

const PONDER_CLI = new URL("../../node_modules/ponder/dist/esm/bin/ponder.js", import.meta.url).pathname;
const INDEXER_ROOT = new URL("..", import.meta.url).pathname;

/** Ponder exited, or did not come up, or did not reach a block in time. */
export class IndexerProcessError extends LLMarketError {}

export type PonderOptions = {
  deploymentPath: string;
  rpcUrl: string;
  /** Requested port (Ponder takes the next free one if taken); default 42069. */
  port?: number;
  /** Database schema; default "llmarket". */
  schema?: string;
  /** PostgreSQL URL; unset = PGlite. */
  databaseUrl?: string;
  /** PGlite directory or "memory://"; ignored with databaseUrl. */
  pgliteDir?: string;
  pollingMs?: number;
  /** RPC lanes (LLMARKET_RPC_LANES): the URL listed this many times for Ponder; default 1. */
  rpcLanes?: number;
  /** Each log line (JSON objects from Ponder, or raw text). */
  onLog?: (line: string) => void;
  /** "start" (default) or "dev". */
  command?: "start" | "dev";
  logLevel?: "error" | "warn" | "info" | "debug" | "trace";
};

export type PonderProcess = {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything Ponder printed so far. */
  output: () => string;
  /** Resolves when Ponder exits; the code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM, then SIGKILL after `graceMs`. With `releaseLock` it then clears the
   * schema lock Ponder leaves behind (indexer/lib/schemaLock.ts), so a restart does not wait ~25 s.
   */
  stop: (graceMs?: number, options?: { releaseLock?: boolean }) => Promise<void>;
  /** Polls /status until the chain's indexed block is >= `block`. */
  waitForBlock: (block: bigint | number, timeoutMs?: number) => Promise<void>;
  /** Polls /ready until 200. */
  waitForReady: (timeoutMs?: number) => Promise<void>;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startPonder(options: PonderOptions): Promise<PonderProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LLMARKET_DEPLOYMENT: options.deploymentPath,
    LLMARKET_RPC_URL: options.rpcUrl,
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  };
  delete env.DATABASE_URL;
  delete env.DATABASE_PRIVATE_URL;
  delete env.DATABASE_SCHEMA;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  else if (options.pgliteDir) env.LLMARKET_PGLITE_DIR = options.pgliteDir;
  if (options.pollingMs !== undefined) env.LLMARKET_POLLING_MS = String(options.pollingMs);
  if (options.rpcLanes !== undefined) env.LLMARKET_RPC_LANES = String(options.rpcLanes);
  const args = [
    PONDER_CLI,
    options.command ?? "start",
    "--root",
    INDEXER_ROOT,
    "--schema",
    options.schema ?? "llmarket",
    "--port",
    String(options.port ?? 42069),
    "--hostname",
    "127.0.0.1",
    "--log-format",
    "json",
    "--log-level",
    options.logLevel ?? "info",
  ];
  if (options.command === "dev") args.push("--disable-ui");
  const child = spawn(process.execPath, args, { cwd: INDEXER_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let port: number | undefined;
  const onData = (d: Buffer): void => {
    const text = d.toString();
    output += text;
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      options.onLog?.(line);
      if (port === undefined && line.includes("Created HTTP server")) {
        try {
          port = Number((JSON.parse(line) as { port?: number }).port);
        } catch {
          /* not JSON */
        }
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;

  const stop = async (graceMs = 5000, stopOptions: { releaseLock?: boolean } = {}): Promise<void> => {
    if (isRunning() && child.pid !== undefined) {
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (isRunning() && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
    if (stopOptions.releaseLock) {
      const schema = options.schema ?? "llmarket";
      if (options.databaseUrl) await releasePostgresSchemaLock(options.databaseUrl, schema);
      else {
        const dir =
          options.pgliteDir ??
          join(INDEXER_ROOT, ".ponder", `pglite-${readDeployment(options.deploymentPath).chainId}`);
        await releasePgliteSchemaLock(dir, schema);
      }
    }
  };

  const died = (what: string): IndexerProcessError =>
    new IndexerProcessError(
      `Ponder exited (${child.exitCode ?? child.signalCode}) ${what}. Last output:\n${output.slice(-3000)}`,
    );

  const deadline = Date.now() + 90_000;
  while (port === undefined) {
    if (!isRunning()) throw died("before its HTTP server started");
    if (Date.now() > deadline) {
      await stop();
      throw new IndexerProcessError(`Ponder did not start its HTTP server within 90 s:\n${output.slice(-3000)}`);
    }
    await sleep(50);
  }
  const url = `http://127.0.0.1:${port}`;

  const poll = async (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (!isRunning()) throw died(`while waiting for ${what}`);
      try {
        if (await check()) return;
      } catch {
        /* server not answering yet */
      }
      if (Date.now() > end)
        throw new IndexerProcessError(`Timed out after ${timeoutMs} ms waiting for ${what} at ${url}.`);
      await sleep(20);
    }
  };

  await poll("/health", 30_000, async () => (await fetch(`${url}/health`)).ok);

  return {
    url,
    port,
    pid: child.pid!,
    child,
    output: () => output,
    exited,
    stop,
    waitForReady: (timeoutMs = 120_000) => poll("/ready", timeoutMs, async () => (await fetch(`${url}/ready`)).ok),
    waitForBlock: (block, timeoutMs = 120_000) =>
      poll(`block ${block}`, timeoutMs, async () => {
        const res = await fetch(`${url}/status`);
        if (!res.ok) return false;
        const status = (await res.json()) as Record<string, { block?: { number?: number } }>;
        const n = status.chain?.block?.number;
        return n !== undefined && BigInt(n) >= BigInt(block);
      }),
  };
}
