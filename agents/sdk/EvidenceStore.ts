/**
 * Receipts kept as evidence: one JSON line per verified receipt (the ticket, both signatures, the
 * token ids). A node that later commits a leaf contradicting a receipt can be slashed with it
 * (agents/sdk/equivocation.ts). Append-only; bigints as decimal strings.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Address, Hex } from "viem";
import type { Receipt, Ticket } from "../lib/encodings.ts";

export type Evidence = {
  chainId: number;
  node: Address;
  /** The ticket id (= receipt.ticket). */
  ticketId: Hex;
  ticket: Ticket;
  ticketSignature: Hex;
  receipt: Receipt;
  receiptSignature: Hex;
  tokens: number[];
  receivedAt: string;
};

const replacer = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? v.toString() : v);

export class EvidenceStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  add(e: Evidence): void {
    appendFileSync(this.path, JSON.stringify(e, replacer) + "\n");
  }

  /** Every stored receipt (optionally of one node). Malformed lines are skipped. */
  all(node?: Address): Evidence[] {
    if (!existsSync(this.path)) return [];
    const out: Evidence[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const raw = JSON.parse(line) as Evidence;
        const t = raw.ticket as unknown as Record<string, string>;
        const e: Evidence = {
          ...raw,
          ticket: {
            ...(t as unknown as Ticket),
            pricePerToken: BigInt(t.pricePerToken!),
            sequence: BigInt(t.sequence!),
            expiry: BigInt(t.expiry!),
          },
        };
        if (!node || e.node.toLowerCase() === node.toLowerCase()) out.push(e);
      } catch {
        /* a torn last line after a crash */
      }
    }
    return out;
  }

  /** The receipt for a ticket id, if kept. */
  byTicket(ticketId: Hex): Evidence | undefined {
    return this.all().find((e) => e.ticketId.toLowerCase() === ticketId.toLowerCase());
  }
}
