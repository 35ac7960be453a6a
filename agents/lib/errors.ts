/**
 * The base of every error a user of LLMarket can meet: a short message saying what happened and
 * what to do, structured details, and the underlying cause.
 */
export class LLMarketError extends Error {
  readonly details: Record<string, unknown>;

  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
  }
}

/** A configuration file, flag or environment variable is missing or invalid. */
export class ConfigError extends LLMarketError {}
