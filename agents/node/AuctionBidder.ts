/**
 * Auctions: for each JobPosted for a served model, prices a bid (BidPricer), stores the bid and
 * its salt, then commits; reveals in the reveal phase; finalizes when nobody has; if it won,
 * reads the input from JobInputPosted, runs it, stores the output, delivers the output hash and
 * adds the auction leaf (amount = the market's heldOf) to the next batch. Every step is driven
 * from the stored status and the chain's phase, so a restart resumes where it stopped.
 */
import { randomBytes } from "node:crypto";
import { bytesToHex, toHex, type Address, type Hex } from "viem";
import {
  LEAF_AUCTION,
  ZERO32,
  bidCommitment,
  inputHash as hashInput,
  outputHash as hashOutput,
  type InferenceInput,
} from "../lib/encodings.ts";
import type { Runtime } from "../runtime/Runtime.ts";
import type { Scheduler } from "../runtime/Scheduler.ts";
import { priceBid } from "./BidPricer.ts";
import type { FaultInjector } from "./FaultInjector.ts";
import { DEFAULT_JOB_INPUT_LIMITS, JobInputError, fetchJobInput, type JobInputLimits } from "./JobInputFetcher.ts";
import { shortReason, type NodeChain } from "./NodeChain.ts";
import type { NodeMetrics } from "./NodeMetrics.ts";
import type { JobRow, NodeStore } from "./NodeStore.ts";
import type { ServedModel } from "./ServedModels.ts";

type Log = (level: "debug" | "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;

/** AuctionMarket job status and bid status enums. */
const JOB = { Open: 0, Finalized: 1, Delivered: 2 } as const;
const BID = { None: 0, Committed: 1, Revealed: 2 } as const;

export type JobPostedArgs = {
  jobId?: bigint;
  requester?: Address;
  modelId?: Hex;
  inputHash?: Hex;
  params?: { maxTokens: number; reservePricePerToken: bigint; deliveryDeadline: number };
  commitEnd?: bigint;
  revealEnd?: bigint;
  /** Hash-only jobs: the URI of JobInputUri (same transaction as JobPosted). */
  inputUri?: string;
};

export type AuctionBidderOptions = {
  chain: NodeChain;
  store: NodeStore;
  metrics: NodeMetrics;
  models: ServedModel[];
  runtime: Runtime;
  scheduler: Scheduler;
  fault: FaultInjector;
  costPerToken: bigint;
  marginBps: number;
  queueCapacity: number;
  jobInputLimits?: JobInputLimits;
  log: Log;
};

export class AuctionBidder {
  tokensPerSecond = 50;

  readonly o: AuctionBidderOptions;
  /** Hash-only jobs whose URI could not be read yet (logged once, retried every step). */
  readonly #unreachable = new Set<bigint>();

  constructor(o: AuctionBidderOptions) {
    this.o = o;
  }

  #model(id: Hex | undefined): ServedModel | undefined {
    return id ? this.o.models.find((m) => m.id.toLowerCase() === id.toLowerCase()) : undefined;
  }

  /** A new job: plan a bid (salt persisted before any transaction) if the price fits. */
  onJobPosted(a: JobPostedArgs): void {
    const model = this.#model(a.modelId);
    if (!model || a.jobId === undefined || !a.params || a.commitEnd === undefined || a.revealEnd === undefined) return;
    if (this.o.store.job(a.jobId)) return;
    const now = this.o.chain.now();
    if (now >= a.commitEnd) return;
    if (a.params.maxTokens > model.maxTokens) return;
    const d = priceBid({
      costPerToken: this.o.costPerToken,
      marginBps: this.o.marginBps,
      queued: this.o.scheduler.stats().queued,
      queueCapacity: this.o.queueCapacity,
      reservePerToken: a.params.reservePricePerToken,
      maxTokens: a.params.maxTokens,
      tokensPerSecond: this.tokensPerSecond,
      secondsUntilDeadline: Number(BigInt(a.params.deliveryDeadline) - now),
    });
    if (!d.bid) {
      this.o.log("info", `not bidding on job ${a.jobId}: ${d.reason}`);
      return;
    }
    this.o.store.planBid({
      jobId: a.jobId,
      model: model.id,
      requester: a.requester!,
      price: d.pricePerToken,
      salt: bytesToHex(randomBytes(32)),
      commitEnd: a.commitEnd,
      revealEnd: a.revealEnd,
      deadline: BigInt(a.params.deliveryDeadline),
      maxTokens: a.params.maxTokens,
      inputHash: a.inputHash!,
      ...(a.inputUri === undefined ? {} : { inputUri: a.inputUri }),
    });
    this.o.metrics.auctions.inc({ event: a.inputUri === undefined ? "planned" : "fetching" });
  }

  /** Moves every open job one step forward. */
  async step(): Promise<void> {
    for (const j of this.o.store.jobs([
      "fetching",
      "planned",
      "committed",
      "revealed",
      "won",
      "executed",
      "delivered",
    ])) {
      try {
        await this.#advance(j);
      } catch (e) {
        this.o.metrics.errors.inc({ task: "auction" });
        this.o.log("warn", `auction job ${j.jobId} (${j.status}) step failed, will retry: ${shortReason(e)}`);
      }
    }
  }

  async #advance(j: JobRow): Promise<void> {
    const c = this.o.chain.c;
    const me = this.o.chain.address;
    const now = this.o.chain.now();
    switch (j.status) {
      case "fetching": {
        // Hash-only job: fetch the input and check it against the posted hash before any bid.
        if (now >= j.commitEnd) {
          this.o.store.setJobStatus(j.jobId, "lost", "input not fetched before the commit phase ended");
          this.o.metrics.auctions.inc({ event: "input_unreachable" });
          this.o.log("warn", `job ${j.jobId}: input at ${j.inputUri} unreachable until the commit phase ended`);
          this.#unreachable.delete(j.jobId);
          return;
        }
        let input: InferenceInput;
        try {
          input = await fetchJobInput(
            j.inputUri!,
            { maxTokens: j.maxTokens, inputHash: j.inputHash },
            this.o.jobInputLimits ?? DEFAULT_JOB_INPUT_LIMITS,
          );
        } catch (e) {
          if (!(e instanceof JobInputError)) throw e;
          if (e.reason === "unreachable") {
            if (!this.#unreachable.has(j.jobId)) this.o.log("warn", `job ${j.jobId}: ${e.message} (retrying)`);
            this.#unreachable.add(j.jobId);
            return;
          }
          this.#unreachable.delete(j.jobId);
          this.o.store.setJobStatus(j.jobId, "refused", e.message);
          this.o.metrics.auctions.inc({ event: "input_refused" });
          this.o.log("error", `not bidding on job ${j.jobId}: ${e.message}`, { reason: e.reason });
          return;
        }
        this.#unreachable.delete(j.jobId);
        this.o.store.setJobInput(j.jobId, { prompt: input.prompt, stop: [...input.stop], seed: input.seed });
        this.o.metrics.auctions.inc({ event: "input_fetched" });
        this.o.log("info", `job ${j.jobId}: input fetched from ${j.inputUri} and matches its inputHash`);
        return;
      }
      case "planned": {
        const [, , status] = await c.market.read.bidOf([j.jobId, me]);
        if (status !== BID.None) {
          this.o.store.setJobStatus(j.jobId, "committed");
          return;
        }
        if (now >= j.commitEnd) {
          this.o.store.setJobStatus(j.jobId, "lost", "commit phase ended before the bid was sent");
          return;
        }
        const commitment = bidCommitment(j.jobId, me, j.price, j.salt);
        await this.o.chain.send("commitBid", () => c.market.write.commitBid([j.jobId, commitment]));
        this.o.store.setJobStatus(j.jobId, "committed");
        this.o.metrics.auctions.inc({ event: "committed" });
        this.o.log("info", `bid committed on job ${j.jobId}`, { price: String(j.price) });
        return;
      }
      case "committed": {
        if (now < j.commitEnd) return;
        const [, , status] = await c.market.read.bidOf([j.jobId, me]);
        if (status !== BID.Committed) {
          this.o.store.setJobStatus(j.jobId, "revealed");
          return;
        }
        if (now >= j.revealEnd) {
          this.o.store.setJobStatus(j.jobId, "lost", "reveal phase ended before the reveal was sent");
          return;
        }
        await this.o.chain.send("revealBid", () => c.market.write.revealBid([j.jobId, j.price, j.salt]));
        this.o.store.setJobStatus(j.jobId, "revealed");
        this.o.metrics.auctions.inc({ event: "revealed" });
        return;
      }
      case "revealed": {
        if (now < j.revealEnd) return;
        let job = await c.market.read.getJob([j.jobId]);
        if (job.status === JOB.Open) {
          await this.o.chain.send("finalize", () => c.market.write.finalize([j.jobId]));
          job = await c.market.read.getJob([j.jobId]);
        }
        if (job.best.toLowerCase() === me.toLowerCase() && job.status !== JOB.Open) {
          this.o.store.setJobStatus(j.jobId, "won");
          this.o.metrics.auctions.inc({ event: "won" });
          this.o.log("info", `won job ${j.jobId}`);
        } else {
          this.o.store.setJobStatus(j.jobId, "lost", "another bid won");
          this.o.metrics.auctions.inc({ event: "lost" });
          await this.o.chain
            .send("releaseBond", () => c.market.write.releaseBond([j.jobId, me]))
            .catch((e: unknown) => this.o.log("debug", `releaseBond ${j.jobId}: ${shortReason(e)}`));
        }
        return;
      }
      case "won": {
        const model = this.#model(j.model);
        if (!model) throw new Error(`model ${j.model} is no longer served`);
        let input: InferenceInput;
        if (j.input) {
          input = { ...j.input, maxTokens: j.maxTokens };
        } else {
          const evs = await c.market.getEvents.JobInputPosted(
            { jobId: j.jobId },
            { fromBlock: BigInt(this.o.chain.deployment.deployBlock), toBlock: "latest" },
          );
          const ev = evs.at(-1);
          if (!ev) {
            this.o.log("warn", `job ${j.jobId} has no input yet (no JobInputPosted, no fetched URI input)`);
            return;
          }
          input = {
            prompt: ev.args.prompt ?? "",
            stop: [...(ev.args.stop ?? [])],
            seed: ev.args.seed ?? 0n,
            maxTokens: j.maxTokens,
          };
        }
        // Never spend compute on an input that is not the one the job committed to.
        const ih = hashInput(input);
        if (ih.toLowerCase() !== j.inputHash.toLowerCase()) {
          this.o.store.setJobStatus(j.jobId, "refused", `input hashes to ${ih}, not the job's ${j.inputHash}`);
          this.o.metrics.auctions.inc({ event: "input_refused" });
          this.o.log("error", `job ${j.jobId}: input does not match its inputHash ${j.inputHash}: not running it`);
          return;
        }
        const r = await this.o.scheduler.submit({
          requester: j.requester,
          model: model.id,
          run: (signal) => this.o.runtime.generate(model.profile, input, { signal }),
        });
        if (r.timings.generationTokensPerSecond > 0) this.tokensPerSecond = r.timings.generationTokensPerSecond;
        const fault = this.o.fault.pick(model.vocabSize);
        const tokens = fault ? r.tokens.map(fault) : r.tokens;
        this.o.store.setJobOutput(j.jobId, {
          prompt: input.prompt,
          stop: [...input.stop],
          seed: input.seed,
          tokens,
          text: r.text,
          outputHash: hashOutput(model.profileHash, tokens),
        });
        return;
      }
      case "executed": {
        const out = j.output!;
        const job = await c.market.read.getJob([j.jobId]);
        if (job.status !== JOB.Delivered) {
          await this.o.chain.send("deliver", () =>
            c.market.write.deliver([j.jobId, out.outputHash, out.tokens.length]),
          );
          this.o.metrics.auctions.inc({ event: "delivered" });
          this.o.log("info", `delivered job ${j.jobId}`, { tokens: out.tokens.length });
        }
        this.o.store.setJobStatus(j.jobId, "delivered");
        return;
      }
      case "delivered": {
        const out = j.output!;
        const model = this.#model(j.model)!;
        const held = await c.market.read.heldOf([j.jobId]);
        this.o.store.addAuctionLeaf(
          j.jobId,
          {
            kind: LEAF_AUCTION,
            ref: toHex(j.jobId, { size: 32 }),
            requester: j.requester,
            model: j.model,
            adapter: ZERO32,
            input: j.inputHash,
            output: out.outputHash,
            tokens: out.tokens.length,
            amount: held,
            expiry: j.deadline,
            profile: model.profileHash,
          },
          { prompt: out.prompt, stop: out.stop, seed: out.seed, maxTokens: j.maxTokens, tokens: out.tokens },
        );
        return;
      }
    }
  }
}
