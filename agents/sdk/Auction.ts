/**
 * Auction jobs for a requester: post a job with its input as calldata (escrow = reserve x
 * maxTokens + fee), follow its phases, finalize it when the reveal phase is over (anyone may), and
 * return the verified result: the winner's output fetched from its `/v1/jobs/:jobId/output`,
 * whose token ids must hash (under the winner's profile for the model) to the delivery recorded
 * on-chain (`deliveryOf`). A job that expires undelivered is refunded (`claimRefund`).
 */
import { decodeEventLog, type Address, type Hex } from "viem";
import { auctionMarketAbi, nodeRegistryAbi, testTokenAbi } from "../lib/generated/abis.ts";
import { renderChat, type ChatMessage } from "../lib/chatTemplate.ts";
import { inputHash, outputHash } from "../lib/encodings.ts";
import { chainWrite } from "./chainWrite.ts";
import { AuctionError } from "./errors.ts";
import type { Market } from "./Market.ts";
import { NodeClient } from "./NodeClient.ts";

export const PHASES = ["None", "Commit", "Reveal", "AwaitingFinalize", "Delivery", "Done", "Expired"] as const;
export const STATUSES = ["Open", "Finalized", "Delivered", "Refunded", "NoBids", "Unreachable"] as const;
export type Phase = (typeof PHASES)[number];

export type AuctionRequest = {
  model: Hex;
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  stop?: string[];
  seed?: bigint;
  /** Highest acceptable price per token, token wei. */
  reservePricePerToken: bigint;
  /** Min bidder reputation, a fraction in [0, 1]. */
  minReputation?: number;
  commitSeconds?: number;
  revealSeconds?: number;
  /** Seconds after the reveal phase by which the winner must deliver. */
  deliverySeconds?: number;
};

export type PostedJob = { jobId: bigint; inputHash: Hex; prompt: string; escrow: bigint; hash: Hex };

export type JobView = {
  jobId: bigint;
  phase: Phase;
  status: (typeof STATUSES)[number];
  requester: Address;
  model: Hex;
  maxTokens: number;
  reservePricePerToken: bigint;
  commitEnd: number;
  revealEnd: number;
  deliveryDeadline: number;
  bidCount: number;
  best: Address;
};

export type AuctionResult = {
  jobId: bigint;
  winner: Address;
  pricePerToken: bigint;
  text: string;
  tokens: number[];
  outputHash: Hex;
};

export type AwaitOptions = {
  pollMs?: number;
  /** Give up (AuctionError) after this long; default 15 minutes. */
  timeoutMs?: number;
  /** Call finalize when the reveal phase is over. Default true. */
  finalize?: boolean;
  /** Claim the refund when the job expires undelivered. Default true. */
  refund?: boolean;
  onProgress?: (job: JobView) => void;
  signal?: AbortSignal;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Auction {
  readonly market: Market;
  constructor(market: Market) {
    this.market = market;
  }

  get #address(): Address {
    return this.market.address("AuctionMarket");
  }

  /** Posts a job with its input as calldata. */
  async post(req: AuctionRequest): Promise<PostedJob> {
    if (!req.messages === !req.prompt) throw new AuctionError("Give either chat messages or a prompt.");
    const prompt = req.messages ? renderChat(req.messages) : req.prompt!;
    const stop = req.stop ?? [];
    const seed = req.seed ?? 0n;
    const pub = this.market.publicClient;
    const now = Number((await pub.getBlock()).timestamp);
    const commit = req.commitSeconds ?? 30;
    const reveal = req.revealSeconds ?? 30;
    const params = {
      modelId: req.model,
      maxTokens: req.maxTokens,
      reservePricePerToken: req.reservePricePerToken,
      minReputation: BigInt(Math.round((req.minReputation ?? 0) * 1e6)) * 10n ** 12n,
      commitDuration: commit,
      revealDuration: reveal,
      deliveryDeadline: now + commit + reveal + (req.deliverySeconds ?? 300),
    };
    const worst = req.reservePricePerToken * BigInt(req.maxTokens);
    const hold = this.market.budget.hold(worst);
    try {
      await this.#approve(worst * 2n);
      const { hash, result } = await chainWrite(
        pub,
        this.market.wallet,
        { address: this.#address, abi: auctionMarketAbi, functionName: "postJob", args: [params, prompt, stop, seed] },
        "Check the reserve price, durations and your token balance.",
      );
      const receipt = await pub.getTransactionReceipt({ hash });
      let escrow = 0n;
      for (const log of receipt.logs) {
        try {
          const ev = decodeEventLog({ abi: auctionMarketAbi, data: log.data, topics: log.topics });
          if (ev.eventName === "JobPosted") escrow = ev.args.escrow;
        } catch {
          /* other events */
        }
      }
      this.market.budget.settle(hold, worst);
      return {
        jobId: result as bigint,
        inputHash: inputHash({ prompt, maxTokens: req.maxTokens, stop, seed }),
        prompt,
        escrow,
        hash,
      };
    } catch (e) {
      this.market.budget.release(hold);
      throw e;
    }
  }

  async #approve(amount: bigint): Promise<void> {
    const m = this.market;
    const token = m.deployment.token.address;
    const allowance = await m.publicClient.readContract({
      address: token,
      abi: testTokenAbi,
      functionName: "allowance",
      args: [m.requester, this.#address],
    });
    if (allowance >= amount) return;
    await chainWrite(m.publicClient, m.wallet, {
      address: token,
      abi: testTokenAbi,
      functionName: "approve",
      args: [this.#address, 2n ** 255n],
    });
  }

  /** The job as stored plus its computed phase. */
  async job(jobId: bigint): Promise<JobView> {
    const pub = this.market.publicClient;
    const [j, phase] = await Promise.all([
      pub.readContract({ address: this.#address, abi: auctionMarketAbi, functionName: "getJob", args: [jobId] }),
      pub.readContract({ address: this.#address, abi: auctionMarketAbi, functionName: "phase", args: [jobId] }),
    ]);
    if (phase === 0) throw new AuctionError(`No auction job ${jobId} exists.`, { details: { jobId } });
    return {
      jobId,
      phase: PHASES[phase] ?? "None",
      status: STATUSES[j.status] ?? "Open",
      requester: j.requester,
      model: j.modelId,
      maxTokens: j.maxTokens,
      reservePricePerToken: j.reservePricePerToken,
      commitEnd: j.commitEnd,
      revealEnd: j.revealEnd,
      deliveryDeadline: j.deliveryDeadline,
      bidCount: j.bidCount,
      best: j.best,
    };
  }

  /** Jobs posted by this requester (from JobPosted events). */
  async myJobs(fromBlock?: bigint): Promise<JobView[]> {
    const pub = this.market.publicClient;
    const logs = await pub.getContractEvents({
      address: this.#address,
      abi: auctionMarketAbi,
      eventName: "JobPosted",
      args: { requester: this.market.requester },
      fromBlock: fromBlock ?? BigInt(this.market.deployment.contracts.AuctionMarket?.block ?? 0),
    });
    return Promise.all(logs.map((l) => this.job(l.args.jobId!)));
  }

  /** Polls the job until a verified result (or throws AuctionError). */
  async awaitResult(jobId: bigint, options: AwaitOptions = {}): Promise<AuctionResult> {
    const pub = this.market.publicClient;
    const end = Date.now() + (options.timeoutMs ?? 15 * 60_000);
    let last = "";
    for (;;) {
      if (options.signal?.aborted) throw new AuctionError(`Stopped waiting for job ${jobId}.`);
      const j = await this.job(jobId);
      const seen = `${j.phase}/${j.status}/${j.bidCount}`;
      if (seen !== last) options.onProgress?.(j);
      last = seen;
      if (j.phase === "AwaitingFinalize" && options.finalize !== false) {
        try {
          await chainWrite(pub, this.market.wallet, {
            address: this.#address,
            abi: auctionMarketAbi,
            functionName: "finalize",
            args: [jobId],
          });
        } catch {
          /* someone else finalized first */
        }
        continue;
      }
      if (j.phase === "Expired") {
        if (options.refund !== false) {
          await chainWrite(pub, this.market.wallet, {
            address: this.#address,
            abi: auctionMarketAbi,
            functionName: "claimRefund",
            args: [jobId],
          }).catch(() => undefined);
        }
        throw new AuctionError(
          `Job ${jobId}: the winner ${j.best} missed the delivery deadline; the escrow was refunded to your credits.`,
          { details: { jobId } },
        );
      }
      if (j.phase === "Done") {
        if (j.status === "Delivered") return this.verifiedOutput(jobId);
        if (j.status === "NoBids")
          throw new AuctionError(
            `Job ${jobId} got no valid bid: raise the reserve price or the durations. The escrow is in your credits.`,
            { details: { jobId, status: j.status } },
          );
        throw new AuctionError(`Job ${jobId} ended ${j.status}.`, { details: { jobId, status: j.status } });
      }
      if (Date.now() > end)
        throw new AuctionError(`Job ${jobId} is still in phase ${j.phase} after the timeout.`, {
          details: { jobId, phase: j.phase },
        });
      await sleep(options.pollMs ?? 1_000);
    }
  }

  /**
   * Fetches a delivered job's output from the winner and checks it against the delivery recorded
   * on-chain: outputHash(profile, tokens) under the winner's profile for the model must equal
   * `deliveryOf(jobId)`, and the token count must match.
   */
  async verifiedOutput(jobId: bigint): Promise<AuctionResult> {
    const pub = this.market.publicClient;
    const [j, delivery, finalized] = await Promise.all([
      pub.readContract({ address: this.#address, abi: auctionMarketAbi, functionName: "getJob", args: [jobId] }),
      pub.readContract({ address: this.#address, abi: auctionMarketAbi, functionName: "deliveryOf", args: [jobId] }),
      pub.getContractEvents({
        address: this.#address,
        abi: auctionMarketAbi,
        eventName: "JobFinalized",
        args: { jobId },
        fromBlock: BigInt(this.market.deployment.contracts.AuctionMarket?.block ?? 0),
      }),
    ]);
    const [onChainHash, onChainTokens] = delivery;
    const winner = j.best;
    const node = await pub.readContract({
      address: this.market.address("NodeRegistry"),
      abi: nodeRegistryAbi,
      functionName: "getNode",
      args: [winner],
    });
    const client = new NodeClient(node.endpoint);
    let out;
    try {
      out = await client.jobOutput(jobId);
    } catch (cause) {
      throw new AuctionError(
        `The winner ${winner} (${node.endpoint}) did not serve job ${jobId}'s output: its delivery is on-chain (${onChainHash}); retry later.`,
        { details: { jobId, winner }, cause },
      );
    }
    const profile = await client.profileOf(j.modelId);
    if (!profile)
      throw new AuctionError(
        `The winner ${winner} no longer lists model ${j.modelId}: cannot check the output's profile.`,
        { details: { jobId } },
      );
    const computed = outputHash(profile.profileHash, out.tokens);
    if (computed.toLowerCase() !== onChainHash.toLowerCase() || out.tokens.length !== onChainTokens) {
      throw new AuctionError(
        `The output served by ${winner} for job ${jobId} does not match its on-chain delivery: do not use it (report it to a validator).`,
        {
          details: { jobId, winner, computed, onChainHash, tokens: out.tokens.length, onChainTokens },
        },
      );
    }
    return {
      jobId,
      winner,
      pricePerToken: finalized[0]?.args.pricePerToken ?? 0n,
      text: out.text,
      tokens: out.tokens,
      outputHash: onChainHash,
    };
  }
}
