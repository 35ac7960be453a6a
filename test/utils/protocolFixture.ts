/**
 * A deployed protocol on a Hardhat chain (in-process by default) with a registered model, a
 * staked and registered node, staked validators and funded requesters with escrow for the node.
 * Shared by the TypeScript scenario tests.
 */
import { network } from "hardhat";
import { keccak256, parseUnits, toHex, type Address, type Hex } from "viem";
import { ZERO32 } from "../../agents/lib/encodings.ts";
import {
  DEMO_PARAMS,
  deployProtocol,
  type DeployedProtocol,
  type ProtocolParams,
} from "../../scripts/lib/deployProtocol.ts";

export type Viem = Awaited<ReturnType<typeof network.create>>["viem"];
export const MODEL: Hex = keccak256(toHex("fixture-model.gguf"));
export const Q8_0 = 7;
export const PRICE = parseUnits("0.001", 18);

export async function protocolFixture(
  options: {
    params?: Partial<ProtocolParams>;
    requesters?: number;
    validators?: number;
    connection?: Awaited<ReturnType<typeof network.create>>;
  } = {},
) {
  const conn = options.connection ?? (await network.create());
  const viem = conn.viem;
  const publicClient = await viem.getPublicClient();
  const testClient = await viem.getTestClient();
  const wallets = await viem.getWalletClients();
  const deployed: DeployedProtocol = await deployProtocol(viem, { params: { ...DEMO_PARAMS, ...options.params } });
  const a = deployed.addresses;
  const c = {
    token: await viem.getContractAt("TestToken", a.TestToken),
    models: await viem.getContractAt("ModelRegistry", a.ModelRegistry),
    staking: await viem.getContractAt("Staking", a.Staking),
    nodes: await viem.getContractAt("NodeRegistry", a.NodeRegistry),
    escrow: await viem.getContractAt("PairEscrow", a.PairEscrow),
    market: await viem.getContractAt("AuctionMarket", a.AuctionMarket),
    settlement: await viem.getContractAt("BatchSettlement", a.BatchSettlement),
    game: await viem.getContractAt("ChallengeGame", a.ChallengeGame),
  };
  const wait = async (hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return r;
  };
  const [admin, node, ...rest] = wallets;
  if (!admin || !node) throw new Error("need accounts");
  const nValidators = options.validators ?? 1;
  const nRequesters = options.requesters ?? 2;
  const validators = rest.slice(0, nValidators);
  const requesters = rest.slice(nValidators, nValidators + nRequesters);

  await wait(
    await c.models.write.registerModel([
      MODEL,
      "file://fixture-model.gguf",
      {
        family: "llama",
        parameterCount: 1_000_000n,
        quantization: Q8_0,
        contextLength: 2048,
        minMemoryMb: 64,
        defaultProfileHash: ZERO32,
      },
      parseUnits("0.0001", 18),
    ]),
  );
  const fund = async (who: Address, amount: bigint) => wait(await c.token.write.faucet([who, amount]));
  const stake = parseUnits("20000", 18);
  await fund(node.account.address, stake);
  await wait(await c.token.write.approve([a.Staking, stake], { account: node.account }));
  await wait(await c.staking.write.stake([stake], { account: node.account }));
  await wait(
    await c.nodes.write.register(
      [
        "http://127.0.0.1:1",
        node.account.address,
        [{ modelId: MODEL, quantization: Q8_0, maxBatch: 4, maxTokens: 4096, latencySlaMs: 500, pricePerToken: PRICE }],
      ],
      { account: node.account },
    ),
  );
  for (const v of validators) {
    const amount = parseUnits("5000", 18);
    await fund(v.account.address, amount + parseUnits("1000", 18));
    await wait(await c.token.write.approve([a.Staking, amount], { account: v.account }));
    await wait(await c.staking.write.stake([amount], { account: v.account }));
    await wait(await c.staking.write.declareValidator([[MODEL]], { account: v.account }));
    await wait(await c.token.write.approve([a.ChallengeGame, 2n ** 255n], { account: v.account }));
  }
  for (const r of requesters) {
    const amount = parseUnits("100000", 18);
    await fund(r.account.address, amount);
    await wait(await c.token.write.approve([a.PairEscrow, 2n ** 255n], { account: r.account }));
    await wait(await c.token.write.approve([a.AuctionMarket, 2n ** 255n], { account: r.account }));
    await wait(await c.escrow.write.deposit([node.account.address, parseUnits("50000", 18)], { account: r.account }));
  }
  const now = async (): Promise<bigint> => (await publicClient.getBlock()).timestamp;
  const advance = async (seconds: bigint | number): Promise<void> => {
    await testClient.increaseTime({ seconds: Number(seconds) });
    await testClient.mine({ blocks: 1 });
  };
  const chainId = await publicClient.getChainId();
  return {
    conn,
    viem,
    publicClient,
    testClient,
    wallets,
    admin,
    node,
    validators,
    requesters,
    deployed,
    c,
    wait,
    now,
    advance,
    chainId,
  };
}
export type ProtocolFixture = Awaited<ReturnType<typeof protocolFixture>>;
