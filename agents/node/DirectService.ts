/**
 * Direct requests paid by tickets: parses and checks a request before any compute (schema,
 * signature, expiry, price, sequence, context, queue, escrow exposure, in the order of
 * docs/node-api.md), records the accepted ticket, runs the job through the scheduler, records the
 * leaf (committed before the receipt is sent) and signs the receipt. Also accepts vouchers.
 */
import { z } from "zod";
import type { Address, Hex, PublicClient } from "viem";
import { renderChat, type ChatMessage } from "../lib/chatTemplate.ts";
import {
  LEAF_TICKET,
  inputHash as hashInput,
  outputHash as hashOutput,
  voucherDigest,
  type InferenceInput,
  type Ticket,
  type Voucher,
} from "../lib/encodings.ts";
import { buildReceipt, checkTicketForNode, maxCost, verifyTicket, verifyVoucher, TicketError } from "../lib/tickets.ts";
import type { PendingLeaf } from "../lib/batch.ts";
import type { Runtime } from "../runtime/Runtime.ts";
import type { Scheduler } from "../runtime/Scheduler.ts";
import { ResultCache } from "../runtime/ResultCache.ts";
import { MAX_STOP_STRINGS, type TokenEvent } from "../runtime/Runtime.ts";
import { QueueFullError, RuntimeError } from "../runtime/RuntimeError.ts";
import type { NodeChain } from "./NodeChain.ts";
import type { NodeStore } from "./NodeStore.ts";
import type { NodeMetrics } from "./NodeMetrics.ts";
import type { ServedModel } from "./ServedModels.ts";
import type { FaultInjector } from "./FaultInjector.ts";
import { NodeHttpError } from "./NodeHttpError.ts";
import { SignerCache } from "./recoverSigner.ts";
import { FastDigest } from "./FastDigest.ts";

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x hex");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address");
const uint = z
  .union([z.string().regex(/^\d+$/, "must be a decimal integer string"), z.number().int().min(0)])
  .transform((v) => BigInt(v));
const sig = z.string().regex(/^0x([0-9a-fA-F]{2})+$/, "must be 0x hex");

export const ticketSchema = z.object({
  requester: address,
  node: address,
  model: hex32,
  adapter: hex32,
  input: hex32,
  maxTokens: z.number().int().min(1).max(0xffffffff),
  pricePerToken: uint,
  sequence: uint,
  expiry: uint,
  profile: hex32,
});

const extension = z.object({ ticket: ticketSchema, signature: sig });
const stopSchema = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(MAX_STOP_STRINGS)])
  .optional()
  .transform((s) => (s === undefined ? [] : typeof s === "string" ? [s] : s));
const common = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(1),
  stop: stopSchema,
  seed: z
    .union([z.number().int().min(0), z.string().regex(/^\d+$/)])
    .optional()
    .transform((s) => (s === undefined ? 0n : BigInt(s))),
  stream: z.boolean().optional().default(false),
  llmarket: extension,
};
export const completionSchema = z.object({ ...common, prompt: z.string() }).passthrough();
export const chatSchema = z
  .object({
    ...common,
    messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(1),
  })
  .passthrough();
export const voucherBodySchema = z.object({
  voucher: z.object({ requester: address, node: address, cumulativeAmount: uint, throughSequence: uint }),
  signature: sig,
});

export type Kind = "completion" | "chat";

/** An admitted request, ready to run. */
export type Admitted = {
  kind: Kind;
  model: ServedModel;
  ticket: Ticket;
  ticketId: Hex;
  signature: Hex;
  input: InferenceInput;
  stream: boolean;
  arrivedAt: number;
  /** Generation started while the ticket was being verified (tokens held until `run` attaches). */
  job?: SpeculativeJob;
};

/** A generation started before admission ended; its tokens are buffered until a listener attaches. */
type SpeculativeJob = {
  done: Promise<Cached>;
  buffered: [number, number, string][];
  listener?: (token: number, index: number, text: string) => void;
  abort: AbortController;
};

/** `last`: the request's final token (max_tokens reached), so a stream can flush it at once. */
export type TokenOut = { token: number; text: string; last: boolean };

export type DirectResult = {
  tokens: number[];
  text: string;
  finishReason: "stop" | "length";
  inputHash: Hex;
  outputHash: Hex;
  ticketId: Hex;
  receipt: { ticket: Hex; output: Hex; tokens: number };
  receiptSignature: Hex;
  promptTokens: number;
};

type Cached = { tokens: number[]; text: string; stopReason: string; promptTokens: number };

function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
}

export type DirectServiceOptions = {
  chain: NodeChain;
  store: NodeStore;
  runtime: Runtime;
  scheduler: Scheduler;
  metrics: NodeMetrics;
  models: ServedModel[];
  fault: FaultInjector;
  ticketMaxLifetime: bigint;
  queueCapacity: number;
  concurrency: number;
  maxTokens: number;
  /**
   * Start generation (prompt evaluation) as soon as every check but the signature has passed, and
   * verify the signature while the runtime evaluates the prompt; no token leaves before the ticket
   * is verified and recorded, and a refused ticket's generation is aborted. Default true.
   */
  speculativeStart?: boolean;
};

export class DirectService {
  readonly cache = new ResultCache<Cached>({ maxEntries: 512, ttlMs: 10 * 60_000 });
  readonly #signers = new SignerCache();

  readonly o: DirectServiceOptions;
  readonly #ticketDigest: FastDigest;
  readonly #receiptDigest: FastDigest;

  constructor(o: DirectServiceOptions) {
    this.o = o;
    this.#ticketDigest = new FastDigest(o.chain.escrowDomain);
    this.#receiptDigest = new FastDigest(o.chain.gameDomain);
  }

  #model(id: Hex): ServedModel | undefined {
    const low = id.toLowerCase();
    return this.o.models.find((m) => m.id.toLowerCase() === low);
  }

  /** Every check of docs/node-api.md, before compute; records the accepted ticket. */
  async admit(kind: Kind, body: unknown): Promise<Admitted> {
    const arrivedAt = performance.now();
    const parsed = (kind === "chat" ? chatSchema : completionSchema).safeParse(body);
    if (!parsed.success)
      throw new NodeHttpError(400, "invalid_request", `Malformed request: ${zodMessage(parsed.error)}.`);
    const req = parsed.data;
    const ticket = req.llmarket.ticket as Ticket;
    const signature = req.llmarket.signature as Hex;
    const model = this.#model(ticket.model);
    if (!model) {
      throw new NodeHttpError(
        400,
        "unknown_model",
        `This node does not serve model ${ticket.model}: see GET /v1/models.`,
      );
    }
    if (req.model !== undefined && req.model !== model.id && req.model !== model.name) {
      throw new NodeHttpError(
        400,
        "model_mismatch",
        `Body model "${req.model}" is not the ticket's model ${model.id}.`,
      );
    }
    if (ticket.profile.toLowerCase() !== model.profileHash.toLowerCase()) {
      throw new NodeHttpError(400, "profile_mismatch", `Ticket profile must be ${model.profileHash} (GET /v1/models).`);
    }
    if (ticket.node.toLowerCase() !== this.o.chain.address.toLowerCase()) {
      throw new NodeHttpError(400, "wrong_node", `Ticket is for node ${ticket.node}, not ${this.o.chain.address}.`);
    }
    if (req.max_tokens !== ticket.maxTokens) {
      throw new NodeHttpError(
        400,
        "max_tokens_mismatch",
        `max_tokens ${req.max_tokens} must equal the ticket's maxTokens ${ticket.maxTokens}.`,
      );
    }
    if (req.max_tokens > model.maxTokens) {
      throw new NodeHttpError(
        400,
        "max_tokens_too_large",
        `max_tokens may be at most ${model.maxTokens} on this node.`,
      );
    }
    let prompt: string;
    try {
      prompt =
        kind === "chat"
          ? renderChat((req as z.infer<typeof chatSchema>).messages as ChatMessage[])
          : (req as z.infer<typeof completionSchema>).prompt;
    } catch (e) {
      throw new NodeHttpError(400, "invalid_request", `Bad messages: ${(e as Error).message}.`);
    }
    const input: InferenceInput = { prompt, maxTokens: req.max_tokens, stop: req.stop, seed: req.seed };
    if (req.seed >= 2n ** 64n) throw new NodeHttpError(400, "invalid_request", "seed must be below 2^64.");
    const ih = hashInput(input);
    if (ih.toLowerCase() !== ticket.input.toLowerCase()) {
      throw new NodeHttpError(
        400,
        "input_mismatch",
        `Ticket input ${ticket.input} is not inputHash(prompt, max_tokens, stop, seed) = ${ih}: sign the rendered prompt.`,
      );
    }
    const d = this.o.chain.escrowDomain;
    // The ticket id is the EIP-712 digest the requester signed: recover from it directly.
    const id = this.#ticketDigest.ticket(ticket);
    const admitted: Admitted = { kind, model, ticket, ticketId: id, signature, input, stream: req.stream, arrivedAt };
    // Speculative start: when every check after the signature already passes and the model's queue
    // is empty, start generation now and verify the signature while the runtime evaluates the
    // prompt (the verification is JS on this thread, the evaluation runs on llama.cpp's). Tokens
    // are buffered until `run` attaches, i.e. after the ticket is verified and recorded below.
    if (this.o.speculativeStart !== false && this.o.scheduler.stats().queued === 0) {
      let ok = true;
      try {
        this.#checkPair(ticket, await this.#checksAfterSignature(ticket, model, prompt, req.max_tokens));
      } catch {
        ok = false; // answered below, in the documented order (signature first)
      }
      if (ok) {
        admitted.job = this.#startJob(admitted, req.stream);
        // Let the job reach llama.cpp (tokenize, take a sequence, dispatch the prompt batch).
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    try {
      let valid = this.#signers.verify(ticket.requester, id, signature);
      if (!valid) {
        // A contract wallet (ERC-1271) signs differently: ask the chain, only when the key did not match.
        const code = await this.o.chain.publicClient.getCode({ address: ticket.requester }).catch(() => undefined);
        if (code && code !== "0x")
          valid = await verifyTicket(ticket, signature, d, this.o.chain.publicClient as PublicClient).catch(
            () => false,
          );
      }
      if (!valid)
        throw new NodeHttpError(
          401,
          "bad_signature",
          "Ticket signature is not the requester's (PairEscrow EIP-712 domain).",
        );
      const pair = await this.#checksAfterSignature(ticket, model, prompt, req.max_tokens);
      // Synchronous from here: no other request can interleave between the checks and the insert.
      this.#checkPair(ticket, pair);
    } catch (e) {
      admitted.job?.abort.abort(e);
      throw e;
    }
    this.o.store.acceptTicket(id, ticket, signature, maxCost(ticket));
    return admitted;
  }

  /** The checks of docs/node-api.md that follow the signature, up to the escrow read; returns the pair. */
  async #checksAfterSignature(ticket: Ticket, model: ServedModel, prompt: string, maxTokens: number) {
    const now = this.o.chain.now();
    if (ticket.expiry <= now)
      throw new NodeHttpError(
        400,
        "ticket_expired",
        `Ticket expired at ${ticket.expiry} (now ${now}): sign a fresh one.`,
      );
    if (ticket.expiry > now + this.o.ticketMaxLifetime) {
      throw new NodeHttpError(
        400,
        "ticket_lifetime",
        `Ticket expiry is more than ${this.o.ticketMaxLifetime}s away: use a shorter expiry.`,
      );
    }
    if (ticket.pricePerToken < model.pricePerToken) {
      throw new NodeHttpError(
        402,
        "price_too_low",
        `Price ${ticket.pricePerToken} is below this node's ${model.pricePerToken} per token.`,
      );
    }
    const last = this.o.store.lastSequence(ticket.requester);
    if (ticket.sequence <= last) {
      throw new NodeHttpError(
        409,
        "sequence_replayed",
        `Ticket sequence ${ticket.sequence} is not above ${last}: use the next sequence.`,
      );
    }
    // Every token covers at least one byte, plus BOS and a leading-space token: tokenize only when
    // that bound does not already prove the prompt fits.
    const bound = Buffer.byteLength(prompt) + 2;
    const promptTokens =
      bound + maxTokens <= model.contextSize
        ? bound
        : (await this.o.runtime.promptTokens(model.profile, prompt)).length;
    if (promptTokens + maxTokens > model.contextSize) {
      throw new NodeHttpError(
        413,
        "prompt_too_long",
        `Prompt of ${promptTokens} tokens plus max_tokens ${maxTokens} exceeds the context of ${model.contextSize}.`,
      );
    }
    this.#checkQueue();
    return this.o.chain.pair(ticket.requester);
  }

  /** Sequence and escrow exposure against the pair's state (synchronous: call right before recording). */
  #checkPair(ticket: Ticket, pair: { balance: bigint; thawing: bigint }): void {
    try {
      checkTicketForNode(ticket, {
        node: this.o.chain.address,
        nowSeconds: this.o.chain.now(),
        ticketMaxLifetimeSeconds: this.o.ticketMaxLifetime,
        pair: {
          balance: pair.balance,
          thawing: pair.thawing,
          outstanding: this.o.store.outstanding(ticket.requester),
          lastSequence: this.o.store.lastSequence(ticket.requester),
        },
      });
    } catch (e) {
      if (e instanceof TicketError) {
        const reason = e.details.reason;
        if (reason === "sequence") throw new NodeHttpError(409, "sequence_replayed", e.message);
        if (reason === "exposure") throw new NodeHttpError(402, "insufficient_escrow", e.message);
        throw new NodeHttpError(400, String(reason), e.message);
      }
      throw e;
    }
  }

  /** Starts generating an admitted request (result cache first); tokens go to the job's listener or buffer. */
  #startJob(a: Admitted, wantTokens: boolean): SpeculativeJob {
    const job: SpeculativeJob = {
      done: Promise.resolve(undefined as unknown as Cached),
      buffered: [],
      abort: new AbortController(),
    };
    const sink = (token: number, index: number, text: string) => {
      if (job.listener) job.listener(token, index, text);
      else job.buffered.push([token, index, text]);
    };
    job.done = this.#generate(a, wantTokens ? sink : undefined, job.abort.signal);
    job.done.catch(() => undefined); // observed by run(), or dropped with a refused ticket
    return job;
  }

  /** The result cache, else the scheduler and the runtime; `onToken` gets each generated token. */
  async #generate(
    a: Admitted,
    onToken: ((token: number, index: number, text: string) => void) | undefined,
    signal?: AbortSignal,
  ): Promise<Cached> {
    const { model, ticket, input } = a;
    const key = { model: model.id, adapter: ticket.adapter, profile: model.profileHash, input: ticket.input };
    let firstSeen = false;
    const emit = (token: number, index: number, text: string) => {
      if (!firstSeen) {
        firstSeen = true;
        this.o.metrics.ttft.observe((performance.now() - a.arrivedAt) / 1000);
      }
      onToken?.(token, index, text);
    };
    let result: Cached;
    const hit = this.cache.get(key, ticket.requester);
    if (hit) {
      result = hit;
      hit.tokens.forEach((t, i) => emit(t, i, i === 0 ? hit.text : ""));
    } else {
      this.o.metrics.queueDepth.set(this.o.scheduler.stats().queued + 1);
      const r = await this.o.scheduler.submit({
        requester: ticket.requester,
        model: model.id,
        ...(signal ? { signal } : {}),
        run: (jobSignal) => {
          this.o.metrics.running.inc();
          const started = performance.now();
          // Without a listener the runtime skips per-token detokenization: only streams pay for it.
          const listen = onToken ? { onToken: (e: TokenEvent) => emit(e.token, e.index, e.text) } : {};
          return this.o.runtime
            .generate(model.profile, input, { signal: jobSignal, ...listen })
            .then((res) => {
              if (!firstSeen && res.tokens.length > 0) {
                firstSeen = true;
                const at = started + res.timings.timeToFirstTokenMs;
                this.o.metrics.ttft.observe((at - a.arrivedAt) / 1000);
              }
              return res;
            })
            .finally(() => this.o.metrics.running.dec());
        },
      });
      this.o.metrics.queueDepth.set(this.o.scheduler.stats().queued);
      this.o.metrics.tokensPerSecond.set(r.timings.generationTokensPerSecond);
      result = { tokens: r.tokens, text: r.text, stopReason: r.stopReason, promptTokens: r.promptTokens };
      this.cache.set(key, ticket.requester, result);
    }
    this.o.metrics.cacheHitRatio.set(this.cache.stats().hitRatio);
    return result;
  }

  #checkQueue(): void {
    const s = this.o.scheduler.stats();
    if (s.running >= this.o.concurrency * this.o.models.length && s.queued >= this.o.queueCapacity) {
      const retry = Math.max(1, Math.ceil(this.o.scheduler.retryAfterMs() / 1000));
      throw new NodeHttpError(429, "queue_full", `The node is busy (${s.queued} queued): retry after ${retry}s.`, {
        retryAfterSeconds: retry,
      });
    }
  }

  /**
   * Runs an admitted request; `onToken` gets each emitted token id and text as it is generated,
   * `onGenerated` is called once the last token is out (before the leaf is stored and the receipt
   * signed, so a stream can flush its last tokens at once). The leaf is stored before the receipt
   * is signed and returned.
   */
  async run(a: Admitted, onToken?: (t: TokenOut) => void, onGenerated?: () => void): Promise<DirectResult> {
    const { model, ticket, input } = a;
    const fault = this.o.fault.pick(model.vocabSize);
    const emit = onToken
      ? (token: number, index: number, text: string) =>
          onToken({ token: fault ? fault(token, index) : token, text, last: index + 1 >= input.maxTokens })
      : undefined;
    let result: Cached;
    try {
      if (a.job) {
        // Started during admission: replay what it buffered, then stream the rest.
        const job = a.job;
        if (emit) {
          for (const [t, i, x] of job.buffered) emit(t, i, x);
          job.buffered.length = 0;
          job.listener = emit;
        }
        result = await job.done;
      } else {
        result = await this.#generate(a, emit);
      }
    } catch (e) {
      this.o.store.failTicket(a.ticketId);
      if (e instanceof QueueFullError) {
        const retry = Math.max(1, Math.ceil(e.retryAfterMs / 1000));
        throw new NodeHttpError(429, "queue_full", `The node is busy: retry after ${retry}s.`, {
          retryAfterSeconds: retry,
        });
      }
      if (e instanceof RuntimeError) throw new NodeHttpError(400, e.code.toLowerCase(), e.message, { cause: e });
      throw e;
    }
    onGenerated?.();
    const tokens = fault ? result.tokens.map(fault) : result.tokens;
    const output = hashOutput(model.profileHash, tokens);
    const amount = BigInt(tokens.length) * ticket.pricePerToken;
    const leaf: PendingLeaf = {
      kind: LEAF_TICKET,
      ref: a.ticketId,
      requester: ticket.requester,
      model: ticket.model,
      adapter: ticket.adapter,
      input: ticket.input,
      output,
      tokens: tokens.length,
      amount,
      expiry: ticket.expiry,
      profile: ticket.profile,
    };
    // Durable before the receipt leaves the node.
    this.o.store.finishTicket(a.ticketId, amount, leaf, {
      prompt: input.prompt,
      stop: [...input.stop],
      seed: input.seed,
      maxTokens: input.maxTokens,
      tokens,
    });
    this.o.metrics.tokens.inc(tokens.length);
    const receipt = buildReceipt(ticket, this.o.chain.escrowDomain, output, tokens.length);
    // Sign the EIP-712 digest directly (same signature as signTypedData, one hash less).
    const receiptSignature = await this.o.chain.account.sign({ hash: this.#receiptDigest.receipt(receipt) });
    return {
      tokens,
      text: result.text,
      finishReason: result.stopReason === "maxTokens" ? "length" : "stop",
      inputHash: ticket.input,
      outputHash: output,
      ticketId: a.ticketId,
      receipt,
      receiptSignature,
      promptTokens: result.promptTokens,
    };
  }

  /** POST /v1/vouchers: a cumulative voucher for this node, newer than the stored one. */
  async acceptVoucher(body: unknown): Promise<void> {
    const parsed = voucherBodySchema.safeParse(body);
    if (!parsed.success)
      throw new NodeHttpError(400, "invalid_request", `Malformed voucher: ${zodMessage(parsed.error)}.`);
    const voucher = parsed.data.voucher as Voucher;
    const signature = parsed.data.signature as Hex;
    if (voucher.node.toLowerCase() !== this.o.chain.address.toLowerCase()) {
      throw new NodeHttpError(400, "wrong_node", `Voucher is for node ${voucher.node}, not ${this.o.chain.address}.`);
    }
    if (voucher.cumulativeAmount >= 2n ** 256n || voucher.throughSequence >= 2n ** 64n) {
      throw new NodeHttpError(400, "invalid_request", "Voucher amount or sequence out of range.");
    }
    const ed = this.o.chain.escrowDomain;
    let valid = this.#signers.verify(
      voucher.requester,
      voucherDigest(voucher, ed.chainId, ed.verifyingContract),
      signature,
    );
    if (!valid) {
      const code = await this.o.chain.publicClient.getCode({ address: voucher.requester }).catch(() => undefined);
      if (code && code !== "0x")
        valid = await verifyVoucher(
          voucher,
          signature,
          this.o.chain.escrowDomain,
          this.o.chain.publicClient as PublicClient,
        ).catch(() => false);
    }
    if (!valid)
      throw new NodeHttpError(
        401,
        "bad_signature",
        "Voucher signature is not the requester's (PairEscrow EIP-712 domain).",
      );
    const latest = this.o.store.voucher(voucher.requester as Address);
    if (latest) {
      const v = latest.voucher;
      if (voucher.cumulativeAmount < v.cumulativeAmount || voucher.throughSequence < v.throughSequence) {
        throw new NodeHttpError(
          409,
          "stale_voucher",
          `Voucher (${voucher.cumulativeAmount}, through ${voucher.throughSequence}) is below the latest accepted (${v.cumulativeAmount}, through ${v.throughSequence}).`,
        );
      }
    }
    this.o.store.saveVoucher(voucher, signature);
  }
}
