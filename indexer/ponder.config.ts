/**
 * Ponder configuration: ABIs from the build (agents/lib/generated/abis.ts), addresses and start
 * blocks from the deployments file, nothing copied by hand. A contract is indexed only when the
 * deployment has it, so contracts that land later plug in by adding an ABI here, a name in
 * OPTIONAL_CONTRACTS (indexer/indexerEnv.ts) and a handler file under indexer/src/.
 */
import { createConfig } from "ponder";
import type { Abi, Address } from "viem";
import {
  auctionMarketAbi,
  batchSettlementAbi,
  challengeGameAbi,
  committeeAbi,
  modelRegistryAbi,
  nodeRegistryAbi,
  pairEscrowAbi,
  rewardPoolAbi,
  stakingAbi,
  validatorRewardsAbi,
} from "../agents/lib/generated/abis.ts";
import { indexerEnv, type IndexedContract } from "./indexerEnv.ts";

const env = indexerEnv();
const { deployment } = env;

/** The single chain's name in Ponder (used by `publicClients` in the API). */
export const CHAIN = "chain";

function source<const A extends Abi>(name: IndexedContract, abi: A) {
  const entry = deployment.contracts[name];
  return {
    chain: CHAIN,
    abi,
    address: (entry?.address ?? "0x0000000000000000000000000000000000000000") as Address,
    startBlock: entry?.block ?? deployment.deployBlock,
  } as const;
}

const all = {
  ModelRegistry: source("ModelRegistry", modelRegistryAbi),
  Staking: source("Staking", stakingAbi),
  NodeRegistry: source("NodeRegistry", nodeRegistryAbi),
  PairEscrow: source("PairEscrow", pairEscrowAbi),
  AuctionMarket: source("AuctionMarket", auctionMarketAbi),
  BatchSettlement: source("BatchSettlement", batchSettlementAbi),
  ChallengeGame: source("ChallengeGame", challengeGameAbi),
  Committee: source("Committee", committeeAbi),
  RewardPool: source("RewardPool", rewardPoolAbi),
  ValidatorRewards: source("ValidatorRewards", validatorRewardsAbi),
};

// The type keeps every contract (handlers are typed against all of them); at runtime only the
// deployed ones are configured, and handlers of the others do not register (isDeployed).
const contracts = Object.fromEntries(
  Object.entries(all).filter(([name]) => deployment.contracts[name] !== undefined),
) as typeof all;

export default createConfig({
  database:
    env.database.kind === "postgres"
      ? { kind: "postgres", connectionString: env.database.connectionString }
      : { kind: "pglite", directory: env.database.directory },
  ordering: "omnichain",
  chains: {
    [CHAIN]: {
      id: deployment.chainId,
      // Ponder schedules and rate-limits each URL separately (from 20 requests/s): lanes > 1 list
      // the same URL several times so a local node is not held back by that limit.
      rpc: env.rpcLanes > 1 ? Array.from({ length: env.rpcLanes }, () => env.rpcUrl) : env.rpcUrl,
      pollingInterval: env.pollingMs,
    },
  } as { chain: { id: number; rpc: string | string[]; pollingInterval: number } },
  contracts,
});
