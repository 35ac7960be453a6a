import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InferenceInput, Profile } from "../../agents/lib/encodings.ts";
import { makeModel } from "../../agents/runtime/modelMaker.ts";
import type { ModelRecord } from "../../agents/runtime/ModelStore.ts";
import { Runtime } from "../../agents/runtime/Runtime.ts";
import { Verifier, type ExactStats, type RescoreStats } from "../../agents/runtime/Verifier.ts";

const dir = mkdtempSync(join(tmpdir(), "llmarket-verifier-"));
let rt: Runtime;
let verifier: Verifier;
let q8: ModelRecord;
let q4: ModelRecord;
let profile: Profile;
let honest: number[];
const input: InferenceInput = {
  prompt: "Once upon a time, in a land far away, there was a little",
  maxTokens: 64,
  stop: [],
  seed: 0n,
};

beforeAll(async () => {
  const a = await makeModel({ preset: "tiny", quant: "q8_0", seed: 1n, out: join(dir, "q8.gguf") });
  const b = await makeModel({ preset: "tiny", quant: "q4_0", seed: 1n, out: join(dir, "q4.gguf") });
  rt = await Runtime.create();
  verifier = new Verifier(rt);
  q8 = await rt.store.register(a.path, { trusted: true });
  q4 = await rt.store.register(b.path, { trusted: true });
  profile = rt.profile({ model: q8.id, threads: 1, contextSize: 256 });
  honest = (await rt.generate(profile, input)).tokens;
  expect(honest).toHaveLength(64);
});
afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Substitute every 20th token (5%) with another byte token. */
function substitute(tokens: readonly number[]): number[] {
  return tokens.map((t, i) => (i % 20 === 7 ? 3 + ((t - 3 + 101) % 256) : t));
}

describe("Verifier", () => {
  it("passes an honest leaf in exact and in rescore mode", async () => {
    const exact = await verifier.verify(input, honest, profile);
    expect(exact).toMatchObject({ pass: true, mode: "exact" });
    const rescore = await verifier.verify(input, honest, profile, { mode: "rescore" });
    expect(rescore.pass, rescore.reason).toBe(true);
    expect(rescore.mode).toBe("rescore");
    expect((rescore.stats as RescoreStats).argmaxAgree).toBeGreaterThanOrEqual(60);
  });

  it("passes an honest leaf re-scored with other threads and batch size", async () => {
    const v = await verifier.verify(input, honest, profile, {
      mode: "rescore",
      rescoreThreads: 2,
      rescoreBatchSize: 16,
    });
    expect(v.pass, v.reason).toBe(true);
  });

  it("detects 5% substituted tokens in both modes", async () => {
    const bad = substitute(honest);
    const exact = await verifier.verify(input, bad, profile);
    expect(exact.pass).toBe(false);
    expect((exact.stats as ExactStats).firstMismatch).toBe(7);
    const rescore = await verifier.verify(input, bad, profile, { mode: "rescore" });
    expect(rescore.pass).toBe(false);
    expect((rescore.stats as RescoreStats).misses).toBeGreaterThanOrEqual(3);
  });

  it("detects truncation and another quantization's output", async () => {
    const cut = honest.slice(0, 32);
    expect((await verifier.verify(input, cut, profile)).pass).toBe(false);
    const r = await verifier.verify(input, cut, profile, { mode: "rescore" });
    expect(r.pass).toBe(false);
    expect(r.reason).toContain("EOS");
    const other = await rt.generate(rt.profile({ model: q4.id, threads: 1, contextSize: 256 }), input);
    expect((await verifier.verify(input, other.tokens, profile)).pass).toBe(false);
  });

  it("detects a profile with flash attention on only through its hash, and verifies it exactly", async () => {
    const fa: Profile = { ...profile, flashAttention: true };
    const r = await rt.generate(fa, input);
    const v = await verifier.verify(input, r.tokens, fa);
    expect(v).toMatchObject({ pass: true, mode: "exact" });
    expect(v.profileHash).not.toBe((await verifier.verify(input, honest, profile)).profileHash);
  });

  it("falls back to rescore for a profile it cannot reproduce, and refuses short leaves there", async () => {
    const foreign: Profile = { ...profile, cpuVariant: "zen4-elsewhere" };
    const long = await verifier.verify(input, honest, foreign);
    expect(long.mode).toBe("rescore");
    expect(long.pass, long.reason).toBe(true);
    const short = await verifier.verify({ ...input, maxTokens: 8 }, honest.slice(0, 8), foreign);
    expect(short.mode).toBe("cannot-verify");
    expect(short.pass).toBe(false);
  });

  it("says it cannot verify when the model is missing", async () => {
    const v = await verifier.verify(input, honest, { ...profile, model: `0x${"cd".repeat(32)}` });
    expect(v).toMatchObject({ pass: false, mode: "cannot-verify" });
    expect(v.reason).toContain("not available");
  });

  it("fails a leaf with more tokens than maxTokens", async () => {
    const v = await verifier.verify({ ...input, maxTokens: 10 }, honest, profile);
    expect(v.pass).toBe(false);
  });
});
