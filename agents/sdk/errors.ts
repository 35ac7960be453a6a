/**
 * Errors a requester can meet. Each says what happened and what to do; `details` carries the
 * values that explain it (node, model, amounts) and `cause` the underlying error.
 */
import { LLMarketError } from "../lib/errors.ts";

/** A node answered with an error status, timed out, or broke the stream. `details.status` is the HTTP status (0 = network). */
export class NodeRequestError extends LLMarketError {
  get status(): number {
    return typeof this.details.status === "number" ? this.details.status : 0;
  }
  /** Whether another node may succeed where this one failed. */
  get retryable(): boolean {
    const s = this.status;
    return s === 0 || s === 408 || s === 409 || s === 429 || s === 402 || s >= 500;
  }
}

/** A node's answer does not check out: output hash, receipt or signature mismatch. The node is not paid. */
export class VerificationError extends LLMarketError {}

/** A request would exceed the per-request or per-session spending cap. */
export class BudgetExceededError extends LLMarketError {}

/** No pair has enough unreserved escrow for the request's worst-case cost. */
export class InsufficientEscrowError extends LLMarketError {}

/** No node offers the model under the constraints (or the model is unknown). */
export class NoCandidateError extends LLMarketError {}

/** Every candidate failed; `details.attempts` lists each node and why. */
export class AllCandidatesFailedError extends LLMarketError {}

/** An auction job did not produce a verified result (no bids, missed deadline, bad output). */
export class AuctionError extends LLMarketError {}

/** The indexer could not be reached or rejected the query. */
export class IndexerError extends LLMarketError {}

/** A contract call reverted or a transaction failed. */
export class ChainError extends LLMarketError {}

/** A node signed a receipt that contradicts the leaf it committed. `details` holds the evidence. */
export class EquivocationError extends LLMarketError {}
