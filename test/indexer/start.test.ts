/** indexer/start.ts as a CLI: --help, and clear errors for missing or bad configuration. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const START = new URL("../../indexer/start.ts", import.meta.url).pathname;
const run = (args: string[]) => {
  const env = { ...process.env };
  delete env.LLMARKET_DEPLOYMENT;
  delete env.LLMARKET_RPC_URL;
  return spawnSync(process.execPath, [START, ...args], { encoding: "utf8", env, timeout: 30_000 });
};

describe("indexer/start.ts", () => {
  it("prints help", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--deployment");
    expect(r.stdout).toContain("DATABASE_URL");
  });

  it("exits 2 with a message when required options are missing or malformed", () => {
    const missing = run([]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--deployment (or LLMARKET_DEPLOYMENT) is required");
    const badRpc = run(["--deployment", "x.json", "--rpc", "not a url"]);
    expect(badRpc.status).toBe(2);
    expect(badRpc.stderr).toContain("--rpc must be an http(s) URL");
  });

  it("exits 1 with what to do when the deployments file does not exist", () => {
    const r = run(["--deployment", "/nonexistent/31337.json", "--rpc", "http://127.0.0.1:1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("No deployments file at /nonexistent/31337.json");
  });
});
