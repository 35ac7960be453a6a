/**
 * Deploys and wires the protocol's contracts through Hardhat's viem helpers, on any network
 * Hardhat can reach (the in-process simulator, a local `hardhat node`, or a configured RPC).
 * Roles: Staking LOCKER/SLASHER to the market and settlement, NodeRegistry REPUTATION to both,
 * PairEscrow SETTLER and AuctionMarket SETTLER to the settlement, settlement CHALLENGE to the game.
 */
import { execSync } from "node:child_process";
import { parseUnits, type Address, type Hex } from "viem";
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { CONTRACT_NAMES, type Deployment } from "../../agents/lib/deployments.ts";

const HOUR = 3_600n;
const DAY = 86_400n;

/** Launch defaults; every one is a bounded, evented parameter afterwards. */
export const DEFAULT_PARAMS = {
  testTokenSupply: parseUnits("100000000", 18),
  maxRoyaltyPerToken: parseUnits("0.001", 18),
  minValidatorStake: parseUnits("1000", 18),
  unbondingPeriodSeconds: 7n * DAY,
  minNodeStake: parseUnits("1000", 18),
  reputationHalfLifeSeconds: 30n * DAY,
  reputationMemoryWeight: parseUnits("100", 18),
  // Escrow timing: thaw > ticketMaxLifetime + batchCommitLag + challengeWindow + disputeTime + grace.
  ticketMaxLifetimeSeconds: 1n * HOUR,
  batchCommitLagSeconds: 1n * HOUR,
  challengeWindowSeconds: 1n * HOUR,
  revealPeriodSeconds: 10n * 60n,
  responseWindowSeconds: 1n * HOUR,
  disputeTimeSeconds: 1n * DAY,
  graceSeconds: 1n * HOUR,
  thawPeriodSeconds: 3n * DAY,
  // Settlement and challenges (docs/economics.md explains the defaults).
  lockFactorBps: 20_000n,
  protocolFeeBps: 200n,
  challengerShareBps: 1_000n,
  committeeShareBps: 2_000n,
  slashFactorBps: 10_000n,
  minSlash: parseUnits("10", 18),
  challengeBond: parseUnits("5", 18),
  // Committees (docs/committees.md, docs/economics.md).
  committeeSize: 5n,
  minCommitteeSize: 3n,
  maxAppeals: 2n,
  drawDelayBlocks: 5n,
  maxRedraws: 2n,
  voteCommitSeconds: 1n * HOUR,
  voteRevealSeconds: 1n * HOUR,
  appealSeconds: 1n * HOUR,
  voteBond: parseUnits("10", 18),
  nonVoterPenaltyBps: 5_000n,
  penaltyToPotBps: 5_000n,
  appealFee: parseUnits("20", 18),
  committeeReserve: parseUnits("1000", 18),
  // Reward pool and validator fee stream.
  rewardEpochSeconds: 1n * DAY,
  rewardClaimWindowEpochs: 30n,
  canaryLapseCount: 3n,
  canaryMinRevealDelaySeconds: 1n * HOUR,
} as const;
export type ProtocolParams = { -readonly [K in keyof typeof DEFAULT_PARAMS]: bigint };

/** Short windows for local demos and tests (seconds instead of hours). */
export const DEMO_PARAMS: Partial<ProtocolParams> = {
  ticketMaxLifetimeSeconds: 600n,
  batchCommitLagSeconds: 600n,
  challengeWindowSeconds: 20n,
  revealPeriodSeconds: 10n,
  responseWindowSeconds: 20n,
  disputeTimeSeconds: 120n,
  graceSeconds: 60n,
  thawPeriodSeconds: 3_600n,
  drawDelayBlocks: 2n,
  voteCommitSeconds: 20n,
  voteRevealSeconds: 20n,
  appealSeconds: 20n,
  rewardEpochSeconds: 3_600n,
  canaryMinRevealDelaySeconds: 30n,
};

/** The contracts a deployment holds, in deployment order (agents/lib/deployments.ts). */
export const PROTOCOL_CONTRACTS = CONTRACT_NAMES;
export type ProtocolContract = (typeof PROTOCOL_CONTRACTS)[number];

export type DeployedProtocol = {
  deployment: Deployment;
  addresses: Record<ProtocolContract, Address>;
  params: ProtocolParams;
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
  options: { params?: Partial<ProtocolParams>; treasury?: Address; log?: (line: string) => void } = {},
): Promise<DeployedProtocol> {
  const p: ProtocolParams = { ...DEFAULT_PARAMS, ...options.params };
  const log = options.log ?? ((): void => {});
  const publicClient = await viem.getPublicClient();
  const [deployer] = await viem.getWalletClients();
  if (!deployer) throw new Error("No deployer account is configured for this network.");
  const admin = deployer.account.address;
  const treasury = options.treasury ?? admin;
  const chainId = await publicClient.getChainId();
  const startBlock = Number(await publicClient.getBlockNumber()) + 1;
  const blocks: Partial<Record<ProtocolContract, number>> = {};
  const wait = async (hash: Hex): Promise<void> => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`deployment transaction ${hash} reverted`);
  };
  const mark = async (name: ProtocolContract): Promise<void> => {
    blocks[name] = Number(await publicClient.getBlockNumber());
  };

  log("deploying TestToken");
  const token = await viem.deployContract("TestToken", [p.testTokenSupply]);
  await mark("TestToken");
  log("deploying ModelRegistry");
  const models = await viem.deployContract("ModelRegistry", [admin, p.maxRoyaltyPerToken]);
  await mark("ModelRegistry");
  log("deploying Staking");
  const staking = await viem.deployContract("Staking", [
    token.address,
    models.address,
    admin,
    p.minValidatorStake,
    p.unbondingPeriodSeconds,
  ]);
  await mark("Staking");
  log("deploying NodeRegistry");
  const nodes = await viem.deployContract("NodeRegistry", [
    admin,
    models.address,
    staking.address,
    p.minNodeStake,
    p.reputationHalfLifeSeconds,
    p.reputationMemoryWeight,
  ]);
  await mark("NodeRegistry");
  log("deploying PairEscrow");
  const escrow = await viem.deployContract("PairEscrow", [
    admin,
    token.address,
    {
      thawPeriod: p.thawPeriodSeconds,
      ticketMaxLifetime: p.ticketMaxLifetimeSeconds,
      batchCommitLag: p.batchCommitLagSeconds,
      // The escrow's window covers the settlement's challenge window and reveal period.
      challengeWindow: p.challengeWindowSeconds + p.revealPeriodSeconds + p.responseWindowSeconds,
      disputeTime: p.disputeTimeSeconds,
      grace: p.graceSeconds,
    },
  ]);
  await mark("PairEscrow");
  log("deploying AuctionMarket");
  const market = await viem.deployContract("AuctionMarket", [
    admin,
    token.address,
    staking.address,
    nodes.address,
    treasury,
  ]);
  await mark("AuctionMarket");
  log("deploying BatchSettlement");
  const settlement = await viem.deployContract("BatchSettlement", [
    admin,
    token.address,
    staking.address,
    nodes.address,
    models.address,
    escrow.address,
    treasury,
    {
      lockFactorBps: p.lockFactorBps,
      challengeWindow: p.challengeWindowSeconds,
      revealPeriod: p.revealPeriodSeconds,
      protocolFeeBps: p.protocolFeeBps,
      challengerShareBps: p.challengerShareBps,
      slashFactorBps: p.slashFactorBps,
      minSlash: p.minSlash,
      batchCommitLag: p.batchCommitLagSeconds,
    },
  ]);
  await mark("BatchSettlement");
  log("deploying ChallengeGame");
  const game = await viem.deployContract("ChallengeGame", [
    admin,
    token.address,
    settlement.address,
    staking.address,
    nodes.address,
    escrow.address,
    p.challengeBond,
    p.responseWindowSeconds,
    p.committeeShareBps,
  ]);
  await mark("ChallengeGame");

  log("deploying Committee");
  const committee = await viem.deployContract("Committee", [
    admin,
    token.address,
    game.address,
    staking.address,
    treasury,
    {
      committeeSize: p.committeeSize,
      minCommitteeSize: p.minCommitteeSize,
      maxAppeals: p.maxAppeals,
      drawDelayBlocks: p.drawDelayBlocks,
      maxRedraws: p.maxRedraws,
      commitSeconds: p.voteCommitSeconds,
      revealSeconds: p.voteRevealSeconds,
      appealSeconds: p.appealSeconds,
      voteBond: p.voteBond,
      nonVoterPenaltyBps: p.nonVoterPenaltyBps,
      penaltyToPotBps: p.penaltyToPotBps,
      appealFee: p.appealFee,
    },
  ]);
  await mark("Committee");
  log("deploying RewardPool");
  const rewardPool = await viem.deployContract("RewardPool", [
    admin,
    token.address,
    p.rewardEpochSeconds,
    p.rewardClaimWindowEpochs,
  ]);
  await mark("RewardPool");
  log("deploying ValidatorRewards");
  const validatorRewards = await viem.deployContract("ValidatorRewards", [
    admin,
    token.address,
    game.address,
    p.rewardEpochSeconds,
    p.rewardClaimWindowEpochs,
    p.canaryLapseCount,
    p.canaryMinRevealDelaySeconds,
  ]);
  await mark("ValidatorRewards");

  log("granting roles");
  const lockerRole = await staking.read.LOCKER_ROLE();
  const slasherRole = await staking.read.SLASHER_ROLE();
  const repRole = await nodes.read.REPUTATION_ROLE();
  for (const who of [market.address, settlement.address, committee.address]) {
    await wait(await staking.write.grantRole([lockerRole, who]));
    await wait(await staking.write.grantRole([slasherRole, who]));
    await wait(await nodes.write.grantRole([repRole, who]));
  }
  await wait(await escrow.write.grantRole([await escrow.read.SETTLER_ROLE(), settlement.address]));
  await wait(await settlement.write.grantRole([await settlement.read.CHALLENGE_ROLE(), game.address]));
  await wait(await settlement.write.setAuctionMarket([market.address]));
  await wait(await game.write.setResolver([committee.address]));
  await wait(await game.write.grantRole([await game.read.RESOLVER_ROLE(), committee.address]));
  await wait(await settlement.write.setRewardPool([rewardPool.address]));
  await wait(await rewardPool.write.grantRole([await rewardPool.read.WORK_RECORDER_ROLE(), settlement.address]));
  await wait(await rewardPool.write.grantRole([await rewardPool.read.FEE_DEPOSITOR_ROLE(), treasury]));
  await wait(await validatorRewards.write.grantRole([await validatorRewards.read.FEE_DEPOSITOR_ROLE(), treasury]));
  await wait(await validatorRewards.write.grantRole([await validatorRewards.read.CANARY_ROLE(), admin]));
  if (p.committeeReserve > 0n) {
    await wait(await token.write.approve([committee.address, p.committeeReserve]));
    await wait(await committee.write.fundReserve([p.committeeReserve]));
  }
  // Every payment goes through a committed, challengeable batch.
  await wait(await market.write.setSettlement([settlement.address]));
  await wait(await escrow.write.setNodeRedeemEnabled([false]));

  const addresses: Record<ProtocolContract, Address> = {
    TestToken: token.address,
    ModelRegistry: models.address,
    Staking: staking.address,
    NodeRegistry: nodes.address,
    PairEscrow: escrow.address,
    AuctionMarket: market.address,
    BatchSettlement: settlement.address,
    ChallengeGame: game.address,
    Committee: committee.address,
    RewardPool: rewardPool.address,
    ValidatorRewards: validatorRewards.address,
  };
  const deployment: Deployment = {
    chainId,
    deployBlock: startBlock,
    deployedAt: new Date().toISOString(),
    commit: gitCommit(),
    deployer: admin,
    token: { address: token.address, isTestToken: true },
    contracts: Object.fromEntries(
      PROTOCOL_CONTRACTS.map((n) => [n, { address: addresses[n], block: blocks[n] ?? startBlock }]),
    ),
  };
  return { deployment, addresses, params: p };
}
