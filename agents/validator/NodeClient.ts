/**
 * Client of a node agent's HTTP API (docs/node-api.md): leaf data for validators and the
 * profiles the node advertises. Every response is validated with a schema.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import type { Leaf, Profile } from "../lib/encodings.ts";
import type { BatchHeader } from "../lib/batch.ts";
import { LLMarketError } from "../lib/errors.ts";

/** The node did not answer, answered with an error, or answered something malformed. */
export class NodeFetchError extends LLMarketError {
  readonly status: number | null;
  constructor(
    message: string,
    status: number | null,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options);
    this.status = status;
  }
}

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/) as unknown as z.ZodType<Hex>;
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/) as unknown as z.ZodType<Address>;
const big = z
  .union([z.string().regex(/^\d+$/), z.number().int().nonnegative(), z.bigint()])
  .transform((v) => BigInt(v));
const u32 = z
  .union([z.number().int(), z.string().regex(/^\d+$/)])
  .transform(Number)
  .pipe(z.number().int().min(0).max(0xffffffff));

const leafSchema = z.object({
  index: u32,
  kind: u32,
  ref: hex32,
  requester: address,
  model: hex32,
  adapter: hex32,
  input: hex32,
  output: hex32,
  tokens: u32,
  amount: big,
  expiry: big,
  profile: hex32,
});
const headerSchema = z.object({
  node: address,
  leafCount: u32,
  committedAt: big,
  payout: big,
  lock: big,
  root: hex32,
});
export const leafResponseSchema = z.object({
  batchId: big,
  header: headerSchema.optional(),
  leaf: leafSchema,
  proof: z.array(hex32),
  data: z.object({
    prompt: z.string(),
    stop: z.array(z.string()),
    seed: big,
    maxTokens: u32,
    tokens: z.array(u32),
  }),
});
export type LeafResponse = { batchId: bigint; header?: BatchHeader; leaf: Leaf; proof: Hex[]; data: LeafData };
export type LeafData = { prompt: string; stop: string[]; seed: bigint; maxTokens: number; tokens: number[] };

const samplerSchema = z.object({
  kind: u32,
  temperatureMilli: u32,
  topK: u32,
  topPMilli: u32,
  minPMilli: u32,
  repeatPenaltyMilli: u32,
  repeatLastN: u32,
  frequencyPenaltyMilli: u32,
  presencePenaltyMilli: u32,
});
export const profileSchema = z.object({
  model: hex32,
  adapter: hex32,
  llamaBuild: z.string(),
  cpuVariant: z.string(),
  threads: u32,
  batchSize: u32,
  contextSize: u32,
  flashAttention: z.boolean(),
  freshSequence: z.boolean(),
  sampler: samplerSchema,
  chatTemplate: hex32,
  verification: z.object({
    mode: u32,
    exactBelowTokens: u32,
    topK: u32,
    maxMissBps: u32,
    minMeanLogProbMicro: z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform(Number),
  }),
}) as unknown as z.ZodType<Profile>;

const modelsSchema = z.object({
  data: z.array(
    z
      .object({ llmarket: z.object({ profile: z.unknown(), profileHash: hex32.optional() }).passthrough().optional() })
      .passthrough(),
  ),
});

export class NodeClient {
  readonly endpoint: string;
  readonly timeoutMs: number;

  constructor(endpoint: string, timeoutMs = 5_000) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.timeoutMs = timeoutMs;
  }

  private async getJson(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw new NodeFetchError(`node ${this.endpoint} did not answer ${path}`, null, { cause });
    }
    if (!res.ok) throw new NodeFetchError(`node ${this.endpoint} answered ${res.status} to ${path}`, res.status);
    try {
      return await res.json();
    } catch (cause) {
      throw new NodeFetchError(`node ${this.endpoint} answered ${path} with invalid JSON`, res.status, { cause });
    }
  }

  /** GET /v1/leaves/:batchId/:index, schema-checked (not yet checked against the root). */
  async leaf(batchId: bigint, index: number): Promise<LeafResponse> {
    const raw = await this.getJson(`/v1/leaves/${batchId}/${index}`);
    const r = leafResponseSchema.safeParse(raw);
    if (!r.success) {
      throw new NodeFetchError(
        `node ${this.endpoint} served a malformed leaf ${batchId}/${index}: ${r.error.issues[0]?.message}`,
        200,
        {
          details: { issues: r.error.issues.slice(0, 5) },
        },
      );
    }
    return r.data as LeafResponse;
  }

  /** Profiles advertised in GET /v1/models (each entry's `llmarket.profile`). */
  async profiles(): Promise<Profile[]> {
    const raw = modelsSchema.safeParse(await this.getJson("/v1/models"));
    if (!raw.success) throw new NodeFetchError(`node ${this.endpoint} served a malformed /v1/models`, 200);
    const out: Profile[] = [];
    for (const m of raw.data.data) {
      const p = profileSchema.safeParse(m.llmarket?.profile);
      if (p.success) out.push(p.data);
    }
    return out;
  }
}
