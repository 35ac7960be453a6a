/**
 * deployments/<chainId>.json: where the protocol lives on one chain. Written by scripts/deploy.ts,
 * read by agents, the indexer and the SDK. Format (spec in docs/deployments.md):
 *   { chainId, deployBlock, deployedAt, commit, deployer, token: { address, isTestToken },
 *     contracts: { <Name>: { address, block } } }
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { Address } from "viem";
import { ConfigError } from "./errors.ts";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte hex address") as unknown as z.ZodType<Address>;

export const CONTRACT_NAMES = [
  "TestToken",
  "ModelRegistry",
  "Staking",
  "NodeRegistry",
  "PairEscrow",
  "AuctionMarket",
  "BatchSettlement",
  "ChallengeGame",
  "Committee",
  "RewardPool",
  "ValidatorRewards",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  deployBlock: z.number().int().nonnegative(),
  deployedAt: z.string(),
  commit: z.string(),
  deployer: address,
  token: z.object({ address, isTestToken: z.boolean() }),
  contracts: z.record(z.string(), z.object({ address, block: z.number().int().nonnegative() })),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export const DEFAULT_DEPLOYMENTS_DIR = new URL("../../deployments/", import.meta.url).pathname;

export function deploymentPath(chainId: number, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  return join(dir, `${chainId}.json`);
}

/** Reads and validates a deployments file; a missing or malformed file is a ConfigError. */
export function readDeployment(pathOrChainId: string | number, dir = DEFAULT_DEPLOYMENTS_DIR): Deployment {
  const path = typeof pathOrChainId === "number" ? deploymentPath(pathOrChainId, dir) : pathOrChainId;
  if (!existsSync(path)) {
    throw new ConfigError(`No deployments file at ${path}: deploy first (npm run deploy -- --network <name>).`, {
      details: { path },
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new ConfigError(`Deployments file ${path} is not valid JSON.`, { details: { path }, cause });
  }
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `Deployments file ${path} is malformed: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      {
        details: { path },
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

export function contractAddress(d: Deployment, name: ContractName): Address {
  const c = d.contracts[name];
  if (!c) throw new ConfigError(`Deployment for chain ${d.chainId} has no ${name}; redeploy with the current scripts.`);
  return c.address;
}

export function writeDeployment(d: Deployment, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  const valid = deploymentSchema.parse(d);
  const path = deploymentPath(valid.chainId, dir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(valid, null, 2) + "\n");
  return path;
}
