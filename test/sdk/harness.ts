/**
 * A real chain for the SDK tests: `hardhat node` (scripts/lib/localChain.ts), the protocol deployed
 * with DEMO_PARAMS, the deployments file in a temp dir, a registered model, nodes staked and
 * registered at given endpoints, and a funded requester. Keys are Hardhat's development accounts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { keccak256, parseUnits, toHex, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { writeDeployment } from "../../agents/lib/deployments.ts";
import { ZERO32 } from "../../agents/lib/encodings.ts";
import { DEMO_PARAMS, deployProtocol } from "../../scripts/lib/deployProtocol.ts";
import { startLocalChain, freePort } from "../../scripts/lib/localChain.ts";

export const MNEMONIC = "test test test test test test test test test test test junk";
export function devKey(index: number): Hex {
  const hd = mnemonicToAccount(MNEMONIC, { addressIndex: index }).getHdKey();
  return toHex(hd.privateKey!);
}
export const MODEL: Hex = keccak256(toHex("sdk-test-model.gguf"));
export const PROFILE: Hex = keccak256(toHex("sdk-test-profile"));
export const PRICE = parseUnits("0.001", 18);

export async function chainHarness() {
  const chain = await startLocalChain();
  const conn = await network.create({ network: "localhost", override: { url: chain.url } });
  const viem = conn.viem;
  const publicClient = await viem.getPublicClient();
  const testClient = await viem.getTestClient();
  const deployed = await deployProtocol(viem, { params: DEMO_PARAMS });
  const a = deployed.addresses;
  const dir = mkdtempSync(join(tmpdir(), "llmarket-sdk-"));
  const deploymentPath = writeDeployment(deployed.deployment, dir);
  const c = {
    token: await viem.getContractAt("TestToken", a.TestToken),
    models: await viem.getContractAt("ModelRegistry", a.ModelRegistry),
    staking: await viem.getContractAt("Staking", a.Staking),
    nodes: await viem.getContractAt("NodeRegistry", a.NodeRegistry),
    escrow: await viem.getContractAt("PairEscrow", a.PairEscrow),
    market: await viem.getContractAt("AuctionMarket", a.AuctionMarket),
  };
  const wait = async (hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return r;
  };
  await wait(
    await c.models.write.registerModel([
      MODEL,
      "file://sdk-test-model.gguf",
      {
        family: "llama",
        parameterCount: 1_000_000n,
        quantization: 7,
        contextLength: 2048,
        minMemoryMb: 64,
        defaultProfileHash: ZERO32,
      },
      0n,
    ]),
  );
  const fund = async (who: Address, amount: bigint) => wait(await c.token.write.faucet([who, amount]));
  const wallets = await viem.getWalletClients();

  /** Stakes and registers dev account `index` as a node at `endpoint`. */
  const registerNode = async (index: number, endpoint: string, price = PRICE): Promise<Address> => {
    const w = wallets[index]!;
    const stake = parseUnits("20000", 18);
    await fund(w.account.address, stake);
    await wait(await c.token.write.approve([a.Staking, stake], { account: w.account }));
    await wait(await c.staking.write.stake([stake], { account: w.account }));
    await wait(
      await c.nodes.write.register(
        [
          endpoint,
          w.account.address,
          [{ modelId: MODEL, quantization: 7, maxBatch: 4, maxTokens: 4096, latencySlaMs: 500, pricePerToken: price }],
        ],
        { account: w.account },
      ),
    );
    return w.account.address;
  };
  return {
    chain,
    conn,
    viem,
    publicClient,
    testClient,
    deployed,
    deploymentPath,
    dir,
    c,
    wait,
    fund,
    wallets,
    registerNode,
    freePort,
    chainId: deployed.deployment.chainId,
    cleanup: async () => {
      await conn.close();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type ChainHarness = Awaited<ReturnType<typeof chainHarness>>;
