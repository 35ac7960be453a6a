/**
 * HTTP client of one node agent (docs/node-api.md): health, models, direct completions (plain or
 * SSE streaming), vouchers, auction outputs and committed leaves. Every response is validated with
 * a schema; every failure is a NodeRequestError carrying the HTTP status (0 for network errors,
 * timeouts and broken streams) so callers can fail over.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import type { Profile, Receipt, Ticket, Voucher } from "../lib/encodings.ts";
import { NodeRequestError } from "./errors.ts";

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/) as unknown as z.ZodType<Hex>;
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/) as unknown as z.ZodType<Address>;
const bigintLike = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));

export const healthSchema = z.object({ status: z.string(), node: address, chainId: z.number() });
export type NodeHealth = z.infer<typeof healthSchema>;

const modelEntrySchema = z.object({
  id: z.string(),
  llmarket: z.object({
    modelId: hex,
    profile: z.record(z.string(), z.unknown()).optional(),
    profileHash: hex,
    pricePerToken: bigintLike,
    maxTokens: z.number().int().positive(),
    contextSize: z.number().int().positive().optional(),
  }),
});
export type NodeModel = z.infer<typeof modelEntrySchema>;
const modelsSchema = z.object({ data: z.array(modelEntrySchema) });

const receiptSchema = z.object({ ticket: hex, output: hex, tokens: z.number().int().nonnegative() });
export const llmarketResultSchema = z.object({
  tokens: z.array(z.number().int().nonnegative()),
  inputHash: hex,
  outputHash: hex,
  ticketId: hex,
  receipt: receiptSchema,
  receiptSignature: hex,
});
export type LLMarketResult = {
  tokens: number[];
  inputHash: Hex;
  outputHash: Hex;
  ticketId: Hex;
  receipt: Receipt;
  receiptSignature: Hex;
};

const choiceSchema = z
  .object({
    text: z.string().optional(),
    message: z.object({ content: z.string().nullable().optional() }).passthrough().optional(),
    delta: z.object({ content: z.string().nullable().optional() }).passthrough().optional(),
    finish_reason: z.string().nullable().optional(),
  })
  .passthrough();
const completionSchema = z.object({ choices: z.array(choiceSchema), llmarket: llmarketResultSchema }).passthrough();
const chunkSchema = z
  .object({
    choices: z.array(choiceSchema).optional(),
    llmarket: z
      .union([llmarketResultSchema, z.object({ tokenIds: z.array(z.number().int()) }).passthrough()])
      .optional(),
  })
  .passthrough();

export const jobOutputSchema = z.object({
  jobId: z.union([z.string(), z.number()]).transform((v) => BigInt(v)),
  prompt: z.string(),
  text: z.string(),
  tokens: z.array(z.number().int().nonnegative()),
  outputHash: hex,
});
export type JobOutput = z.infer<typeof jobOutputSchema>;

export const leafResponseSchema = z.object({
  batchId: z.union([z.string(), z.number()]).transform((v) => BigInt(v)),
  header: z.object({
    node: address,
    leafCount: z.number(),
    committedAt: bigintLike,
    payout: bigintLike,
    lock: bigintLike,
    root: hex,
  }),
  leaf: z.object({
    index: z.number(),
    kind: z.number(),
    ref: hex,
    requester: address,
    model: hex,
    adapter: hex,
    input: hex,
    output: hex,
    tokens: z.number(),
    amount: bigintLike,
    expiry: bigintLike,
    profile: hex,
  }),
  proof: z.array(hex),
});
export type LeafResponse = z.infer<typeof leafResponseSchema>;

/** One streamed piece: text and the token ids that produced it. */
export type StreamPiece = { text: string; tokenIds: number[] };

/** What a completion returned: full text, finish reason and the signed llmarket object. */
export type NodeCompletion = { text: string; finishReason: string | null; llmarket: LLMarketResult };

/** Body of a direct request (OpenAI fields; the llmarket extension is added by `complete`). */
export type DirectBody =
  | {
      kind: "chat";
      messages: { role: string; content: string }[];
      max_tokens: number;
      stop: string[];
      seed: number | string;
      model: string;
    }
  | { kind: "completion"; prompt: string; max_tokens: number; stop: string[]; seed: number | string; model: string };

export type NodeClientOptions = {
  /** Timeout of a whole non-streaming request and of the wait for the first byte (ms). Default 60,000. */
  timeoutMs?: number;
  /** Longest silence allowed between two streamed chunks (ms). Default 30,000. */
  idleTimeoutMs?: number;
};

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));

/** Wire form of a ticket: bigints as decimal strings. */
export function ticketToWire(t: Ticket): Record<string, string | number> {
  return {
    requester: t.requester,
    node: t.node,
    model: t.model,
    adapter: t.adapter,
    input: t.input,
    maxTokens: t.maxTokens,
    pricePerToken: t.pricePerToken.toString(),
    sequence: t.sequence.toString(),
    expiry: t.expiry.toString(),
    profile: t.profile,
  };
}

export class NodeClient {
  readonly endpoint: string;
  readonly options: Required<NodeClientOptions>;

  constructor(endpoint: string, options: NodeClientOptions = {}) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.options = { timeoutMs: options.timeoutMs ?? 60_000, idleTimeoutMs: options.idleTimeoutMs ?? 30_000 };
  }

  /** GET /health; `rttMs` is the measured round trip. */
  async health(timeoutMs = 2_000): Promise<NodeHealth & { rttMs: number }> {
    const t0 = performance.now();
    const body = await this.#getJson("/health", timeoutMs);
    const rttMs = performance.now() - t0;
    return { ...this.#parse(healthSchema, body, "/health"), rttMs };
  }

  /** GET /v1/models with the llmarket extension (profile hash, price, limits). */
  async models(timeoutMs = 5_000): Promise<NodeModel[]> {
    return this.#parse(modelsSchema, await this.#getJson("/v1/models", timeoutMs), "/v1/models").data;
  }

  /** The node's profile of a model (the full determinism profile), if it lists it. */
  async profileOf(modelId: Hex): Promise<{ profileHash: Hex; profile?: Partial<Profile> } | undefined> {
    const m = (await this.models()).find((x) => x.llmarket.modelId.toLowerCase() === modelId.toLowerCase());
    return m
      ? { profileHash: m.llmarket.profileHash, profile: m.llmarket.profile as Partial<Profile> | undefined }
      : undefined;
  }

  /**
   * POST a direct request with its signed ticket. With `onPiece`, streams (SSE) and calls it for
   * each chunk; the result is the final chunk's llmarket object. A stream that ends without it, or
   * stays silent longer than `idleTimeoutMs`, is a NodeRequestError with status 0.
   */
  async complete(
    body: DirectBody,
    ticket: Ticket,
    signature: Hex,
    options: { onPiece?: (p: StreamPiece) => void; signal?: AbortSignal } = {},
  ): Promise<NodeCompletion> {
    const { kind, ...openai } = body;
    const path = kind === "chat" ? "/v1/chat/completions" : "/v1/completions";
    const stream = options.onPiece !== undefined;
    const payload = { ...openai, stream, llmarket: { ticket: ticketToWire(ticket), signature } };
    const controller = new AbortController();
    const abortOuter = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", abortOuter, { once: true });
    let timer = setTimeout(() => controller.abort(new Error("timeout")), this.options.timeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(this.endpoint + path, {
          method: "POST",
          headers: { "content-type": "application/json", accept: stream ? "text/event-stream" : "application/json" },
          body: json(payload),
          signal: controller.signal,
        });
      } catch (cause) {
        throw this.#networkError(path, cause, controller.signal);
      }
      if (!res.ok) throw await this.#httpError(path, res);
      if (!stream) {
        let raw: unknown;
        try {
          raw = await res.json();
        } catch (cause) {
          throw this.#networkError(path, cause, controller.signal);
        }
        const parsed = this.#parse(completionSchema, raw, path);
        const c = parsed.choices[0];
        return {
          text: c?.text ?? c?.message?.content ?? "",
          finishReason: c?.finish_reason ?? null,
          llmarket: parsed.llmarket as LLMarketResult,
        };
      }
      // Streaming: the idle timer restarts on every chunk.
      const restart = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new Error("idle timeout")), this.options.idleTimeoutMs);
      };
      restart();
      let text = "";
      let finishReason: string | null = null;
      let final: LLMarketResult | undefined;
      let done = false;
      try {
        for await (const data of sseData(res.body!)) {
          restart();
          if (data === "[DONE]") {
            done = true;
            break;
          }
          let raw: unknown;
          try {
            raw = JSON.parse(data);
          } catch (cause) {
            throw new NodeRequestError(`Node ${this.endpoint} sent a malformed stream chunk.`, {
              details: { status: 0, endpoint: this.endpoint },
              cause,
            });
          }
          const chunk = this.#parse(chunkSchema, raw, path);
          const c = chunk.choices?.[0];
          const piece = c?.delta?.content ?? c?.text ?? "";
          if (c?.finish_reason) finishReason = c.finish_reason;
          const ext = chunk.llmarket as Record<string, unknown> | undefined;
          const tokenIds = Array.isArray(ext?.tokenIds) ? (ext.tokenIds as number[]) : [];
          if (ext && "receipt" in ext) final = llmarketResultSchema.parse(ext) as LLMarketResult;
          if (piece !== "" || tokenIds.length > 0) {
            text += piece;
            options.onPiece!({ text: piece, tokenIds });
          }
        }
      } catch (cause) {
        if (cause instanceof NodeRequestError) throw cause;
        throw this.#networkError(path, cause, controller.signal, true);
      }
      if (!done || !final) {
        throw new NodeRequestError(
          `Node ${this.endpoint} dropped the stream before its receipt: trying another node.`,
          {
            details: { status: 0, endpoint: this.endpoint, reason: "dropped" },
          },
        );
      }
      return { text, finishReason, llmarket: final };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", abortOuter);
    }
  }

  /** POST /v1/vouchers. */
  async postVoucher(voucher: Voucher, signature: Hex, timeoutMs = 10_000): Promise<void> {
    const path = "/v1/vouchers";
    let res: Response;
    try {
      res = await fetch(this.endpoint + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: json({ voucher, signature }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw this.#networkError(path, cause);
    }
    if (!res.ok) throw await this.#httpError(path, res);
  }

  /** GET /v1/jobs/:jobId/output (auction jobs this node won and delivered). */
  async jobOutput(jobId: bigint, timeoutMs = 10_000): Promise<JobOutput> {
    const path = `/v1/jobs/${jobId}/output`;
    return this.#parse(jobOutputSchema, await this.#getJson(path, timeoutMs), path);
  }

  /** GET /v1/leaves/:batchId/:index (a committed leaf with its proof). */
  async leaf(batchId: bigint, index: number, timeoutMs = 10_000): Promise<LeafResponse> {
    const path = `/v1/leaves/${batchId}/${index}`;
    return this.#parse(leafResponseSchema, await this.#getJson(path, timeoutMs), path);
  }

  async #getJson(path: string, timeoutMs: number): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.endpoint + path, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      throw this.#networkError(path, cause);
    }
    if (!res.ok) throw await this.#httpError(path, res);
    try {
      return await res.json();
    } catch (cause) {
      throw new NodeRequestError(`Node ${this.endpoint}${path} returned invalid JSON.`, {
        details: { status: 0, endpoint: this.endpoint },
        cause,
      });
    }
  }

  #parse<T extends z.ZodTypeAny>(schema: T, raw: unknown, path: string): z.output<T> {
    const r = schema.safeParse(raw);
    if (!r.success) {
      throw new NodeRequestError(
        `Node ${this.endpoint}${path} answered in an unexpected shape (${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}).`,
        { details: { status: 0, endpoint: this.endpoint, reason: "schema" }, cause: r.error },
      );
    }
    return r.data;
  }

  #networkError(path: string, cause: unknown, signal?: AbortSignal, midStream = false): NodeRequestError {
    const reason = signal?.aborted ? String((signal.reason as Error | undefined)?.message ?? "aborted") : "network";
    const what = midStream ? "broke the stream" : "could not be reached";
    return new NodeRequestError(`Node ${this.endpoint} ${what} (${reason} on ${path}): trying another node.`, {
      details: { status: 0, endpoint: this.endpoint, reason: midStream ? "dropped" : reason },
      cause,
    });
  }

  async #httpError(path: string, res: Response): Promise<NodeRequestError> {
    let message = res.statusText;
    let code: unknown;
    try {
      const body = (await res.json()) as { error?: { message?: string; code?: unknown } };
      message = body.error?.message ?? message;
      code = body.error?.code;
    } catch {
      /* not JSON */
    }
    return new NodeRequestError(`Node ${this.endpoint} refused ${path} with ${res.status}: ${message}`, {
      details: {
        status: res.status,
        code,
        endpoint: this.endpoint,
        nodeMessage: message,
        retryAfter: res.headers.get("retry-after"),
      },
    });
  }
}

/** Yields the `data:` payloads of an SSE byte stream (multi-line data joined with \n). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line === "") {
        if (data.length > 0) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  }
  if (data.length > 0) yield data.join("\n");
}
