/**
 * Spending caps for a requester: a cap per request (its worst case, maxTokens x price) and a cap per
 * session (everything settled plus everything in flight). A request reserves its worst case before
 * its ticket is signed; settling replaces the reservation with what the receipt proves was used.
 */
import { BudgetExceededError } from "./errors.ts";

export type BudgetLimits = {
  /** Largest worst-case cost (maxTokens x pricePerToken, token wei) of one request. */
  perRequest?: bigint;
  /** Largest total (settled + in flight, token wei) over this Budget's lifetime. */
  perSession?: bigint;
};

/** A worst-case amount held against the session cap until settled or released. */
export type BudgetHold = { readonly amount: bigint; done: boolean };

export class Budget {
  readonly limits: BudgetLimits;
  #spent = 0n;
  #held = 0n;

  constructor(limits: BudgetLimits = {}) {
    this.limits = limits;
  }

  /** Settled spending so far. */
  get spent(): bigint {
    return this.#spent;
  }

  /** Worst-case amount of requests in flight. */
  get held(): bigint {
    return this.#held;
  }

  /** What the session may still commit (undefined = no cap). */
  get remaining(): bigint | undefined {
    if (this.limits.perSession === undefined) return undefined;
    const left = this.limits.perSession - this.#spent - this.#held;
    return left > 0n ? left : 0n;
  }

  /** Throws BudgetExceededError if `worstCase` breaks a cap; otherwise holds it. */
  hold(worstCase: bigint): BudgetHold {
    const { perRequest, perSession } = this.limits;
    if (perRequest !== undefined && worstCase > perRequest) {
      throw new BudgetExceededError(
        `This request may cost up to ${worstCase} token wei, above the per-request cap of ${perRequest}: lower max_tokens or the price, or raise the cap.`,
        { details: { kind: "perRequest", worstCase, cap: perRequest } },
      );
    }
    if (perSession !== undefined && this.#spent + this.#held + worstCase > perSession) {
      throw new BudgetExceededError(
        `The session cap of ${perSession} token wei would be exceeded (spent ${this.#spent}, in flight ${this.#held}, this request up to ${worstCase}): start a new session or raise the cap.`,
        { details: { kind: "perSession", worstCase, cap: perSession, spent: this.#spent, held: this.#held } },
      );
    }
    this.#held += worstCase;
    return { amount: worstCase, done: false };
  }

  /** Replaces the hold by the amount actually paid (<= the hold). */
  settle(hold: BudgetHold, paid: bigint): void {
    if (hold.done) return;
    hold.done = true;
    this.#held -= hold.amount;
    this.#spent += paid < hold.amount ? paid : hold.amount;
  }

  /** Drops a hold without spending (the request failed before any receipt). */
  release(hold: BudgetHold): void {
    this.settle(hold, 0n);
  }
}
