/**
 * The node's view of the chain: viem clients for the node's key, typed contracts from the
 * generated ABIs and the deployments file, one serialized transaction queue (so nonces never
 * collide), chain time and a cached escrow view per pair.
 */
import {
  createPublicClient,
  createWalletClient,
  getContract,
  http,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { contractAddress, type Deployment } from "../lib/deployments.ts";
import { LLMarketError } from "../lib/errors.ts";
import {
  auctionMarketAbi,
  batchSettlementAbi,
  challengeGameAbi,
  committeeAbi,
  modelRegistryAbi,
  nodeRegistryAbi,
  pairEscrowAbi,
  stakingAbi,
  testTokenAbi,
} from "../lib/generated/abis.ts";
import type { SigningDomain } from "../lib/tickets.ts";

/** A transaction reverted or could not be sent; `details.call` names it. */
export class ChainTxError extends LLMarketError {}

function chainOf(rpcUrl: string, chainId: number) {
  return {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  } as const;
}

function makeWallet(rpcUrl: string, chainId: number, account: PrivateKeyAccount) {
  return createWalletClient({
    chain: chainOf(rpcUrl, chainId),
    transport: http(rpcUrl, { retryCount: 2, timeout: 30_000 }),
    account,
  });
}

function makeContracts(deployment: Deployment, publicClient: PublicClient, wallet: ReturnType<typeof makeWallet>) {
  const client = { public: publicClient, wallet };
  const at = (name: Parameters<typeof contractAddress>[1]) => contractAddress(deployment, name);
  return {
    token: getContract({ address: at("TestToken"), abi: testTokenAbi, client }),
    models: getContract({ address: at("ModelRegistry"), abi: modelRegistryAbi, client }),
    staking: getContract({ address: at("Staking"), abi: stakingAbi, client }),
    nodes: getContract({ address: at("NodeRegistry"), abi: nodeRegistryAbi, client }),
    escrow: getContract({ address: at("PairEscrow"), abi: pairEscrowAbi, client }),
    market: getContract({ address: at("AuctionMarket"), abi: auctionMarketAbi, client }),
    settlement: getContract({ address: at("BatchSettlement"), abi: batchSettlementAbi, client }),
    game: getContract({ address: at("ChallengeGame"), abi: challengeGameAbi, client }),
    committee: getContract({ address: at("Committee"), abi: committeeAbi, client }),
  };
}

export class NodeChain {
  readonly account: PrivateKeyAccount;
  readonly deployment: Deployment;
  readonly chainId: number;
  readonly publicClient: PublicClient;
  readonly walletClient: ReturnType<typeof makeWallet>;
  readonly c: ReturnType<typeof makeContracts>;
  readonly escrowDomain: SigningDomain;
  readonly gameDomain: SigningDomain;
  #txQueue: Promise<unknown> = Promise.resolve();
  #latestTs = 0n;
  #latestBlock = -1n;
  #offset = 0;
  #clock: NodeJS.Timeout | undefined;
  readonly #pairCache = new Map<string, { at: number; balance: bigint; thawing: bigint }>();
  readonly #pairReads = new Map<string, Promise<{ at: number; balance: bigint; thawing: bigint }>>();
  #pairGeneration = 0;

  constructor(rpcUrl: string, account: PrivateKeyAccount, deployment: Deployment) {
    this.account = account;
    this.deployment = deployment;
    this.chainId = deployment.chainId;
    this.publicClient = createPublicClient({
      chain: chainOf(rpcUrl, deployment.chainId),
      transport: http(rpcUrl, { retryCount: 2, timeout: 30_000 }),
      pollingInterval: 100,
    }) as PublicClient;
    this.walletClient = makeWallet(rpcUrl, deployment.chainId, account);
    this.c = makeContracts(deployment, this.publicClient, this.walletClient);
    const at = (name: Parameters<typeof contractAddress>[1]) => contractAddress(deployment, name);
    this.escrowDomain = { chainId: this.chainId, verifyingContract: at("PairEscrow") };
    this.gameDomain = { chainId: this.chainId, verifyingContract: at("ChallengeGame") };
  }

  get address(): Address {
    return this.account.address;
  }

  get isDevChain(): boolean {
    return this.chainId === 31337 || this.chainId === 1337;
  }

  /** Refreshes the latest block and the chain clock's offset from the wall clock. */
  async refreshTime(): Promise<bigint> {
    const b = await this.publicClient.getBlock({ blockTag: "latest" });
    if (b.number !== this.#latestBlock) {
      // A block we see for the first time was mined about now: its timestamp gives the chain's offset.
      this.#latestBlock = b.number;
      this.#offset = Number(b.timestamp) - Date.now() / 1000;
    }
    this.#latestTs = b.timestamp;
    return b.timestamp;
  }

  /** Refreshes the chain clock every `ms` until `stopClock()`, independently of the agent's loop. */
  startClock(ms: number): void {
    this.stopClock();
    this.#clock = setInterval(() => void this.refreshTime().catch(() => undefined), ms);
    this.#clock.unref();
  }

  stopClock(): void {
    if (this.#clock) clearInterval(this.#clock);
    this.#clock = undefined;
  }

  /**
   * Best estimate of the next block's timestamp: the latest block's, or the wall clock plus the
   * chain's observed offset (a dev chain whose time was advanced runs ahead of the wall clock).
   */
  now(): bigint {
    const est = BigInt(Math.floor(Date.now() / 1000 + Math.max(0, this.#offset)));
    return this.#latestTs > est ? this.#latestTs : est;
  }

  /**
   * Sends one contract write through the node's serialized queue and waits for its receipt; a
   * revert throws ChainTxError with the decoded reason. `onHash` is called (and awaited) with the
   * hash before waiting, so callers can persist it.
   */
  send(
    call: string,
    write: () => Promise<Hex>,
    onHash?: (hash: Hex) => void | Promise<void>,
  ): Promise<TransactionReceipt> {
    const run = async (): Promise<TransactionReceipt> => {
      let hash: Hex;
      try {
        hash = await write();
      } catch (cause) {
        throw new ChainTxError(`${call} failed: ${shortReason(cause)}`, { details: { call }, cause });
      }
      await onHash?.(hash);
      const receipt = await this.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      if (receipt.status !== "success") {
        throw new ChainTxError(`${call} reverted in ${hash}.`, { details: { call, hash } });
      }
      return receipt;
    };
    const p = this.#txQueue.then(run, run);
    this.#txQueue = p.catch(() => undefined);
    return p;
  }

  /**
   * Escrow balance and thawing amount of (requester, this node). A view younger than `maxAgeMs` is
   * used as is; an older one (up to `staleMs`) is used while a refresh runs in the background, so
   * a request never waits for the RPC once its pair is known; past `staleMs`, or after
   * `invalidatePairs()`, the caller waits for a fresh read.
   */
  async pair(requester: Address, maxAgeMs = 2000, staleMs = 15_000): Promise<{ balance: bigint; thawing: bigint }> {
    const key = requester.toLowerCase();
    const hit = this.#pairCache.get(key);
    if (hit) {
      const age = Date.now() - hit.at;
      if (age < maxAgeMs) return hit;
      if (age < staleMs) {
        void this.#readPair(requester, key).catch(() => undefined);
        return hit;
      }
    }
    return this.#readPair(requester, key);
  }

  #readPair(requester: Address, key: string): Promise<{ at: number; balance: bigint; thawing: bigint }> {
    const running = this.#pairReads.get(key);
    if (running) return running;
    const generation = this.#pairGeneration;
    const p: Promise<{ at: number; balance: bigint; thawing: bigint }> = Promise.all([
      this.c.escrow.read.pairOf([requester, this.address]),
      this.c.escrow.read.thawOf([requester, this.address]),
    ])
      .then(([pair, t]) => {
        const v = { at: Date.now(), balance: BigInt(pair.balance), thawing: BigInt((t as { amount: bigint }).amount) };
        // A read that started before invalidatePairs() may predate a settlement: do not keep it.
        if (generation === this.#pairGeneration) this.#pairCache.set(key, v);
        return v;
      })
      .finally(() => {
        if (this.#pairReads.get(key) === p) this.#pairReads.delete(key);
      });
    this.#pairReads.set(key, p);
    return p;
  }

  /** Forget cached escrow views (after a settlement moved money). */
  invalidatePairs(): void {
    this.#pairGeneration++;
    this.#pairReads.clear();
    this.#pairCache.clear();
  }
}

/** The decoded revert name (or first line) of a viem error. */
export function shortReason(e: unknown): string {
  const err = e as { shortMessage?: string; message?: string; cause?: unknown };
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur; i++) {
    const c = cur as { data?: { errorName?: string; args?: unknown[] }; cause?: unknown };
    if (c.data?.errorName) {
      return `${c.data.errorName}(${(c.data.args ?? []).map((a) => String(a)).join(", ")})`;
    }
    cur = c.cause;
  }
  return (err.shortMessage ?? err.message ?? String(e)).split("\n")[0]!;
}
