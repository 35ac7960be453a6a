/**
 * Shared set-up of the indexer tests: a `hardhat node`, the protocol deployed with Hardhat's viem
 * helpers, the deployments file in a temp dir, and HTTP helpers for the running Ponder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { createClient } from "@ponder/client";
import * as schema from "../../indexer/ponder.schema.ts";
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { startLocalChain, type LocalChain } from "../../scripts/lib/localChain.ts";
import { writeDeployment, type Deployment } from "../../agents/lib/deployments.ts";
import { deployForIndexer } from "./scenario.ts";

export type ChainFixture = {
  chain: LocalChain;
  viem: HardhatViemHelpers;
  deployment: Deployment;
  deploymentPath: string;
  dir: string;
  cleanup: () => Promise<void>;
};

export async function chainFixture(): Promise<ChainFixture> {
  const chain = await startLocalChain();
  const conn = await network.create({ network: "localhost", override: { url: chain.url } });
  const { deployment } = await deployForIndexer(conn.viem);
  const dir = mkdtempSync(join(tmpdir(), "llmarket-indexer-"));
  const deploymentPath = writeDeployment(deployment, dir);
  return {
    chain,
    viem: conn.viem,
    deployment,
    deploymentPath,
    dir,
    cleanup: async () => {
      await conn.close();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type JsonResponse = { status: number; contentType: string; body: any };

export async function getJson(base: string, path: string): Promise<JsonResponse> {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body };
}

export async function graphql(base: string, query: string): Promise<any> {
  const res = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

type SqlClient = ReturnType<typeof createClient<typeof schema>>;

/** Row counts of `tables` through Ponder's SQL over HTTP at `ponderUrl` (for restart-without-duplicates checks). */
export async function rowCounts(
  ponderUrl: string,
  tables: Record<string, Parameters<ReturnType<SqlClient["db"]["select"]>["from"]>[0]>,
): Promise<Record<string, number>> {
  const c = createClient(`${ponderUrl}/sql`, { schema });
  return Object.fromEntries(
    await Promise.all(Object.entries(tables).map(async ([k, t]) => [k, (await c.db.select().from(t)).length] as const)),
  );
}
