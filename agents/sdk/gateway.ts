/**
 * An OpenAI-compatible HTTP server that buys every request from the market through a Market:
 * GET /v1/models, POST /v1/chat/completions and POST /v1/completions (streaming and not). Any
 * OpenAI client works by pointing its base URL at it. Each answer carries the verified llmarket
 * object (node, ticket id, receipt, cost) as an extension field. Listens on 127.0.0.1.
 *
 * Errors use OpenAI's shape `{ error: { message, type, code } }`: 400 invalid request, 401 bad
 * API key, 402 budget or escrow, 404 unknown model (no node offers it), 502 every node failed.
 */
import { randomUUID } from "node:crypto";
import { serve, type ServerType } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { Address } from "viem";
import { LLMarketError } from "../lib/errors.ts";
import {
  AllCandidatesFailedError,
  BudgetExceededError,
  IndexerError,
  InsufficientEscrowError,
  NoCandidateError,
} from "./errors.ts";
import type { Constraints } from "./Discovery.ts";
import type { DirectRequest, DirectResult, Market } from "./Market.ts";
import { NodeClient } from "./NodeClient.ts";

export type GatewayOptions = {
  market: Market;
  /** Models listed by /v1/models besides those the indexer or nodes report. */
  models?: string[];
  /** Default and cap for max_tokens. */
  defaultMaxTokens?: number;
  constraints?: Constraints;
  /** If set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
};

const messageSchema = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.union([z.string(), z.array(z.object({ type: z.literal("text"), text: z.string() }))]),
});
const common = {
  model: z.string().min(1),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  stop: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .optional(),
  seed: z.number().int().nonnegative().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  n: z.literal(1).nullable().optional(),
};
const chatSchema = z.object({ ...common, messages: z.array(messageSchema).min(1) }).passthrough();
const completionSchema = z.object({ ...common, prompt: z.string() }).passthrough();

type ErrorBody = { status: 400 | 401 | 402 | 404 | 500 | 502 | 503; type: string; code: string; message: string };

/** Maps SDK errors to OpenAI error responses. */
export function errorBody(err: unknown): ErrorBody {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof BudgetExceededError)
    return { status: 402, type: "insufficient_quota", code: "budget_exceeded", message };
  if (err instanceof InsufficientEscrowError)
    return { status: 402, type: "insufficient_quota", code: "insufficient_escrow", message };
  if (err instanceof NoCandidateError)
    return { status: 404, type: "invalid_request_error", code: "model_not_found", message };
  if (err instanceof AllCandidatesFailedError)
    return { status: 502, type: "api_error", code: "all_nodes_failed", message };
  if (err instanceof IndexerError) return { status: 503, type: "api_error", code: "indexer_unavailable", message };
  if (err instanceof LLMarketError) return { status: 500, type: "api_error", code: err.name, message };
  return { status: 500, type: "api_error", code: "internal_error", message };
}

const llmarketExtension = (r: DirectResult): Record<string, unknown> => ({
  node: r.node,
  ticketId: r.ticketId,
  tokens: r.tokens,
  outputHash: r.llmarket.outputHash,
  receipt: r.llmarket.receipt,
  receiptSignature: r.llmarket.receiptSignature,
  cost: r.cost.toString(),
  attempts: r.attempts,
});

export function createGatewayApp(options: GatewayOptions): Hono {
  const { market } = options;
  const app = new Hono();
  const fail = (c: Context, e: ErrorBody): Response =>
    c.json({ error: { message: e.message, type: e.type, code: e.code, param: null } }, e.status);

  app.use("/v1/*", async (c, next) => {
    if (options.apiKey && c.req.header("authorization") !== `Bearer ${options.apiKey}`) {
      return fail(c, {
        status: 401,
        type: "invalid_request_error",
        code: "invalid_api_key",
        message: "Missing or wrong API key.",
      });
    }
    await next();
  });

  app.get("/health", (c) => c.json({ status: "ok", requester: market.requester, chainId: market.deployment.chainId }));

  app.get("/v1/models", async (c) => {
    const ids = new Set<string>(options.models ?? []);
    try {
      if (market.discovery.indexer)
        for (const m of await market.discovery.indexer.models()) if ((m.nodes ?? 0) > 0) ids.add(m.id);
    } catch {
      /* indexer down: list what we know */
    }
    await Promise.all(
      (market.discovery.options.nodes ?? []).map(async (n) => {
        try {
          for (const m of await new NodeClient(n.endpoint).models(3_000)) ids.add(m.id);
        } catch {
          /* unreachable node */
        }
      }),
    );
    return c.json({
      object: "list",
      data: [...ids].map((id) => ({ id, object: "model", created: 0, owned_by: "llmarket" })),
    });
  });

  const handle = (kind: "chat" | "completion") => async (c: Context) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return fail(c, {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_json",
        message: "The body must be JSON.",
      });
    }
    const parsed = (kind === "chat" ? chatSchema : completionSchema).safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return fail(c, {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_request",
        message: `${i?.path.join(".") || "body"}: ${i?.message}`,
      });
    }
    const body = parsed.data as z.infer<typeof chatSchema> & z.infer<typeof completionSchema>;
    const cap = options.defaultMaxTokens ?? 256;
    const maxTokens = Math.min(body.max_completion_tokens ?? body.max_tokens ?? cap, cap);
    const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
    const req: DirectRequest = {
      model: body.model,
      maxTokens,
      stop,
      seed: BigInt(body.seed ?? 0),
      constraints: options.constraints,
      signal: c.req.raw.signal,
      ...(kind === "chat"
        ? {
            messages: body.messages.map((m) => ({
              role: m.role,
              content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join(""),
            })),
          }
        : { prompt: body.prompt }),
    };
    const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === "chat" ? "chat.completion" : "text_completion";
    const usage = (r: DirectResult) => ({
      prompt_tokens: 0,
      completion_tokens: r.tokens.length,
      total_tokens: r.tokens.length,
    });

    if (!body.stream) {
      try {
        const r = await market.complete(req);
        const choice =
          kind === "chat"
            ? {
                index: 0,
                message: { role: "assistant", content: r.text, refusal: null },
                finish_reason: r.finishReason,
                logprobs: null,
              }
            : { index: 0, text: r.text, finish_reason: r.finishReason, logprobs: null };
        return c.json({
          id,
          object,
          created,
          model: body.model,
          choices: [choice],
          usage: usage(r),
          llmarket: llmarketExtension(r),
        });
      } catch (e) {
        return fail(c, errorBody(e));
      }
    }

    // Streaming: the first event decides the status (an error before any text is a plain HTTP error).
    const events = market.stream(req);
    const iterator = events[Symbol.asyncIterator]();
    let first: IteratorResult<unknown> | undefined;
    try {
      do first = await iterator.next();
      while (!first.done && (first.value as { type: string }).type !== "text");
    } catch (e) {
      return fail(c, errorBody(e));
    }
    const enc = new TextEncoder();
    const chunkObject = kind === "chat" ? "chat.completion.chunk" : "text_completion";
    const sse = (v: unknown): Uint8Array => enc.encode(`data: ${JSON.stringify(v)}\n\n`);
    const piece = (text: string, finish: string | null, extra?: Record<string, unknown>): Uint8Array =>
      sse({
        id,
        object: chunkObject,
        created,
        model: body.model,
        choices: [
          kind === "chat"
            ? { index: 0, delta: finish === null ? { content: text } : {}, finish_reason: finish, logprobs: null }
            : { index: 0, text, finish_reason: finish, logprobs: null },
        ],
        ...extra,
      });
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          if (kind === "chat") {
            controller.enqueue(
              sse({
                id,
                object: chunkObject,
                created,
                model: body.model,
                choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }],
              }),
            );
          }
          let ev = first;
          while (ev && !ev.done) {
            const e = ev.value as { type: string; text?: string };
            if (e.type === "text" && e.text) controller.enqueue(piece(e.text, null));
            ev = await iterator.next();
          }
          const r = await events.result;
          controller.enqueue(piece("", r.finishReason, { usage: usage(r), llmarket: llmarketExtension(r) }));
          controller.enqueue(enc.encode("data: [DONE]\n\n"));
        } catch (err) {
          const e = errorBody(err);
          controller.enqueue(sse({ error: { message: e.message, type: e.type, code: e.code } }));
        }
        controller.close();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
    });
  };

  app.post("/v1/chat/completions", handle("chat"));
  app.post("/v1/completions", handle("completion"));
  app.notFound((c) =>
    fail(c, {
      status: 404,
      type: "invalid_request_error",
      code: "not_found",
      message: `No route ${c.req.method} ${c.req.path}.`,
    }),
  );
  return app;
}

export type RunningGateway = { url: string; port: number; close: () => Promise<void>; requester: Address };

/** Starts the gateway on 127.0.0.1:`port` (0 = any free port). */
export function startGateway(options: GatewayOptions & { port?: number; host?: string }): Promise<RunningGateway> {
  const app = createGatewayApp(options);
  return new Promise((resolve) => {
    const server: ServerType = serve(
      { fetch: app.fetch, port: options.port ?? 0, hostname: options.host ?? "127.0.0.1" },
      (info) => {
        resolve({
          url: `http://${options.host ?? "127.0.0.1"}:${info.port}`,
          port: info.port,
          requester: options.market.requester,
          close: () => new Promise<void>((r) => server.close(() => r())),
        });
      },
    );
  });
}
