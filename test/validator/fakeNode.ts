/**
 * A stand-in for the node agent's leaf routes (docs/node-api.md: GET /v1/models,
 * GET /v1/batches/:id, GET /v1/leaves/:batchId/:index), used while the real node agent is not
 * available to these tests. It serves whatever the test committed, honest or not; a batch marked
 * silent is answered with 404 (the node "does not serve" its data).
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import type { Hex } from "viem";
import type { Profile } from "../../agents/lib/encodings.ts";
import { profileHash } from "../../agents/lib/encodings.ts";
import type { BatchHeader, BuiltBatch } from "../../agents/lib/batch.ts";
import type { LeafData } from "../../agents/validator/NodeClient.ts";

const json = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x)));

export type ServedBatch = { header: BatchHeader; batch: BuiltBatch; data: LeafData[]; silent: boolean };

export class FakeNode {
  readonly batches = new Map<string, ServedBatch>();
  url = "";
  #server: ServerType | null = null;
  readonly profiles: Profile[];

  constructor(profiles: Profile[]) {
    this.profiles = profiles;
  }

  async start(): Promise<string> {
    const app = new Hono();
    app.get("/v1/models", (c) =>
      c.json({
        object: "list",
        data: this.profiles.map((p) => ({
          id: p.model,
          object: "model",
          llmarket: json({ modelId: p.model, profile: p, profileHash: profileHash(p) }),
        })),
      }),
    );
    app.get("/v1/batches/:id", (c) => {
      const b = this.batches.get(c.req.param("id"));
      if (!b || b.silent)
        return c.json({ error: { message: "unknown batch", type: "not_found", code: "unknown_batch" } }, 404);
      return c.json(
        json({ batchId: c.req.param("id"), header: b.header, leafCount: b.header.leafCount }) as Record<
          string,
          unknown
        >,
      );
    });
    app.get("/v1/leaves/:id/:index", (c) => {
      const b = this.batches.get(c.req.param("id"));
      const i = Number(c.req.param("index"));
      if (!b || b.silent || !(i >= 0 && i < b.batch.leaves.length))
        return c.json({ error: { message: "unknown leaf", type: "not_found", code: "unknown_leaf" } }, 404);
      return c.json(
        json({
          batchId: c.req.param("id"),
          header: b.header,
          leaf: b.batch.leaves[i],
          proof: b.batch.tree.proof(i) as Hex[],
          data: b.data[i],
        }) as Record<string, unknown>,
      );
    });
    await new Promise<void>((resolve) => {
      this.#server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
        this.url = `http://127.0.0.1:${info.port}`;
        resolve();
      });
    });
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}
