/**
 * Deploys and wires the protocol's contracts through Hardhat's viem helpers, on any network
 * Hardhat can reach (the in-process simulator, a local `hardhat node`, or a configured RPC).
 */
import { execSync } from "node:child_process";
import { parseUnits, type Address } from "viem";
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import type { Deployment } from "../../agents/lib/deployments.ts";

const DAY_SECONDS = 86_400n;

/** Launch defaults; every one is a bounded, evented parameter afterwards (docs/parameters.md). */
export const DEFAULT_PARAMS = {
  testTokenSupply: parseUnits("100000000", 18),
  maxRoyaltyPerToken: parseUnits("0.001", 18),
  minValidatorStake: parseUnits("1000", 18),
  unbondingPeriodSeconds: 7n * DAY_SECONDS,
  minNodeStake: parseUnits("1000", 18),
  reputationHalfLifeSeconds: 30n * DAY_SECONDS,
  reputationMemoryWeight: parseUnits("100", 18),
} as const;
export type ProtocolParams = { -readonly [K in keyof typeof DEFAULT_PARAMS]: bigint };

export type DeployedProtocol = {
  deployment: Deployment;
  addresses: { TestToken: Address; ModelRegistry: Address; Staking: Address; NodeRegistry: Address };
};

function gitCommit(): string {
  try {
    return execSync("git rev-parse HEAD", { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "unknown";
  }
}

export async function deployProtocol(
  viem: HardhatViemHelpers,
  options: { params?: Partial<ProtocolParams>; log?: (line: string) => void } = {},
): Promise<DeployedProtocol> {
  const p: ProtocolParams = { ...DEFAULT_PARAMS, ...options.params };
  const log = options.log ?? ((): void => {});
  const publicClient = await viem.getPublicClient();
  const [deployer] = await viem.getWalletClients();
  if (!deployer) throw new Error("No deployer account is configured for this network.");
  const admin = deployer.account.address;
  const chainId = await publicClient.getChainId();
  const startBlock = Number(await publicClient.getBlockNumber());

  const blockOf = async (address: Address): Promise<number> => {
    // The contract exists from the block after the last one without code; deploys are sequential
    // here, so the current block number is the deploy block.
    void address;
    return Number(await publicClient.getBlockNumber());
  };

  log("deploying TestToken");
  const token = await viem.deployContract("TestToken", [p.testTokenSupply]);
  const tokenBlock = await blockOf(token.address);
  log("deploying ModelRegistry");
  const models = await viem.deployContract("ModelRegistry", [admin, p.maxRoyaltyPerToken]);
  const modelsBlock = await blockOf(models.address);
  log("deploying Staking");
  const staking = await viem.deployContract("Staking", [
    token.address,
    models.address,
    admin,
    p.minValidatorStake,
    p.unbondingPeriodSeconds,
  ]);
  const stakingBlock = await blockOf(staking.address);
  log("deploying NodeRegistry");
  const nodes = await viem.deployContract("NodeRegistry", [
    admin,
    models.address,
    staking.address,
    p.minNodeStake,
    p.reputationHalfLifeSeconds,
    p.reputationMemoryWeight,
  ]);
  const nodesBlock = await blockOf(nodes.address);

  const deployment: Deployment = {
    chainId,
    deployBlock: startBlock + 1,
    deployedAt: new Date().toISOString(),
    commit: gitCommit(),
    deployer: admin,
    token: { address: token.address, isTestToken: true },
    contracts: {
      TestToken: { address: token.address, block: tokenBlock },
      ModelRegistry: { address: models.address, block: modelsBlock },
      Staking: { address: staking.address, block: stakingBlock },
      NodeRegistry: { address: nodes.address, block: nodesBlock },
    },
  };
  return {
    deployment,
    addresses: {
      TestToken: token.address,
      ModelRegistry: models.address,
      Staking: staking.address,
      NodeRegistry: nodes.address,
    },
  };
}
