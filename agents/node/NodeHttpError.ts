/**
 * An error the HTTP API returns: status, OpenAI-style `type` and `code`, a message that says what
 * to do, and an optional Retry-After (seconds). Body: `{"error":{"message","type","code"}}`.
 */
import { LLMarketError } from "../lib/errors.ts";

export class NodeHttpError extends LLMarketError {
  readonly status: 400 | 401 | 402 | 404 | 409 | 413 | 429 | 500 | 503;
  readonly type: string;
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: NodeHttpError["status"],
    code: string,
    message: string,
    o: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { details: { status, code }, cause: o.cause });
    this.status = status;
    this.code = code;
    this.type =
      status === 401
        ? "authentication_error"
        : status === 402
          ? "payment_required"
          : status === 429
            ? "rate_limit_error"
            : status >= 500
              ? "server_error"
              : "invalid_request_error";
    this.retryAfterSeconds = o.retryAfterSeconds;
  }

  toBody(): { error: { message: string; type: string; code: string } } {
    return { error: { message: this.message, type: this.type, code: this.code } };
  }
}
