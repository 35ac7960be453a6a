/**
 * The gas scenario: deploys the protocol on a fresh in-process chain and calls every external
 * state-changing function of every protocol contract in a representative state, recording each
 * figure once. `npm run gas` writes the result; test/gas/snapshot.test.ts compares against it and
 * checks that no external function of the generated ABIs is missing from it.
 */
import { keccak256, parseUnits, toHex, type Address, type Hex } from "viem";
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { deployProtocol } from "./deployProtocol.ts";
import { GasRecorder, type GasSnapshot } from "./gas.ts";

const E18 = 10n ** 18n;

/** Contracts whose every external state-changing function must appear in the snapshot. */
export const MEASURED_CONTRACTS = ["TestToken", "ModelRegistry", "Staking", "NodeRegistry"] as const;

export async function runGasScenario(viem: HardhatViemHelpers): Promise<GasSnapshot> {
  const publicClient = await viem.getPublicClient();
  const testClient = await viem.getTestClient();
  const rec = new GasRecorder(publicClient as never);
  const wallets = await viem.getWalletClients();
  const [admin, node, validator, requester, other, v2] = wallets;
  if (!admin || !node || !validator || !requester || !other || !v2) throw new Error("need 6 accounts");
  const { addresses } = await deployProtocol(viem);
  const token = await viem.getContractAt("TestToken", addresses.TestToken);
  const models = await viem.getContractAt("ModelRegistry", addresses.ModelRegistry);
  const staking = await viem.getContractAt("Staking", addresses.Staking);
  const nodes = await viem.getContractAt("NodeRegistry", addresses.NodeRegistry);
  const as = (w: (typeof wallets)[number]) => ({ account: w.account });
  const advance = async (seconds: number): Promise<void> => {
    await testClient.increaseTime({ seconds });
    await testClient.mine({ blocks: 1 });
  };

  // ---- TestToken
  const big = 100_000n * E18;
  await rec.record(
    "TestToken.faucet",
    await token.write.faucet([node.account.address, big]),
    "first mint to an empty account",
  );
  for (const w of [validator, requester, other, v2]) await token.write.faucet([w.account.address, big]);
  await rec.record("TestToken.approve", await token.write.approve([addresses.Staking, big], as(node)));
  await rec.record(
    "TestToken.transfer",
    await token.write.transfer([other.account.address, E18], as(node)),
    "to a funded account",
  );
  await token.write.approve([admin.account.address, big], as(requester));
  await rec.record(
    "TestToken.transferFrom",
    await token.write.transferFrom([requester.account.address, other.account.address, E18]),
    "finite allowance",
  );
  {
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 86_400 * 365);
    const nonce = await token.read.nonces([other.account.address]);
    const chainId = await publicClient.getChainId();
    const signature = await other.signTypedData({
      domain: { name: "LLMarket Test Token", version: "1", chainId, verifyingContract: addresses.TestToken },
      types: {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      message: { owner: other.account.address, spender: addresses.Staking, value: big, nonce, deadline },
    });
    const r = `0x${signature.slice(2, 66)}` as Hex;
    const s = `0x${signature.slice(66, 130)}` as Hex;
    const v = Number(`0x${signature.slice(130, 132)}`);
    await rec.record(
      "TestToken.permit",
      await token.write.permit([other.account.address, addresses.Staking, big, deadline, v, r, s]),
    );
  }

  // ---- ModelRegistry
  const modelId = keccak256(toHex("gas model"));
  const meta = {
    family: "llama",
    parameterCount: 134_000_000n,
    quantization: 2,
    contextLength: 2048,
    minMemoryMb: 512,
    defaultProfileHash: keccak256(toHex("profile")),
  };
  await rec.record(
    "ModelRegistry.registerModel",
    await models.write.registerModel([modelId, "https://models.example/tiny.gguf", meta, 1000n]),
    "37-byte URI, 5-byte family",
  );
  const model2 = keccak256(toHex("gas model 2"));
  await models.write.registerModel([model2, "file://m2.gguf", meta, 0n]);
  await rec.record(
    "ModelRegistry.setModelUri",
    await models.write.setModelUri([modelId, "https://models.example/tiny-v2.gguf"]),
  );
  await rec.record(
    "ModelRegistry.transferModelOwnership",
    await models.write.transferModelOwnership([model2, other.account.address]),
  );
  await rec.record("ModelRegistry.acceptModelOwnership", await models.write.acceptModelOwnership([model2], as(other)));
  const model3 = keccak256(toHex("gas model 3"));
  await models.write.registerModel([model3, "file://m3.gguf", meta, 0n]);
  await rec.record("ModelRegistry.deprecateModel", await models.write.deprecateModel([model3]));
  await rec.record("ModelRegistry.setMaxRoyaltyPerToken", await models.write.setMaxRoyaltyPerToken([2n * 10n ** 15n]));

  // ---- Staking
  const stakeAmount = 10_000n * E18;
  await rec.record("Staking.stake", await staking.write.stake([stakeAmount], as(node)), "first stake");
  for (const w of [validator, v2, requester]) {
    await token.write.approve([addresses.Staking, big], as(w));
    await staking.write.stake([stakeAmount], as(w));
  }
  await rec.record(
    "Staking.declareValidator",
    await staking.write.declareValidator([[modelId]], as(validator)),
    "one model, first validator of the model",
  );
  await staking.write.declareValidator([[modelId]], as(v2));
  await rec.record("Staking.undeclareModel", await staking.write.undeclareModel([modelId], as(v2)));
  await staking.write.declareValidator([[modelId, model2]], as(v2));
  await rec.record(
    "Staking.refreshValidator",
    await staking.write.refreshValidator([v2.account.address]),
    "two models",
  );
  const lockerRole = await staking.read.LOCKER_ROLE();
  const slasherRole = await staking.read.SLASHER_ROLE();
  await staking.write.grantRole([lockerRole, admin.account.address]);
  await staking.write.grantRole([slasherRole, admin.account.address]);
  await rec.record("Staking.lock", await staking.write.lock([node.account.address, 1000n * E18]), "node, no sortition");
  await rec.record("Staking.unlock", await staking.write.unlock([node.account.address, 400n * E18]));
  await rec.record(
    "Staking.slash",
    await staking.write.slash([node.account.address, 300n * E18, [validator.account.address], [1000n]]),
    "from locked stake, one beneficiary, rest burned",
  );
  await rec.record("Staking.withdrawCredits", await staking.write.withdrawCredits(as(validator)));
  await rec.record("Staking.requestUnstake", await staking.write.requestUnstake([1000n * E18], as(requester)));
  await rec.record("Staking.setUnbondingPeriod", await staking.write.setUnbondingPeriod([8n * 86_400n]));
  await rec.record("Staking.setMinValidatorStake", await staking.write.setMinValidatorStake([1_500n * E18]));
  await advance(8 * 86_400 + 1);
  await rec.record("Staking.withdrawUnbonded", await staking.write.withdrawUnbonded(as(requester)));

  // ---- NodeRegistry
  const cap = {
    modelId,
    quantization: 2,
    maxBatch: 4,
    maxTokens: 512,
    latencySlaMs: 500,
    pricePerToken: 10n ** 13n,
  };
  await rec.record(
    "NodeRegistry.register",
    await nodes.write.register(["http://127.0.0.1:8700", node.account.address, [cap]], as(node)),
    "one capability, 21-byte endpoint",
  );
  await rec.record(
    "NodeRegistry.updateEndpoint",
    await nodes.write.updateEndpoint(["http://127.0.0.1:8701"], as(node)),
  );
  await rec.record("NodeRegistry.updateSigner", await nodes.write.updateSigner([other.account.address], as(node)));
  await rec.record(
    "NodeRegistry.setCapability",
    await nodes.write.setCapability([{ ...cap, modelId: model2 }], as(node)),
    "new model",
  );
  await rec.record("NodeRegistry.removeCapability", await nodes.write.removeCapability([model2], as(node)));
  const repRole = await nodes.read.REPUTATION_ROLE();
  await nodes.write.grantRole([repRole, admin.account.address]);
  await rec.record(
    "NodeRegistry.recordOutcome",
    await nodes.write.recordOutcome([node.account.address, E18, 100n * E18]),
    "first event of the node",
  );
  await rec.record("NodeRegistry.setMinNodeStake", await nodes.write.setMinNodeStake([2_000n * E18]));
  await rec.record("NodeRegistry.setReputationHalfLife", await nodes.write.setReputationHalfLife([20n * 86_400n]));
  await rec.record("NodeRegistry.setReputationMemoryWeight", await nodes.write.setReputationMemoryWeight([200n * E18]));
  await rec.record("NodeRegistry.setStakeTier", await nodes.write.setStakeTier([0n, 75n * 10n ** 16n, 8_000n]));
  await staking.write.unlock([node.account.address, 10n ** 30n]);
  await rec.record("NodeRegistry.deregister", await nodes.write.deregister(as(node)));

  // ---- inherited administration, on every ProtocolAccess contract
  for (const name of ["ModelRegistry", "Staking", "NodeRegistry"] as const) {
    const c = await viem.getContractAt("ProtocolAccess", addresses[name]);
    const pauser = await c.read.PAUSER_ROLE();
    await rec.record(`${name}.pause`, await c.write.pause());
    await rec.record(`${name}.unpause`, await c.write.unpause());
    await rec.record(`${name}.grantRole`, await c.write.grantRole([pauser, other.account.address]));
    await rec.record(`${name}.revokeRole`, await c.write.revokeRole([pauser, other.account.address]));
    await c.write.grantRole([pauser, other.account.address]);
    await rec.record(`${name}.renounceRole`, await c.write.renounceRole([pauser, other.account.address], as(other)));
    await rec.record(`${name}.changeDefaultAdminDelay`, await c.write.changeDefaultAdminDelay([3 * 86_400]));
    await rec.record(`${name}.rollbackDefaultAdminDelay`, await c.write.rollbackDefaultAdminDelay());
    await rec.record(
      `${name}.beginDefaultAdminTransfer`,
      await c.write.beginDefaultAdminTransfer([other.account.address as Address]),
    );
    await rec.record(`${name}.cancelDefaultAdminTransfer`, await c.write.cancelDefaultAdminTransfer());
    await c.write.beginDefaultAdminTransfer([other.account.address]);
    await advance(2 * 86_400 + 1);
    await rec.record(`${name}.acceptDefaultAdminTransfer`, await c.write.acceptDefaultAdminTransfer(as(other)));
  }
  return rec.snapshot();
}
