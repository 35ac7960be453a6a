/**
 * Checks a node's answer to a ticket before anything is paid: the token ids hash to the output
 * hash under the ticket's profile, the receipt names this ticket, this output and this many
 * tokens (never more than maxTokens), the input hash is the one signed, the streamed token ids are
 * the ones receipted, and the receipt is signed by the node (its address or registered signer)
 * under the ChallengeGame's EIP-712 domain. Throws VerificationError naming the failed check.
 */
import { isAddressEqual, type Address } from "viem";
import { outputHash, type Ticket } from "../lib/encodings.ts";
import { ticketId, verifyReceipt, type SigningDomain } from "../lib/tickets.ts";
import { VerificationError } from "./errors.ts";
import type { LLMarketResult } from "./NodeClient.ts";

export type VerifyContext = {
  ticket: Ticket;
  result: LLMarketResult;
  /** PairEscrow domain (ticket ids). */
  escrowDomain: SigningDomain;
  /** ChallengeGame domain (receipts). */
  receiptDomain: SigningDomain;
  /** Addresses whose receipt signature is accepted: the node and its registered signer. */
  signers: Address[];
  /** Token ids seen in the stream, when streamed. */
  streamedTokens?: number[];
};

export async function verifyResult(ctx: VerifyContext): Promise<void> {
  const { ticket, result } = ctx;
  const fail = (check: string, message: string): never => {
    throw new VerificationError(`Node ${ticket.node} answered with ${message}: it is not paid for this request.`, {
      details: { check, node: ticket.node, ticket, result },
    });
  };
  const id = ticketId(ticket, ctx.escrowDomain);
  if (result.receipt.ticket.toLowerCase() !== id.toLowerCase()) fail("receipt-ticket", "a receipt for another ticket");
  if (result.inputHash.toLowerCase() !== ticket.input.toLowerCase())
    fail("input", "an input hash other than the ticket's");
  if (result.tokens.length > ticket.maxTokens)
    fail("max-tokens", `${result.tokens.length} tokens, above maxTokens ${ticket.maxTokens}`);
  if (result.receipt.tokens !== result.tokens.length)
    fail("receipt-tokens", "a receipt whose token count differs from the tokens sent");
  const computed = outputHash(ticket.profile, result.tokens);
  if (computed.toLowerCase() !== result.outputHash.toLowerCase())
    fail("output-hash", "token ids that do not hash to its output hash");
  if (result.receipt.output.toLowerCase() !== computed.toLowerCase())
    fail("receipt-output", "a receipt for another output");
  if (
    ctx.streamedTokens &&
    (ctx.streamedTokens.length !== result.tokens.length || ctx.streamedTokens.some((t, i) => t !== result.tokens[i]))
  ) {
    fail("stream-tokens", "streamed token ids that differ from the receipted ones");
  }
  for (const signer of ctx.signers) {
    if (await verifyReceipt(result.receipt, signer, result.receiptSignature, ctx.receiptDomain)) return;
  }
  fail(
    "receipt-signature",
    `a receipt not signed by ${ctx.signers.filter((s, i, a) => a.findIndex((x) => isAddressEqual(x, s)) === i).join(" or ")}`,
  );
}
