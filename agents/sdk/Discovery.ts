/**
 * Finding nodes: the indexer's ranked list (GET /nodes/ranked, docs/indexer.md) under hard
 * constraints, refined by the round-trip time measured to each candidate (GET /health), and
 * joined with what each node says about the model (GET /v1/models: profile hash, price, limits).
 * Without an indexer, a static list of node endpoints can be given instead.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { IndexerError, NoCandidateError } from "./errors.ts";
import { NodeClient, type NodeModel } from "./NodeClient.ts";

/** Hard constraints a node must meet. */
export type Constraints = {
  /** Max price per token, token wei. */
  maxPricePerToken?: bigint;
  /** Min current reputation, a fraction in [0, 1] (0.5 = neutral). */
  minReputation?: number;
  /** Max latency: advertised SLA and measured round trip, ms. */
  maxLatencyMs?: number;
};

/** A node that can serve the model, with everything needed to sign a ticket for it. */
export type Candidate = {
  address: Address;
  endpoint: string;
  /** Registered signing key (receipts must recover to it or to `address`), when known. */
  signer?: Address;
  pricePerToken: bigint;
  profileHash: Hex;
  /** Model name the node lists (its OpenAI `id`). */
  modelName: string;
  maxTokens: number;
  /** Indexer score in [0, 1] (1 when no indexer). */
  score: number;
  latencySlaMs?: number;
  /** Measured GET /health round trip, ms. */
  rttMs: number;
};

const rankedSchema = z.object({
  nodes: z.array(
    z.object({
      address: z.string(),
      endpoint: z.string(),
      signer: z.string(),
      pricePerToken: z.string(),
      latencySlaMs: z.number(),
      maxTokens: z.number(),
      score: z.number(),
    }),
  ),
});

const modelsSchema = z.object({
  models: z.array(z.object({ id: z.string(), uri: z.string().optional(), nodes: z.number().optional() }).passthrough()),
});

export type IndexerModel = { id: Hex; uri?: string; nodes?: number };

/** Client of the indexer's REST routes used by requesters. */
export class IndexerClient {
  readonly url: string;
  constructor(url: string) {
    this.url = url.replace(/\/+$/, "");
  }

  async #get(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.url + path, { signal: AbortSignal.timeout(10_000) });
    } catch (cause) {
      throw new IndexerError(
        `The indexer at ${this.url} could not be reached: start it (npm run indexer) or pass --indexer.`,
        {
          details: { url: this.url + path },
          cause,
        },
      );
    }
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (res.status === 404 && body.error?.code === "unknown_model") {
      throw new NoCandidateError(`Unknown model: ${body.error.message ?? ""} Check the id with \`llmarket nodes\`.`, {
        details: { url: this.url + path, code: body.error.code },
      });
    }
    if (!res.ok) {
      throw new IndexerError(`The indexer refused ${path}: ${body.error?.message ?? res.statusText}`, {
        details: { status: res.status, code: body.error?.code },
      });
    }
    return body;
  }

  /** GET /nodes/ranked with the constraints. */
  async ranked(modelId: Hex, c: Constraints, limit = 10): Promise<z.infer<typeof rankedSchema>["nodes"]> {
    const q = new URLSearchParams({ model: modelId, limit: String(limit) });
    if (c.maxPricePerToken !== undefined) q.set("maxPrice", c.maxPricePerToken.toString());
    if (c.minReputation !== undefined) q.set("minReputation", String(c.minReputation));
    if (c.maxLatencyMs !== undefined) q.set("maxLatencyMs", String(c.maxLatencyMs));
    const parsed = rankedSchema.safeParse(await this.#get(`/nodes/ranked?${q}`));
    if (!parsed.success)
      throw new IndexerError("The indexer's ranked list has an unexpected shape.", { cause: parsed.error });
    return parsed.data.nodes;
  }

  /** GET /models. */
  async models(): Promise<IndexerModel[]> {
    const parsed = modelsSchema.safeParse(await this.#get("/models"));
    if (!parsed.success)
      throw new IndexerError("The indexer's model list has an unexpected shape.", { cause: parsed.error });
    return parsed.data.models.map((m) => ({ id: m.id as Hex, uri: m.uri, nodes: m.nodes }));
  }
}

/**
 * Orders candidates: drops those whose measured round trip breaks the latency SLA, then sorts by
 * the indexer score discounted by relative round-trip time (`rttWeight` 0 keeps the indexer's
 * order; 1 weighs being twice as slow as the fastest like losing half the score). Stable on ties.
 */
export function orderCandidates(
  cands: readonly Candidate[],
  options: { maxLatencyMs?: number; rttWeight?: number } = {},
): Candidate[] {
  const w = options.rttWeight ?? 0.5;
  const ok = cands.filter((c) => options.maxLatencyMs === undefined || c.rttMs <= options.maxLatencyMs);
  if (ok.length === 0) return [];
  const fastest = Math.min(...ok.map((c) => c.rttMs));
  const adjusted = (c: Candidate): number => c.score * Math.pow((fastest + 5) / (c.rttMs + 5), w);
  return ok
    .map((c, i) => ({ c, i, s: adjusted(c) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.c);
}

/** A static node list entry (no indexer). */
export type StaticNode = { endpoint: string; address?: Address; signer?: Address };

/** Matches a model given by id (0x + 64 hex) or by the name nodes list in /v1/models. */
export function matchesModel(m: NodeModel, model: string): boolean {
  return m.llmarket.modelId.toLowerCase() === model.toLowerCase() || m.id === model;
}

export type DiscoveryOptions = {
  indexerUrl?: string;
  nodes?: StaticNode[];
  /** How many ranked nodes to probe. Default 5. */
  probe?: number;
  rttWeight?: number;
  healthTimeoutMs?: number;
};

export class Discovery {
  readonly indexer?: IndexerClient;
  readonly options: DiscoveryOptions;

  constructor(options: DiscoveryOptions) {
    if (!options.indexerUrl && !options.nodes?.length) {
      throw new NoCandidateError(
        "No way to find nodes: give an indexer URL (--indexer / LLMARKET_INDEXER_URL) or node endpoints (--node).",
      );
    }
    this.options = options;
    if (options.indexerUrl) this.indexer = new IndexerClient(options.indexerUrl);
  }

  /**
   * Candidates for the model, best first, each probed (health + models) so that only reachable
   * nodes that list the model at an acceptable price are returned. Throws NoCandidateError when none.
   */
  async candidates(model: string, c: Constraints = {}): Promise<Candidate[]> {
    type Seed = { address?: Address; endpoint: string; signer?: Address; score: number; latencySlaMs?: number };
    let seeds: Seed[];
    if (this.indexer && /^0x[0-9a-fA-F]{64}$/.test(model)) {
      const ranked = await this.indexer.ranked(model as Hex, c, this.options.probe ?? 5);
      seeds = ranked.map((n) => ({
        address: n.address as Address,
        endpoint: n.endpoint,
        signer: n.signer as Address,
        score: n.score,
        latencySlaMs: n.latencySlaMs,
      }));
    } else if (this.options.nodes?.length) {
      seeds = this.options.nodes.map((n) => ({ ...n, score: 1 }));
    } else {
      throw new NoCandidateError(
        `Model "${model}" must be given as its 32-byte id (0x + 64 hex digits) when discovering through the indexer.`,
        {
          details: { model },
        },
      );
    }
    const probed = await Promise.all(
      seeds.map(async (s): Promise<Candidate | undefined> => {
        const client = new NodeClient(s.endpoint);
        try {
          const health = await client.health(this.options.healthTimeoutMs ?? 2_000);
          if (health.status !== "ok") return undefined;
          if (s.address && health.node.toLowerCase() !== s.address.toLowerCase()) return undefined;
          const entry = (await client.models()).find((m) => matchesModel(m, model));
          if (!entry) return undefined;
          if (c.maxPricePerToken !== undefined && entry.llmarket.pricePerToken > c.maxPricePerToken) return undefined;
          return {
            address: health.node,
            endpoint: s.endpoint,
            signer: s.signer,
            pricePerToken: entry.llmarket.pricePerToken,
            profileHash: entry.llmarket.profileHash,
            modelName: entry.id,
            maxTokens: entry.llmarket.maxTokens,
            score: s.score,
            latencySlaMs: s.latencySlaMs,
            rttMs: health.rttMs,
          };
        } catch {
          return undefined;
        }
      }),
    );
    const ordered = orderCandidates(
      probed.filter((x): x is Candidate => x !== undefined),
      { maxLatencyMs: c.maxLatencyMs, rttWeight: this.options.rttWeight },
    );
    if (ordered.length === 0) {
      throw new NoCandidateError(
        seeds.length === 0
          ? `No registered node offers model ${model} under the constraints: relax --max-price / --min-reputation / --max-latency or pick another model.`
          : `None of the ${seeds.length} node(s) for model ${model} is reachable and serving it under the constraints.`,
        { details: { model, constraints: c, probed: seeds.map((s) => s.endpoint) } },
      );
    }
    return ordered;
  }

  /** The resolved model id (0x…) of a model name, from the candidates' /v1/models. */
  async modelId(model: string): Promise<Hex | undefined> {
    if (/^0x[0-9a-fA-F]{64}$/.test(model)) return model.toLowerCase() as Hex;
    for (const n of this.options.nodes ?? []) {
      try {
        const m = (await new NodeClient(n.endpoint).models()).find((x) => matchesModel(x, model));
        if (m) return m.llmarket.modelId;
      } catch {
        /* try the next */
      }
    }
    return undefined;
  }
}
