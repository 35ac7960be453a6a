/**
 * A stand-in node for the one situation a real node agent (agents/node) cannot produce: a receipt
 * whose output hash does not match the tokens returned (the real agent hashes the tokens it
 * streams). Serves the node HTTP API (docs/node-api.md) with real ticket checks and real EIP-712
 * receipts, and a deterministic token generator instead of llama.cpp. Every other SDK test uses
 * real node agents (test/sdk/marketHarness.ts).
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { inputHash, outputHash, type Ticket, type Voucher } from "../../agents/lib/encodings.ts";
import { renderChat, type ChatMessage } from "../../agents/lib/chatTemplate.ts";
import { buildReceipt, signReceipt, ticketId, verifyTicket, verifyVoucher } from "../../agents/lib/tickets.ts";

export type FakeNodeOptions = {
  key: Hex;
  chainId: number;
  escrow: Address;
  game: Address;
  modelId: Hex;
  profileHash: Hex;
  pricePerToken: bigint;
  port?: number;
  /** Report an output hash that does not match the tokens. */
  wrongOutput?: boolean;
};

export function fakeTokens(prompt: string, maxTokens: number): number[] {
  const h = keccak256(toHex(prompt));
  return Array.from(
    { length: maxTokens },
    (_, i) => (parseInt(h.slice(2 + (i % 32) * 2, 4 + (i % 32) * 2), 16) + i) % 200,
  );
}
export const fakeText = (t: number): string => `w${t} `;

export type FakeNode = {
  url: string;
  port: number;
  address: Address;
  vouchers: Voucher[];
  tickets: Ticket[];
  close: () => Promise<void>;
};

export function startFakeNode(o: FakeNodeOptions): Promise<FakeNode> {
  const account = privateKeyToAccount(o.key);
  const receiptKey = account;
  const escrowDomain = { chainId: o.chainId, verifyingContract: o.escrow };
  const gameDomain = { chainId: o.chainId, verifyingContract: o.game };
  const vouchers: Voucher[] = [];
  const tickets: Ticket[] = [];
  const lastSequence = new Map<string, bigint>();
  const app = new Hono();
  const err = (status: number, message: string) =>
    new Response(JSON.stringify({ error: { message, type: "invalid_request_error", code: status } }), {
      status,
      headers: { "content-type": "application/json" },
    });
  app.get("/health", (c) => c.json({ status: "ok", node: account.address, chainId: o.chainId }));
  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [
        {
          id: o.modelId,
          object: "model",
          llmarket: {
            modelId: o.modelId,
            profileHash: o.profileHash,
            pricePerToken: o.pricePerToken.toString(),
            maxTokens: 512,
            contextSize: 2048,
          },
        },
      ],
    }),
  );
  const completion = (kind: "chat" | "completion") => async (c: any) => {
    const body = await c.req.json();
    const w = body.llmarket?.ticket;
    if (!w) return err(400, "no ticket");
    const ticket: Ticket = {
      ...w,
      pricePerToken: BigInt(w.pricePerToken),
      sequence: BigInt(w.sequence),
      expiry: BigInt(w.expiry),
    };
    if (!(await verifyTicket(ticket, body.llmarket.signature, escrowDomain))) return err(401, "bad ticket signature");
    const prompt = kind === "chat" ? renderChat(body.messages as ChatMessage[]) : (body.prompt as string);
    const ih = inputHash({ prompt, maxTokens: body.max_tokens, stop: body.stop ?? [], seed: BigInt(body.seed ?? 0) });
    if (ih !== ticket.input) return err(400, "input hash mismatch");
    if (ticket.node.toLowerCase() !== account.address.toLowerCase()) return err(400, "wrong node");
    if (ticket.pricePerToken < o.pricePerToken) return err(402, "price too low");
    const key = ticket.requester.toLowerCase();
    if (ticket.sequence <= (lastSequence.get(key) ?? 0n)) return err(409, "sequence");
    lastSequence.set(key, ticket.sequence);
    tickets.push(ticket);
    const tokens = fakeTokens(prompt, body.max_tokens);
    const text = tokens.map(fakeText).join("");
    const oh = outputHash(ticket.profile, tokens);
    const receipt = buildReceipt(ticket, escrowDomain, o.wrongOutput ? keccak256("0x01") : oh, tokens.length);
    const receiptSignature = await signReceipt(receiptKey, receipt, gameDomain);
    const llmarket = {
      tokens,
      inputHash: ih,
      outputHash: o.wrongOutput ? keccak256("0x01") : oh,
      ticketId: ticketId(ticket, escrowDomain),
      receipt,
      receiptSignature,
    };
    if (!body.stream) {
      const choice =
        kind === "chat"
          ? { index: 0, message: { role: "assistant", content: text }, finish_reason: "length" }
          : { index: 0, text, finish_reason: "length" };
      return c.json({ id: "x", object: "x", choices: [choice], llmarket });
    }
    const enc = new TextEncoder();
    const chunk = (t: string, ids: number[], finish: string | null, extra?: object) =>
      enc.encode(
        `data: ${JSON.stringify({
          choices: [
            kind === "chat"
              ? { index: 0, delta: finish ? {} : { content: t }, finish_reason: finish }
              : { index: 0, text: t, finish_reason: finish },
          ],
          llmarket: { tokenIds: ids, ...extra },
        })}\n\n`,
      );
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (const t of tokens) ctrl.enqueue(chunk(fakeText(t), [t], null));
        ctrl.enqueue(chunk("", [], "length", llmarket));
        ctrl.enqueue(enc.encode("data: [DONE]\n\n"));
        ctrl.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  };
  app.post("/v1/completions", completion("completion"));
  app.post("/v1/chat/completions", completion("chat"));
  app.post("/v1/vouchers", async (c) => {
    const b = await c.req.json();
    const v: Voucher = {
      ...b.voucher,
      cumulativeAmount: BigInt(b.voucher.cumulativeAmount),
      throughSequence: BigInt(b.voucher.throughSequence),
    };
    if (!(await verifyVoucher(v, b.signature, escrowDomain))) return err(401, "bad voucher signature");
    const last = vouchers.at(-1);
    if (last && v.cumulativeAmount < last.cumulativeAmount) return err(409, "lower voucher");
    vouchers.push(v);
    return c.json({ accepted: true });
  });
  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: app.fetch, port: o.port ?? 0, hostname: "127.0.0.1" }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        address: account.address,
        vouchers,
        tickets,
        close: () =>
          new Promise<void>((r) => {
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => r());
          }),
      }),
    );
  });
}
