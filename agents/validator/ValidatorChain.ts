/**
 * The validator's view of the chain: clients, the protocol's contracts (addresses from the
 * deployments file; the committee is the ChallengeGame's resolver when it is one), a chain clock
 * and a transaction sender that simulates first (so a revert is an error with its reason, and no
 * gas is spent on it) and sends one transaction at a time.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  getContract,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  batchSettlementAbi,
  challengeGameAbi,
  committeeAbi,
  nodeRegistryAbi,
  stakingAbi,
  testTokenAbi,
  validatorRewardsAbi,
} from "../lib/generated/abis.ts";
import { contractAddress, readDeployment, type Deployment } from "../lib/deployments.ts";
import { LLMarketError } from "../lib/errors.ts";

/** A transaction the validator needed reverted or failed. */
export class ChainTxError extends LLMarketError {
  readonly errorName: string | null;
  constructor(
    message: string,
    errorName: string | null,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options);
    this.errorName = errorName;
  }
}

export type TxRequest = { address: Address; abi: Abi; functionName: string; args: readonly unknown[] };

export async function connectChain(rpcUrl: string, key: Hex, deploymentsPath?: string, pollMs = 500) {
  const transport = http(rpcUrl, { retryCount: 2 });
  const probe = createPublicClient({ transport });
  let chainId: number;
  try {
    chainId = await probe.getChainId();
  } catch (cause) {
    throw new LLMarketError(`Cannot reach the chain at ${rpcUrl}: start it (npx hardhat node) or pass --rpc-url.`, {
      cause,
    });
  }
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: Math.min(pollMs, 250) }) as PublicClient;
  const account: PrivateKeyAccount = privateKeyToAccount(key);
  const wallet = createWalletClient({ chain, transport, account });
  const deployment: Deployment = readDeployment(deploymentsPath ?? chainId);
  if (deployment.chainId !== chainId) {
    throw new LLMarketError(
      `The deployments file is for chain ${deployment.chainId} but ${rpcUrl} is chain ${chainId}: pass the right --deployments.`,
    );
  }
  const client = { public: publicClient, wallet };
  const c = {
    token: getContract({ address: deployment.token.address, abi: testTokenAbi, client }),
    staking: getContract({ address: contractAddress(deployment, "Staking"), abi: stakingAbi, client }),
    nodes: getContract({ address: contractAddress(deployment, "NodeRegistry"), abi: nodeRegistryAbi, client }),
    settlement: getContract({
      address: contractAddress(deployment, "BatchSettlement"),
      abi: batchSettlementAbi,
      client,
    }),
    game: getContract({ address: contractAddress(deployment, "ChallengeGame"), abi: challengeGameAbi, client }),
  };
  // The committee: the deployment's entry, else the game's resolver if it answers as a committee.
  const committeeAddress = (deployment.contracts.Committee?.address ?? (await c.game.read.resolver())) as Address;
  const candidate = getContract({ address: committeeAddress, abi: committeeAbi, client });
  let isCommittee = false;
  if (committeeAddress !== "0x0000000000000000000000000000000000000000") {
    try {
      await candidate.read.params();
      isCommittee = true;
    } catch {
      isCommittee = false; // a resolver that is not a committee (e.g. TestDisputeResolver): no committee duty
    }
  }
  const committee = isCommittee ? candidate : null;
  const rewardsAddress = deployment.contracts.ValidatorRewards?.address as Address | undefined;
  const rewards = rewardsAddress ? getContract({ address: rewardsAddress, abi: validatorRewardsAbi, client }) : null;

  // Chain clock: the latest block's timestamp plus the wall-clock time since it was first seen
  // (an idle dev chain mines no blocks; its next block still gets the current time).
  let seen = { number: -1n, timestamp: 0n, wall: 0 };
  const latest = async (): Promise<{ number: bigint; timestamp: bigint }> => {
    const b = await publicClient.getBlock({ blockTag: "latest" });
    if (b.number !== seen.number) seen = { number: b.number, timestamp: b.timestamp, wall: Date.now() };
    return { number: b.number, timestamp: b.timestamp };
  };
  const now = async (): Promise<bigint> => {
    const b = await latest();
    const est = seen.timestamp + BigInt(Math.floor((Date.now() - seen.wall) / 1000));
    return est > b.timestamp ? est : b.timestamp;
  };

  // Errors of every contract a call may revert in (nested calls), so reverts decode by name.
  const errorAbi = [batchSettlementAbi, challengeGameAbi, committeeAbi, stakingAbi, testTokenAbi]
    .flat()
    .filter((x) => x.type === "error") as Abi;
  let queue: Promise<unknown> = Promise.resolve();
  /** Simulates, sends and waits for one transaction; transactions never overlap. */
  const send = (req: TxRequest): Promise<Hex> => {
    const run = async (): Promise<Hex> => {
      try {
        const { request } = await publicClient.simulateContract({
          ...req,
          abi: [...req.abi, ...errorAbi],
          account,
        } as never);
        // Headroom over the estimate: another account's transaction mined first can make this one
        // dearer (declareValidator grows the sortition tree other validators are also growing).
        const gas = await publicClient.estimateContractGas(request as never);
        const hash = await wallet.writeContract({ ...(request as object), gas: gas + gas / 4n } as never);
        const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
        if (receipt.status !== "success") throw new ChainTxError(`${req.functionName} reverted in ${hash}`, null);
        return hash;
      } catch (e) {
        if (e instanceof ChainTxError) throw e;
        let name: string | null = null;
        if (e instanceof BaseError) {
          const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
          if (revert instanceof ContractFunctionRevertedError) name = revert.data?.errorName ?? null;
        }
        const short = e instanceof BaseError ? e.shortMessage : String(e);
        throw new ChainTxError(`${req.functionName} failed: ${name ?? short}`, name, { cause: e });
      }
    };
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  };

  return { chainId, rpcUrl, publicClient, wallet, account, deployment, c, committee, rewards, latest, now, send };
}
export type ValidatorChain = Awaited<ReturnType<typeof connectChain>>;
