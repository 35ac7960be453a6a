/**
 * The validator's HTTP surface on 127.0.0.1 by default: GET /health, GET /metrics, and
 * POST /v1/receipts (a node-signed receipt that contradicts a committed leaf -> proveEquivocation).
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { z } from "zod";
import type { Address, Hex } from "viem";
import { LLMarketError } from "../lib/errors.ts";

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/) as unknown as z.ZodType<Hex>;
export const receiptSubmissionSchema = z.object({
  receipt: z.object({
    ticket: hex32,
    output: hex32,
    tokens: z
      .union([z.number().int(), z.string().regex(/^\d+$/)])
      .transform(Number)
      .pipe(z.number().int().min(0).max(0xffffffff)),
  }),
  signature: z.string().regex(/^0x[0-9a-fA-F]+$/) as unknown as z.ZodType<Hex>,
  node: z.string().regex(/^0x[0-9a-fA-F]{40}$/) as unknown as z.ZodType<Address>,
  batchId: z
    .union([z.string().regex(/^\d+$/), z.number().int().nonnegative()])
    .transform((v) => BigInt(v))
    .optional(),
  leafIndex: z
    .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
    .transform(Number)
    .optional(),
});
export type ReceiptSubmission = z.infer<typeof receiptSubmissionSchema>;

export type ServerHooks = {
  health: () => Promise<{ ok: boolean; body: Record<string, unknown> }>;
  metrics: () => Promise<{ contentType: string; text: string }>;
  submitReceipt: (s: ReceiptSubmission) => Promise<Record<string, unknown>>;
};

export function startValidatorServer(
  host: string,
  port: number,
  hooks: ServerHooks,
): Promise<{ server: ServerType; port: number }> {
  const app = new Hono();
  app.get("/health", async (c) => {
    const h = await hooks.health();
    return c.json(h.body, h.ok ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    const m = await hooks.metrics();
    return c.text(m.text, 200, { "content-type": m.contentType });
  });
  app.post("/v1/receipts", async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return c.json({ error: { message: "body is not JSON", type: "invalid_request", code: "bad_json" } }, 400);
    }
    const parsed = receiptSubmissionSchema.safeParse(raw);
    if (!parsed.success) {
      return c.json(
        {
          error: {
            message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
            type: "invalid_request",
            code: "bad_receipt",
          },
        },
        400,
      );
    }
    try {
      const out = await hooks.submitReceipt(parsed.data);
      return c.json(
        JSON.parse(JSON.stringify(out, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as Record<
          string,
          unknown
        >,
      );
    } catch (e) {
      const message = e instanceof LLMarketError ? e.message : String(e);
      return c.json({ error: { message, type: "rejected", code: "not_equivocation" } }, 422);
    }
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => resolve({ server, port: info.port }));
  });
}
