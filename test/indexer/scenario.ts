/**
 * Drives every staking-core event (ModelRegistry, Staking, NodeRegistry, ParameterChanged) and,
 * when the PairEscrow contract is built, every PairEscrow event through the real contracts on a
 * `hardhat node`, for the indexer tests. Returns what the assertions need.
 */
import { keccak256, toHex, zeroHash, type Address, type Hex } from "viem";
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { deployProtocol } from "../../scripts/lib/deployProtocol.ts";
import type { Deployment } from "../../agents/lib/deployments.ts";
import { TYPES, domain } from "../../agents/lib/encodings.ts";

export const E18 = 10n ** 18n;

export const ESCROW_TIMING = {
  thawPeriod: 7200n,
  ticketMaxLifetime: 600n,
  batchCommitLag: 600n,
  challengeWindow: 600n,
  disputeTime: 600n,
  grace: 600n,
} as const;

/** Deploys the protocol, plus PairEscrow when the deployment lacks it (older deployProtocol). */
export async function deployForIndexer(
  viem: HardhatViemHelpers,
): Promise<{ deployment: Deployment; escrow: Address | undefined }> {
  const { deployment } = await deployProtocol(viem);
  let escrow = deployment.contracts.PairEscrow?.address;
  if (!escrow) {
    const [admin] = await viem.getWalletClients();
    const publicClient = await viem.getPublicClient();
    const c = await viem.deployContract("PairEscrow", [
      admin!.account.address,
      deployment.token.address,
      ESCROW_TIMING,
    ]);
    escrow = c.address;
    deployment.contracts.PairEscrow = { address: escrow, block: Number(await publicClient.getBlockNumber()) };
  }
  return { deployment, escrow };
}

export type ScenarioResult = {
  models: { m1: Hex; m2: Hex; m3: Hex };
  accounts: {
    admin: Address;
    nodeA: Address;
    nodeB: Address;
    nodeC: Address;
    nodeD: Address;
    validator: Address;
    requester: Address;
    other: Address;
  };
  prices: { A: bigint; B: bigint; C: bigint };
  latencies: { A: number; B: number; C: number };
  escrow: Address | undefined;
  ticketId: Hex | undefined;
};

export async function runScenario(viem: HardhatViemHelpers, deployment: Deployment): Promise<ScenarioResult> {
  const publicClient = await viem.getPublicClient();
  const testClient = await viem.getTestClient();
  const wallets = await viem.getWalletClients();
  const [admin, nodeA, nodeB, nodeC, nodeD, validator, requester, other] = wallets;
  if (!admin || !nodeA || !nodeB || !nodeC || !nodeD || !validator || !requester || !other)
    throw new Error("need 8 accounts");
  const addr = (name: string): Address => {
    const c = deployment.contracts[name];
    if (!c) throw new Error(`deployment has no ${name}`);
    return c.address;
  };
  const token = await viem.getContractAt("TestToken", addr("TestToken"));
  const models = await viem.getContractAt("ModelRegistry", addr("ModelRegistry"));
  const staking = await viem.getContractAt("Staking", addr("Staking"));
  const nodes = await viem.getContractAt("NodeRegistry", addr("NodeRegistry"));
  const as = (w: (typeof wallets)[number]) => ({ account: w.account });
  const advance = async (seconds: number): Promise<void> => {
    await testClient.increaseTime({ seconds });
    await testClient.mine({ blocks: 1 });
  };

  // ---- models
  const m1 = keccak256(toHex("indexer model 1"));
  const m2 = keccak256(toHex("indexer model 2"));
  const m3 = keccak256(toHex("indexer model 3"));
  const meta = {
    family: "llama",
    parameterCount: 134_000_000n,
    quantization: 2,
    contextLength: 2048,
    minMemoryMb: 512,
    defaultProfileHash: keccak256(toHex("profile")),
  };
  await models.write.registerModel([m1, "https://models.example/m1.gguf", meta, 1000n]);
  await models.write.registerModel([m2, "https://models.example/m2.gguf", { ...meta, family: "qwen" }, 0n]);
  await models.write.registerModel([m3, "https://models.example/m3.gguf", meta, 0n]);
  await models.write.setModelUri([m1, "https://models.example/m1-v2.gguf"]);
  await models.write.transferModelOwnership([m2, other.account.address]);
  await models.write.acceptModelOwnership([m2], as(other));
  await models.write.deprecateModel([m3]);
  await models.write.setMaxRoyaltyPerToken([2n * 10n ** 15n]);

  // ---- staking
  const big = 100_000n * E18;
  for (const w of [nodeA, nodeB, nodeC, nodeD, validator, requester, other]) {
    await token.write.faucet([w.account.address, big]);
    await token.write.approve([addr("Staking"), big], as(w));
  }
  await staking.write.stake([5000n * E18], as(nodeA));
  await staking.write.stake([3000n * E18], as(nodeB));
  await staking.write.stake([2000n * E18], as(nodeC));
  await staking.write.stake([1500n * E18], as(nodeD));
  await staking.write.stake([5000n * E18], as(validator));
  await staking.write.stake([2000n * E18], as(requester));
  await staking.write.declareValidator([[m1, m2]], as(validator));
  await staking.write.undeclareModel([m2], as(validator));
  await staking.write.refreshValidator([validator.account.address]);
  await staking.write.grantRole([await staking.read.LOCKER_ROLE(), admin.account.address]);
  await staking.write.grantRole([await staking.read.SLASHER_ROLE(), admin.account.address]);
  await staking.write.lock([nodeC.account.address, 500n * E18]);
  await staking.write.unlock([nodeC.account.address, 200n * E18]);
  await staking.write.slash([nodeC.account.address, 100n * E18, [validator.account.address], [1000n]]);
  await staking.write.withdrawCredits(as(validator));
  await staking.write.requestUnstake([1000n * E18], as(requester));
  await staking.write.setUnbondingPeriod([8n * 86_400n]);
  await staking.write.setMinValidatorStake([1_500n * E18]);
  await advance(7 * 86_400 + 1);
  await staking.write.withdrawUnbonded(as(requester));

  // ---- nodes
  const prices = { A: 10n ** 13n, B: 2n * 10n ** 13n, C: 5n * 10n ** 12n };
  const latencies = { A: 500, B: 200, C: 1000 };
  const cap = (modelId: Hex, pricePerToken: bigint, latencySlaMs: number) => ({
    modelId,
    quantization: 2,
    maxBatch: 4,
    maxTokens: 512,
    latencySlaMs,
    pricePerToken,
  });
  await nodes.write.register(
    ["http://127.0.0.1:8700", nodeA.account.address, [cap(m1, prices.A, latencies.A)]],
    as(nodeA),
  );
  await nodes.write.register(
    ["http://127.0.0.1:8701", nodeB.account.address, [cap(m1, prices.B, latencies.B)]],
    as(nodeB),
  );
  await nodes.write.register(
    ["http://127.0.0.1:8702", nodeC.account.address, [cap(m1, prices.C, latencies.C), cap(m2, prices.C, latencies.C)]],
    as(nodeC),
  );
  await nodes.write.removeCapability([m2], as(nodeC));
  await nodes.write.updateEndpoint(["http://127.0.0.1:9700"], as(nodeA));
  await nodes.write.updateSigner([other.account.address], as(nodeA));
  await nodes.write.setCapability([cap(m2, prices.A, latencies.A)], as(nodeA));
  await nodes.write.register(["http://127.0.0.1:8703", nodeD.account.address, [cap(m1, 1n, 1)]], as(nodeD));
  await nodes.write.deregister(as(nodeD));
  await nodes.write.grantRole([await nodes.read.REPUTATION_ROLE(), admin.account.address]);
  await nodes.write.recordOutcome([nodeB.account.address, E18, 100n * E18]);
  await nodes.write.recordOutcome([nodeC.account.address, 0n, 100n * E18]);
  await nodes.write.setMinNodeStake([1_200n * E18]);
  await nodes.write.setReputationHalfLife([20n * 86_400n]);
  await nodes.write.setReputationMemoryWeight([200n * E18]);
  await nodes.write.setStakeTier([0n, 75n * 10n ** 16n, 8_000n]);

  // ---- escrow
  const escrowAddress = deployment.contracts.PairEscrow?.address;
  let ticketId: Hex | undefined;
  if (escrowAddress) {
    const escrow = await viem.getContractAt("PairEscrow", escrowAddress);
    const chainId = await publicClient.getChainId();
    await token.write.approve([escrowAddress, big], as(requester));
    await escrow.write.deposit([nodeA.account.address, 100n * E18], as(requester));
    await escrow.write.deposit([nodeB.account.address, 50n * E18], as(requester));
    await escrow.write.requestWithdraw([nodeB.account.address, 10n * E18], as(requester));
    await escrow.write.cancelThaw([nodeB.account.address], as(requester));
    await escrow.write.requestMove([nodeB.account.address, nodeA.account.address, 5n * E18], as(requester));
    await escrow.write.requestWithdraw([nodeA.account.address, E18], as(requester));
    const { thawPeriod } = await escrow.read.timing();
    await advance(Number(thawPeriod) + 1);
    await escrow.write.completeMove([nodeB.account.address], as(requester));
    await escrow.write.completeWithdraw([nodeA.account.address], as(requester));
    const voucher = {
      requester: requester.account.address,
      node: nodeA.account.address,
      cumulativeAmount: 7n * E18,
      throughSequence: 3n,
    };
    const voucherSig = await requester.signTypedData({
      domain: domain(chainId, escrowAddress),
      types: TYPES,
      primaryType: "Voucher",
      message: voucher,
    });
    // The full deployment routes payments through batch settlement; this scenario drives the
    // escrow's standalone path to produce every event type, so it turns node redemption on.
    await escrow.write.setNodeRedeemEnabled([true]);
    await escrow.write.redeemVoucher([voucher, voucherSig], as(nodeA));
    const now = (await publicClient.getBlock()).timestamp;
    const ticket = {
      requester: requester.account.address,
      node: nodeA.account.address,
      model: m1,
      adapter: zeroHash,
      input: keccak256(toHex("prompt")),
      maxTokens: 100,
      pricePerToken: prices.A,
      sequence: 4n,
      expiry: now + 300n,
      profile: keccak256(toHex("profile")),
    };
    const ticketSig = await requester.signTypedData({
      domain: domain(chainId, escrowAddress),
      types: TYPES,
      primaryType: "Ticket",
      message: ticket,
    });
    await escrow.write.grantRole([await escrow.read.SETTLER_ROLE(), admin.account.address]);
    ticketId = await escrow.read.ticketId([ticket]);
    await escrow.write.redeemTicket([ticket, ticketSig, 50]);
    await escrow.write.withdrawCredits(as(nodeA));
    await escrow.write.setTiming([toHex("grace", { size: 32 }), 700n]);
  }

  return {
    models: { m1, m2, m3 },
    accounts: {
      admin: admin.account.address,
      nodeA: nodeA.account.address,
      nodeB: nodeB.account.address,
      nodeC: nodeC.account.address,
      nodeD: nodeD.account.address,
      validator: validator.account.address,
      requester: requester.account.address,
      other: other.account.address,
    },
    prices,
    latencies,
    escrow: escrowAddress,
    ticketId,
  };
}
