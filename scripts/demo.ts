/**
 * `npm run demo`: the main job. Today it starts Hardhat's in-process chain, deploys the protocol,
 * registers a model, stakes and registers a node and a validator, and prints what it did.
 * Later issues grow it into the full market demo (docs/roadmap in README).
 */
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { keccak256, parseUnits, toHex, formatUnits } from "viem";
import { deployProtocol } from "./lib/deployProtocol.ts";

const { values } = parseArgs({ options: { help: { type: "boolean", short: "h", default: false } } });
if (values.help) {
  console.log(`Usage: npm run demo

Starts Hardhat's in-process chain, deploys LLMarket's contracts (TestToken, ModelRegistry,
Staking, NodeRegistry), registers a model, stakes and registers one node and one validator,
and prints addresses and state. Needs nothing but \`npm install\`.`);
  process.exit(0);
}

const t0 = Date.now();
const step = (msg: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

step("starting the in-process chain");
const { viem } = await network.create();
const { addresses, deployment } = await deployProtocol(viem, { log: step });
const [admin, node, validator] = await viem.getWalletClients();
if (!admin || !node || !validator) throw new Error("the in-process chain needs three accounts");
const publicClient = await viem.getPublicClient();

const token = await viem.getContractAt("TestToken", addresses.TestToken);
const models = await viem.getContractAt("ModelRegistry", addresses.ModelRegistry);
const staking = await viem.getContractAt("Staking", addresses.Staking);
const nodes = await viem.getContractAt("NodeRegistry", addresses.NodeRegistry);

const wait = async (hash: `0x${string}`): Promise<void> => {
  const r = await publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
};

step("registering a model");
const modelId = keccak256(
  toHex("demo model placeholder: the runtime issue replaces this with a generated GGUF's sha256"),
);
await wait(
  await models.write.registerModel([
    modelId,
    "file://models/demo.gguf",
    {
      family: "llama",
      parameterCount: 134_000_000n,
      quantization: 2,
      contextLength: 2048,
      minMemoryMb: 512,
      defaultProfileHash: keccak256(toHex("profile")),
    },
    parseUnits("0.000001", 18),
  ]),
);

const stakeAmount = parseUnits("5000", 18);
for (const [who, label] of [
  [node, "node"],
  [validator, "validator"],
] as const) {
  step(`funding and staking the ${label} (${formatUnits(stakeAmount, 18)} LLMT)`);
  await wait(await token.write.faucet([who.account.address, stakeAmount]));
  await wait(await token.write.approve([addresses.Staking, stakeAmount], { account: who.account }));
  await wait(await staking.write.stake([stakeAmount], { account: who.account }));
}
step("registering the node");
await wait(
  await nodes.write.register(
    [
      "http://127.0.0.1:8700",
      node.account.address,
      [
        {
          modelId,
          quantization: 2,
          maxBatch: 4,
          maxTokens: 512,
          latencySlaMs: 500,
          pricePerToken: parseUnits("0.00001", 18),
        },
      ],
    ],
    { account: node.account },
  ),
);
step("declaring the validator");
await wait(await staking.write.declareValidator([[modelId]], { account: validator.account }));

console.log("\nDeployment (chain %d, block %d):", deployment.chainId, deployment.deployBlock);
for (const [name, c] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(14)} ${c.address}`);
console.log(`\nmodel ${modelId}`);
console.log(
  `node ${node.account.address}: reputation ${formatUnits(await nodes.read.reputationOf([node.account.address]), 18)}`,
);
console.log(
  `validator weight for the model: ${formatUnits(await staking.read.validatorWeight([modelId, validator.account.address]), 18)} LLMT`,
);
step("done");
