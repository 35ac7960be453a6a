/**
 * A local JSON-RPC chain: `hardhat node` as a child process on 127.0.0.1, stopped by process id.
 * Used by the demo and by tests that need a chain other processes (Ponder, agents) can reach.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createPublicClient, http } from "viem";

const HARDHAT_CLI = new URL("../../node_modules/hardhat/dist/src/cli.js", import.meta.url).pathname;

export type LocalChain = { url: string; port: number; pid: number; stop: () => Promise<void> };

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") return reject(new Error("no port"));
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Stops a child process by pid: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startLocalChain(
  options: { port?: number; log?: (line: string) => void } = {},
): Promise<LocalChain> {
  const port = options.port ?? (await freePort());
  // Spawn Node on Hardhat's CLI directly (not through npx) so the pid we stop is the server's.
  const child = spawn(process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY: "true" },
    detached: false,
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
    if (options.log) for (const l of d.toString().split("\n")) if (l.trim()) options.log(l);
  });
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ transport: http(url, { retryCount: 0 }) });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode}:\n${output.slice(-2000)}`);
    try {
      await client.getChainId();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stopProcess(child);
        throw new Error(`hardhat node did not answer on ${url} within 60 s:\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url, port, pid: child.pid!, stop: () => stopProcess(child) };
}
