/**
 * `npm run register-node -- --endpoint <url> --model <id>:<priceWei> [--stake <tokens>]`: stakes
 * (up to the required minimum, or --stake) and registers the network account as a node with one
 * capability per --model. Idempotent: a registered node is only topped up to the required stake.
 */
import { parseArgs } from "node:util";
import { parseUnits, type Address, type Hex } from "viem";
import { ConfigError } from "../agents/lib/errors.ts";
import { modelId } from "../agents/lib/encodings.ts";
import { NETWORK_HELP, NETWORK_OPTIONS, connect, deploymentFor, runScript } from "./lib/scriptNetwork.ts";

const { values } = parseArgs({
  options: {
    ...NETWORK_OPTIONS,
    endpoint: { type: "string" },
    model: { type: "string", multiple: true },
    stake: { type: "string" },
    signer: { type: "string" },
    account: { type: "string", default: "0" },
    "max-tokens": { type: "string", default: "4096" },
    "latency-ms": { type: "string", default: "1000" },
  },
});
if (values.help || !values.endpoint || !values.model?.length) {
  console.log(`Usage: npm run register-node -- --endpoint <url> --model <id>:<priceWei> [options]

Stakes and registers a node (the network's account number --account) with its endpoint and one
capability per --model (the model must be registered). Idempotent: when the node is registered,
it only tops its stake up to the required minimum.

  --endpoint <url>     the node agent's public URL (required)
  --model <id>:<wei>   registered model id and price per token in wei (repeatable, required)
  --stake <tokens>     stake to hold (default: the required minimum for the node's reputation)
  --signer <address>   receipt signing key (default: the node's own address)
  --account <n>        index of the network account to use (default 0)
  --max-tokens <n>     capability maxTokens (default 4096)
  --latency-ms <n>     advertised latency SLA (default 1000)
${NETWORK_HELP}`);
  process.exit(values.help ? 0 : 2);
}

runScript(async () => {
  const c = await connect(values);
  const wallets = await c.viem.getWalletClients();
  const wallet = wallets[Number(values.account)];
  if (!wallet) throw new ConfigError(`No account number ${values.account} on this network (it has ${wallets.length}).`);
  const me = wallet.account.address;
  const d = deploymentFor(c, values.deployments);
  const pub = await c.viem.getPublicClient();
  const at = (name: string): Address => {
    const x = d.contracts[name];
    if (!x) throw new ConfigError(`The deployment has no ${name}; redeploy.`);
    return x.address;
  };
  const token = await c.viem.getContractAt("TestToken", d.token.address);
  const staking = await c.viem.getContractAt("Staking", at("Staking"));
  const nodes = await c.viem.getContractAt("NodeRegistry", at("NodeRegistry"));
  const models = await c.viem.getContractAt("ModelRegistry", at("ModelRegistry"));
  const wait = async (hash: Hex) => {
    const r = await pub.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
  };
  const caps = [];
  for (const m of values.model!) {
    const [id, price] = m.split(":");
    if (!id || !price || !/^\d+$/.test(price)) throw new ConfigError(`--model must be <id>:<priceWei>, got "${m}"`);
    const mid = modelId(id);
    const info = await models.read.getModel([mid]).catch(() => null); // reverts for unknown ids
    if (!info || info.registeredAt === 0n)
      throw new ConfigError(`Model ${mid} is not registered: run npm run register-model first.`);
    caps.push({
      modelId: mid,
      quantization: info.metadata.quantization,
      maxBatch: 1,
      maxTokens: Number(values["max-tokens"]),
      latencySlaMs: Number(values["latency-ms"]),
      pricePerToken: BigInt(price),
    });
  }
  const required = values.stake ? parseUnits(values.stake, 18) : await nodes.read.requiredStake([me]);
  const active = await staking.read.activeStakeOf([me]);
  if (active < required) {
    const need = required - active;
    const balance = await token.read.balanceOf([me]);
    if (balance < need)
      throw new ConfigError(
        `${me} needs ${need} more token wei to stake (it has ${balance}); fund it first (npm run fund on dev chains).`,
      );
    await wait(await token.write.approve([at("Staking"), need], { account: wallet.account }));
    await wait(await staking.write.stake([need], { account: wallet.account }));
    console.log(`staked ${need} wei (now ${active + need})`);
  }
  if (await nodes.read.isRegistered([me])) {
    console.log(`node ${me} is already registered; stake is ${active >= required ? "sufficient" : "topped up"}`);
    return;
  }
  await wait(
    await nodes.write.register([values.endpoint!, (values.signer as Address | undefined) ?? me, caps], {
      account: wallet.account,
    }),
  );
  console.log(`registered node ${me} at ${values.endpoint} for ${caps.length} model(s)`);
});
