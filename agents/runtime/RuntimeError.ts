/**
 * Errors of the inference runtime. Each has a short message (what happened and what to do), a
 * `code`, structured `details` and an optional `cause`.
 */
export class RuntimeError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** A model file could not be read, probed or loaded (missing, truncated, corrupt, unsupported). */
export class ModelLoadError extends RuntimeError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super("MODEL_LOAD", message, details, cause);
  }
}

/** No model with that id (sha256) is registered with the runtime. */
export class UnknownModelError extends RuntimeError {
  constructor(model: string) {
    super("UNKNOWN_MODEL", `unknown model ${model}: register its GGUF file first`, { model });
  }
}

/** The prompt plus maxTokens does not fit in the profile's context. */
export class PromptTooLongError extends RuntimeError {
  constructor(promptTokens: number, maxTokens: number, contextSize: number) {
    super(
      "PROMPT_TOO_LONG",
      `prompt of ${promptTokens} tokens plus maxTokens ${maxTokens} exceeds the context of ${contextSize} tokens: shorten the prompt or lower maxTokens`,
      { promptTokens, maxTokens, contextSize },
    );
  }
}

/** A request is malformed (bad maxTokens, seed, stop strings, ...). */
export class InvalidRequestError extends RuntimeError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("INVALID_REQUEST", message, details);
  }
}

/** The scheduler's queue is full: retry after `retryAfterMs`. */
export class QueueFullError extends RuntimeError {
  readonly retryAfterMs: number;
  constructor(queued: number, capacity: number, retryAfterMs: number) {
    super("QUEUE_FULL", `queue full (${queued}/${capacity}): retry after ${retryAfterMs} ms`, {
      queued,
      capacity,
      retryAfterMs,
    });
    this.retryAfterMs = retryAfterMs;
  }
}

/** A job was cancelled by its AbortSignal. */
export class CancelledError extends RuntimeError {
  constructor(reason?: unknown) {
    super("CANCELLED", "job cancelled by the requester", {}, reason);
  }
}

/** A job exceeded its timeout (queue wait plus execution). */
export class TimeoutError extends RuntimeError {
  constructor(timeoutMs: number) {
    super("TIMEOUT", `job timed out after ${timeoutMs} ms: raise the timeout or retry later`, { timeoutMs });
  }
}

/** The runtime was asked to run a profile it cannot reproduce (different build, CPU variant, ...). */
export class ProfileMismatchError extends RuntimeError {
  constructor(field: string, wanted: unknown, have: unknown) {
    super("PROFILE_MISMATCH", `profile ${field} is ${String(wanted)} but this runtime has ${String(have)}`, {
      field,
      wanted,
      have,
    });
  }
}
