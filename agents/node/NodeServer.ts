/**
 * The node's HTTP API (docs/node-api.md) on hono: models, completions and chat completions (SSE
 * with token ids, receipt in the last chunk), vouchers, batch and leaf data for validators,
 * auction outputs, health and Prometheus metrics. Every error is JSON `{"error":{...}}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Hono, type Context } from "hono";
import { serve, type ServerType } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Hex } from "viem";
import { DirectService, type Admitted, type DirectResult, type Kind } from "./DirectService.ts";
import { NodeHttpError } from "./NodeHttpError.ts";
import type { NodeMetrics } from "./NodeMetrics.ts";
import type { ServedModel } from "./ServedModels.ts";
import { profileJson } from "./ServedModels.ts";
import type { LeafLookup } from "./Batcher.ts";
import type { NodeStore } from "./NodeStore.ts";

export type ServerState = { serving: boolean };

export type NodeServerOptions = {
  direct: DirectService;
  models: ServedModel[];
  metrics: NodeMetrics;
  store: NodeStore;
  leaves: LeafLookup;
  node: Hex;
  chainId: number;
  maxBodyBytes: number;
  state: ServerState;
  log: (level: "debug" | "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;
};

const enc = new TextEncoder();

/** The node:http request and response behind a hono context (absent outside @hono/node-server). */
type NodeEnv = { incoming?: IncomingMessage; outgoing?: ServerResponse };

/**
 * Reads a request body straight from the node:http stream (the web Request wrapper costs ~0.4 ms
 * per request here); past `max` bytes the rest is drained and discarded, and null is returned.
 */
function readBody(incoming: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    incoming.on("data", (b: Buffer) => {
      size += b.length;
      if (size <= max) parts.push(b);
    });
    incoming.once("end", () => resolve(size > max ? null : Buffer.concat(parts, size).toString("utf8")));
    incoming.once("error", reject);
  });
}

const SSE_HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" };

/** Minimum interval between two socket writes of one stream (later tokens are gathered). */
const STREAM_COALESCE_MS = 4;

function str(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x)));
}

function errorResponse(c: Context, e: unknown, log: NodeServerOptions["log"]): Response {
  if (e instanceof NodeHttpError) {
    const headers: Record<string, string> = {};
    if (e.retryAfterSeconds !== undefined) headers["Retry-After"] = String(e.retryAfterSeconds);
    return c.json(e.toBody(), e.status, headers);
  }
  log("error", "request failed", { error: (e as Error).message });
  return c.json(
    { error: { message: "Internal error: see the node's log.", type: "server_error", code: "internal" } },
    500,
  );
}

function llmarketObject(r: DirectResult): Record<string, unknown> {
  return {
    tokens: r.tokens,
    inputHash: r.inputHash,
    outputHash: r.outputHash,
    ticketId: r.ticketId,
    receipt: r.receipt,
    receiptSignature: r.receiptSignature,
  };
}

export function createNodeApp(o: NodeServerOptions): Hono {
  const app = new Hono();

  const readJson = async (c: Context): Promise<unknown> => {
    if (!o.state.serving)
      throw new NodeHttpError(503, "not_serving", "The node is starting or draining: retry shortly.", {
        retryAfterSeconds: 1,
      });
    const incoming = (c.env as NodeEnv | undefined)?.incoming;
    const declared = Number((incoming ? incoming.headers["content-length"] : c.req.header("content-length")) ?? "0");
    if (declared > o.maxBodyBytes)
      throw new NodeHttpError(413, "body_too_large", `Request body over ${o.maxBodyBytes} bytes.`);
    const text = incoming ? await readBody(incoming, o.maxBodyBytes) : await c.req.text();
    if (text === null || Buffer.byteLength(text) > o.maxBodyBytes)
      throw new NodeHttpError(413, "body_too_large", `Request body over ${o.maxBodyBytes} bytes.`);
    try {
      return JSON.parse(text);
    } catch {
      throw new NodeHttpError(400, "invalid_json", "Request body is not valid JSON.");
    }
  };

  app.get("/health", (c) =>
    c.json(
      { status: o.state.serving ? "ok" : "unavailable", node: o.node, chainId: o.chainId },
      o.state.serving ? 200 : 503,
    ),
  );

  app.get("/metrics", async (c) => {
    const body = await o.metrics.registry.metrics();
    return c.text(body, 200, { "Content-Type": o.metrics.registry.contentType });
  });

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: o.models.map((m) => ({
        id: m.id,
        object: "model",
        created: 0,
        owned_by: o.node,
        name: m.name,
        llmarket: {
          modelId: m.id,
          profile: profileJson(m.profile),
          profileHash: m.profileHash,
          pricePerToken: String(m.pricePerToken),
          maxTokens: m.maxTokens,
          contextSize: m.contextSize,
        },
      })),
    }),
  );

  const completion = (kind: Kind) => async (c: Context) => {
    const route = kind === "chat" ? "/v1/chat/completions" : "/v1/completions";
    const t0 = performance.now();
    let admitted: Admitted;
    try {
      admitted = await o.direct.admit(kind, await readJson(c));
    } catch (e) {
      const res = errorResponse(c, e, o.log);
      o.metrics.requests.inc({ route, status: String(res.status) });
      return res;
    }
    const id = `cmpl-${admitted.ticketId.slice(2, 18)}`;
    const created = Math.floor(Date.now() / 1000);
    const modelName = admitted.model.id;
    const object = kind === "chat" ? "chat.completion" : "text_completion";
    const done = () => {
      o.metrics.latency.observe({ route }, (performance.now() - t0) / 1000);
      o.metrics.requests.inc({ route, status: "200" });
    };
    if (!admitted.stream) {
      try {
        const r = await o.direct.run(admitted);
        done();
        const choice =
          kind === "chat"
            ? { index: 0, message: { role: "assistant", content: r.text }, finish_reason: r.finishReason }
            : { index: 0, text: r.text, finish_reason: r.finishReason, logprobs: null };
        return c.json({
          id,
          object,
          created,
          model: modelName,
          choices: [choice],
          usage: {
            prompt_tokens: r.promptTokens,
            completion_tokens: r.tokens.length,
            total_tokens: r.promptTokens + r.tokens.length,
          },
          llmarket: llmarketObject(r),
        });
      } catch (e) {
        const res = errorResponse(c, e, o.log);
        o.metrics.requests.inc({ route, status: String(res.status) });
        return res;
      }
    }
    const chunkObject = kind === "chat" ? "chat.completion.chunk" : "text_completion";
    // Token chunks are the hot path (one per token): built from a fixed prefix and suffix.
    const head = `data: {"id":${JSON.stringify(id)},"object":"${chunkObject}","created":${created},"model":"${modelName}","choices":[{"index":0,`;
    const tokenChunk = (text: string, token: number): string =>
      kind === "chat"
        ? `${head}"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}],"llmarket":{"tokenIds":[${token}]}}\n\n`
        : `${head}"text":${JSON.stringify(text)},"finish_reason":null,"logprobs":null}],"llmarket":{"tokenIds":[${token}]}}\n\n`;
    const chunk = (finish: string | null, extra?: Record<string, unknown>, role = false): string => {
      const choice =
        kind === "chat"
          ? {
              index: 0,
              delta: finish === null ? (role ? { role: "assistant", content: "" } : {}) : {},
              finish_reason: finish,
            }
          : { index: 0, text: "", finish_reason: finish, logprobs: null };
      return `data: ${JSON.stringify({ id, object: chunkObject, created, model: modelName, choices: [choice], llmarket: { tokenIds: [], ...extra } })}\n\n`;
    };
    // Written straight to the node:http response (no web-stream hops per write), headers at once,
    // Nagle off; a web ReadableStream only where no node:http response exists.
    const outgoing = (c.env as NodeEnv | undefined)?.outgoing;
    let closed = false;
    let write: (text: string) => void;
    let end: () => void;
    let response: Response;
    if (outgoing) {
      outgoing.socket?.setNoDelay(true);
      outgoing.writeHead(200, SSE_HEADERS);
      outgoing.flushHeaders();
      outgoing.once("close", () => (closed = true)); // client went away; the job still finishes and is recorded
      write = (text) => void outgoing.write(text);
      end = () => outgoing.end();
      response = RESPONSE_ALREADY_SENT;
    } else {
      let ctl!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start: (controller) => void (ctl = controller),
        cancel: () => void (closed = true),
      });
      write = (text) => ctl.enqueue(enc.encode(text));
      end = () => ctl.close();
      response = new Response(stream, { status: 200, headers: SSE_HEADERS });
    }
    // The first chunk goes out at once (time to first token). Later ones are written at once when
    // the last write is older than STREAM_COALESCE_MS, else gathered until then: a slow model
    // streams token by token, a fast one pays one socket write per few tokens. When generation
    // ends the gathered tokens go out at once, before the leaf is stored and the receipt signed; the
    // token that reaches max_tokens is written at once (the runtime still has to wind down).
    let pending = "";
    let timer: NodeJS.Timeout | undefined;
    let lastWrite = 0;
    const flush = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (closed || pending === "") return;
      const out = pending;
      pending = "";
      lastWrite = performance.now();
      try {
        write(out);
      } catch {
        closed = true;
      }
    };
    const push = (text: string, now = false) => {
      if (closed) return;
      pending += text;
      if (timer !== undefined && !now) return;
      const wait = STREAM_COALESCE_MS - (performance.now() - lastWrite);
      if (now || wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    };
    if (kind === "chat") pending += chunk(null, undefined, true);
    o.direct
      .run(
        admitted,
        (t) => push(tokenChunk(t.text, t.token), t.last),
        () => flush(),
      )
      .then((r) => {
        push(chunk(r.finishReason, llmarketObject(r)));
        push("data: [DONE]\n\n", true);
        done();
      })
      .catch((e: unknown) => {
        const err =
          e instanceof NodeHttpError
            ? e.toBody()
            : { error: { message: "Internal error: see the node's log.", type: "server_error", code: "internal" } };
        if (!(e instanceof NodeHttpError)) o.log("error", "stream failed", { error: (e as Error).message });
        push(`data: ${JSON.stringify(err)}\n\n`, true);
        o.metrics.requests.inc({ route, status: String(e instanceof NodeHttpError ? e.status : 500) });
      })
      .finally(() => {
        if (timer !== undefined) clearTimeout(timer);
        if (!closed) {
          closed = true;
          try {
            end();
          } catch {
            /* already closed */
          }
        }
      });
    return response;
  };

  app.post("/v1/completions", completion("completion"));
  app.post("/v1/chat/completions", completion("chat"));

  app.post("/v1/vouchers", async (c) => {
    try {
      await o.direct.acceptVoucher(await readJson(c));
      o.metrics.requests.inc({ route: "/v1/vouchers", status: "200" });
      return c.json({ accepted: true });
    } catch (e) {
      const res = errorResponse(c, e, o.log);
      o.metrics.requests.inc({ route: "/v1/vouchers", status: String(res.status) });
      return res;
    }
  });

  const notFound = (c: Context, what: string) =>
    c.json(
      { error: { message: `${what} is not known to this node.`, type: "invalid_request_error", code: "not_found" } },
      404,
    );
  const parseId = (s: string): bigint | null => (/^\d{1,78}$/.test(s) ? BigInt(s) : null);

  app.get("/v1/batches/:batchId", (c) => {
    const id = parseId(c.req.param("batchId"));
    const b = id === null ? undefined : o.leaves.batch(id);
    if (!b) return notFound(c, `Batch ${c.req.param("batchId")}`);
    return c.json(str({ batchId: String(id), header: b.header, leafCount: b.header.leafCount }) as object);
  });

  app.get("/v1/leaves/:batchId/:index", (c) => {
    const id = parseId(c.req.param("batchId"));
    const index = Number(c.req.param("index"));
    const l = id === null || !Number.isInteger(index) || index < 0 ? undefined : o.leaves.leaf(id, index);
    if (!l) return notFound(c, `Leaf ${c.req.param("batchId")}/${c.req.param("index")}`);
    return c.json(
      str({
        batchId: String(id),
        header: l.header,
        leaf: l.leaf,
        proof: l.proof,
        data: l.data,
      }) as object,
    );
  });

  app.get("/v1/jobs/:jobId/output", (c) => {
    const id = parseId(c.req.param("jobId"));
    const j = id === null ? undefined : o.store.job(id);
    if (!j || !j.output || !["delivered", "done"].includes(j.status)) return notFound(c, `Job ${c.req.param("jobId")}`);
    return c.json({
      jobId: String(id),
      prompt: j.output.prompt,
      text: j.output.text,
      tokens: j.output.tokens,
      outputHash: j.output.outputHash,
    });
  });

  app.notFound((c) => notFound(c, `Route ${c.req.method} ${c.req.path}`));
  app.onError((e, c) => errorResponse(c, e, o.log));
  return app;
}

export function startServer(app: Hono, listen: string): Promise<ServerType> {
  const i = listen.lastIndexOf(":");
  const hostname = listen.slice(0, i);
  const port = Number(listen.slice(i + 1));
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}
