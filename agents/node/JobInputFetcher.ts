/**
 * Inputs of hash-only auction jobs (`postJobWithUri`): AuctionMarket keeps only the input hash and
 * the job's URI. The node fetches the input document from the URI (http(s):// or file://), reads
 * at most `maxBytes`, and checks `inputHash(prompt, maxTokens, stop, seed)` against the posted
 * hash before it bids; a document that does not match is refused. The document is JSON:
 * `{"prompt": string, "stop"?: string[], "seed"?: number | decimal string}` (maxTokens is the job's).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { z } from "zod";
import { inputHash, type InferenceInput } from "../lib/encodings.ts";
import { LLMarketError } from "../lib/errors.ts";
import { MAX_STOP_STRINGS } from "../runtime/Runtime.ts";

/** Why a job's input could not be used: `unreachable` may pass on retry, the others are final. */
export type JobInputFailure = "unreachable" | "malformed" | "too_large" | "mismatch";

/** The job's input document could not be fetched, parsed or does not match the posted hash. */
export class JobInputError extends LLMarketError {
  readonly reason: JobInputFailure;
  constructor(
    reason: JobInputFailure,
    message: string,
    o: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { ...o, details: { reason, ...o.details } });
    this.reason = reason;
  }
}

export const jobInputSchema = z.object({
  prompt: z.string(),
  stop: z.array(z.string().min(1)).max(MAX_STOP_STRINGS).optional().default([]),
  seed: z
    .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)])
    .optional()
    .transform((s) => (s === undefined ? 0n : BigInt(s)))
    .refine((s) => s < 2n ** 64n, "seed must be below 2^64"),
});

export type JobInputLimits = { maxBytes: number; timeoutMs: number };
export const DEFAULT_JOB_INPUT_LIMITS: JobInputLimits = { maxBytes: 1 << 20, timeoutMs: 10_000 };

async function readCapped(chunks: AsyncIterable<Uint8Array>, uri: string, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of chunks) {
    size += c.length;
    if (size > maxBytes)
      throw new JobInputError("too_large", `Job input at ${uri} is larger than ${maxBytes} bytes: refusing it.`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts, size);
}

async function readUri(uri: string, limits: JobInputLimits): Promise<Buffer> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    if (uri.startsWith("file://")) {
      const path = fileURLToPath(uri);
      // Only regular files: a device or FIFO must not block or feed the node forever.
      if (!(await stat(path)).isFile()) throw new JobInputError("unreachable", `${uri} is not a regular file.`);
      return await readCapped(createReadStream(path, { signal }), uri, limits.maxBytes);
    }
    if (/^https?:\/\//i.test(uri)) {
      const res = await fetch(uri, { signal, redirect: "follow" });
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw new JobInputError("unreachable", `GET ${uri} answered ${res.status}.`);
      }
      const declared = Number(res.headers.get("content-length") ?? "0");
      if (declared > limits.maxBytes) {
        await res.body.cancel().catch(() => undefined);
        throw new JobInputError("too_large", `Job input at ${uri} is ${declared} bytes, over ${limits.maxBytes}.`);
      }
      return await readCapped(res.body as unknown as AsyncIterable<Uint8Array>, uri, limits.maxBytes);
    }
  } catch (cause) {
    if (cause instanceof JobInputError) throw cause;
    throw new JobInputError("unreachable", `Cannot read job input from ${uri}: ${(cause as Error).message}`, {
      cause,
    });
  }
  throw new JobInputError("malformed", `Job input URI "${uri}" is neither http(s):// nor file://.`);
}

/**
 * Fetches and checks the input of a hash-only job. Resolves with the input (maxTokens = the job's)
 * only when its hash is `expected`; otherwise throws JobInputError.
 */
export async function fetchJobInput(
  uri: string,
  job: { maxTokens: number; inputHash: Hex },
  limits: JobInputLimits = DEFAULT_JOB_INPUT_LIMITS,
): Promise<InferenceInput> {
  const bytes = await readUri(uri, limits);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new JobInputError("malformed", `Job input at ${uri} is not UTF-8 JSON.`);
  }
  const parsed = jobInputSchema.safeParse(doc);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".") || "document"}: ${i.message}`).join("; ");
    throw new JobInputError("malformed", `Job input at ${uri} is not {prompt, stop?, seed?}: ${why}.`);
  }
  const input: InferenceInput = { ...parsed.data, maxTokens: job.maxTokens };
  const got = inputHash(input);
  if (got.toLowerCase() !== job.inputHash.toLowerCase()) {
    throw new JobInputError(
      "mismatch",
      `Job input at ${uri} hashes to ${got}, not the posted inputHash ${job.inputHash}: refusing the job.`,
      { details: { uri, expected: job.inputHash, actual: got } },
    );
  }
  return input;
}
