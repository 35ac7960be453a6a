import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { profileHash, SAMPLER_TEMPERATURE, ZERO32, type Profile } from "../../agents/lib/encodings.ts";
import { makeLoraAdapter, makeModel } from "../../agents/runtime/modelMaker.ts";
import { ModelStore, type ModelRecord } from "../../agents/runtime/ModelStore.ts";
import { Runtime } from "../../agents/runtime/Runtime.ts";
import {
  InvalidRequestError,
  ModelLoadError,
  PromptTooLongError,
  UnknownModelError,
} from "../../agents/runtime/RuntimeError.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "llmarket-runtime-"));
const PROMPT = "Once upon a time, in a land far away, there was a little";
let rt: Runtime;
let q8: ModelRecord;
let q8Path: string;
let q4Path: string;

beforeAll(async () => {
  q8Path = (await makeModel({ preset: "tiny", quant: "q8_0", seed: 1n, out: join(dir, "tiny-q8_0.gguf") })).path;
  q4Path = (await makeModel({ preset: "tiny", quant: "q4_0", seed: 1n, out: join(dir, "tiny-q4_0.gguf") })).path;
  rt = await Runtime.create({ hashCacheFile: join(dir, "data", "model-hashes.json") });
  q8 = await rt.store.register(q8Path); // probed in a child process
});
afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

const input = (maxTokens = 48) => ({ prompt: PROMPT, maxTokens, stop: [] as string[], seed: 0n });

describe("backend", () => {
  it("names the llama build and the CPU backend variant it loaded", () => {
    expect(rt.backend.llamaBuild).toMatch(/^node-llama-cpp@3\.22\.1\+llama\.cpp@[0-9a-f]{12}\+bins@/);
    expect(rt.backend.cpuVariant).toMatch(/^[a-z0-9_]+$/);
  });
});

describe("model store", () => {
  it("reads metadata and caches the sha256 by path, size and mtime", async () => {
    expect(q8.info).toMatchObject({
      architecture: "llama",
      quantization: "MOSTLY_Q8_0",
      contextLength: 1024,
      vocabSize: 260,
    });
    expect(q8.info.parameters).toBeGreaterThan(800_000);
    const cache = JSON.parse(readFileSync(join(dir, "data", "model-hashes.json"), "utf8")) as Record<
      string,
      { sha256: string }
    >;
    expect(cache[q8Path]?.sha256).toBe(q8.sha256);
    expect(await rt.store.sha256(q8Path)).toBe(q8.sha256);
  });

  it("rejects a truncated GGUF with ModelLoadError and survives", async () => {
    const bytes = readFileSync(q8Path);
    const truncated = join(dir, "truncated.gguf");
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(rt.store.register(truncated)).rejects.toBeInstanceOf(ModelLoadError);
    const header = join(dir, "header-only.gguf");
    writeFileSync(header, bytes.subarray(0, 100));
    await expect(rt.store.register(header)).rejects.toBeInstanceOf(ModelLoadError);
  });

  it("rejects a corrupted GGUF (bad tensor type, garbage) with ModelLoadError and survives", async () => {
    const bytes = Buffer.from(readFileSync(q8Path));
    // Find the first tensor info ("token_embd.weight", 2 dims) and set its ggml type to 200.
    const at = bytes.indexOf("token_embd.weight") + "token_embd.weight".length;
    bytes.writeUInt32LE(200, at + 4 + 16);
    const corrupt = join(dir, "corrupt.gguf");
    writeFileSync(corrupt, bytes);
    await expect(rt.store.register(corrupt)).rejects.toBeInstanceOf(ModelLoadError);
    const garbage = join(dir, "garbage.gguf");
    writeFileSync(garbage, Buffer.alloc(4096, 7));
    await expect(rt.store.register(garbage)).rejects.toBeInstanceOf(ModelLoadError);
    await expect(rt.store.register(join(dir, "missing.gguf"))).rejects.toBeInstanceOf(ModelLoadError);
    // still alive and working
    const r = await rt.generate(rt.profile({ model: q8.id, threads: 1, contextSize: 256 }), input(4));
    expect(r.tokens).toHaveLength(4);
  });

  it("turns a probe process that dies (killed here by the probe timeout) into ModelLoadError", async () => {
    const store = new ModelStore({ backend: rt.backend, probeTimeoutMs: 1 });
    const err = (await store.register(q8Path).catch((e: unknown) => e)) as ModelLoadError;
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.details.signal).toBe("SIGKILL");
    expect(err.message).toContain("killed");
  });

  it("rejects an unknown model id", async () => {
    expect(() => rt.profile({ model: `0x${"ab".repeat(32)}`, threads: 1 })).toThrow(UnknownModelError);
  });
});

describe("tokenizer", () => {
  it("round-trips any UTF-8 text through the byte-level SPM vocab", async () => {
    const p = rt.profile({ model: q8.id, threads: 1 });
    for (const text of [
      "Hello, wörld!",
      "日本語 🙂 emoji\n\ttabs  and  double spaces ",
      " leading space",
      "\u0000\u007f\u00ff",
    ]) {
      const tokens = await rt.promptTokens(p, text);
      expect(tokens[0]).toBe(1); // BOS
      expect(await rt.detokenize(p, tokens.slice(1))).toBe(text);
    }
  });
});

describe("determinism (flash attention off)", () => {
  it("gives identical token ids across thread counts, batch sizes and runs", async () => {
    const base = await rt.generate(rt.profile({ model: q8.id, threads: 1, batchSize: 512, contextSize: 256 }), input());
    expect(base.tokens).toHaveLength(48);
    for (const [threads, batchSize] of [
      [2, 512],
      [1, 8],
      [2, 3],
      [1, 512],
    ] as const) {
      const r = await rt.generate(rt.profile({ model: q8.id, threads, batchSize, contextSize: 256 }), input());
      expect(r.tokens, `threads ${threads} batch ${batchSize}`).toEqual(base.tokens);
    }
  });

  it("gives identical token ids in another process", async () => {
    const here = await rt.generate(
      rt.profile({ model: q8.id, threads: 1, batchSize: 64, contextSize: 512 }),
      input(32),
    );
    const { stdout } = await run(process.execPath, [
      join(import.meta.dirname, "fixtures", "generateChild.ts"),
      q8Path,
      "1",
      "64",
      PROMPT,
      "32",
    ]);
    const child = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      tokens: number[];
      outputHash: string;
      profileHash: string;
    };
    expect(child.tokens).toEqual(here.tokens);
    expect(child.profileHash).toBe(here.profileHash);
    expect(child.outputHash).toBe(here.outputHash);
  });

  it("runs more jobs than parallel sequences at once, each on a fresh sequence, with the ids of a lone run", async () => {
    const par = await Runtime.create({ parallel: 2 });
    try {
      const m = await par.store.register(q8Path, { trusted: true });
      const p = par.profile({ model: m.id, threads: 1, batchSize: 512, contextSize: 256 });
      const inputs = Array.from({ length: 6 }, (_, i) => ({ ...input(24), prompt: `${i}: ${PROMPT}` }));
      const alone = [];
      for (const inp of inputs) alone.push((await rt.generate(p, inp)).tokens);
      // Six jobs on two sequences: the waiting ones must get a sequence as soon as one is reclaimed.
      const together = await Promise.all(inputs.map((inp) => par.generate(p, inp)));
      expect(together.map((r) => r.tokens)).toEqual(alone);
    } finally {
      await par.close();
    }
  });

  it("reproduces temperature sampling with the same seed and changes with another seed", async () => {
    const p = rt.profile({
      model: q8.id,
      threads: 1,
      contextSize: 256,
      sampler: { kind: SAMPLER_TEMPERATURE, temperatureMilli: 1500 },
    });
    const a = await rt.generate(p, { ...input(), seed: 42n });
    const b = await rt.generate(p, { ...input(), seed: 42n });
    const c = await rt.generate(p, { ...input(), seed: 43n });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    expect(c.inputHash).not.toBe(a.inputHash);
  });

  it("applies a repeat penalty only when the profile asks for one", async () => {
    const plain = await rt.generate(rt.profile({ model: q8.id, threads: 1, contextSize: 256 }), input(48));
    const penalized = rt.profile({
      model: q8.id,
      threads: 1,
      contextSize: 256,
      sampler: { repeatPenaltyMilli: 1300, repeatLastN: 64 },
    });
    const a = await rt.generate(penalized, input(48));
    const b = await rt.generate(penalized, input(48));
    expect(a.tokens).not.toEqual(plain.tokens);
    expect(b.tokens).toEqual(a.tokens);
    expect(a.profileHash).not.toBe(plain.profileHash);
  });

  it("returns hashes over the profile, input and token ids", async () => {
    const p = rt.profile({ model: q8.id, threads: 1, contextSize: 256 });
    const r = await rt.generate(p, input(8));
    expect(r.profileHash).toBe(profileHash(p));
    const fa: Profile = { ...p, flashAttention: true };
    expect(profileHash(fa)).not.toBe(r.profileHash); // flash attention on is a different, detectable profile
  });

  it("streams tokens and honours stop strings", async () => {
    const p = rt.profile({ model: q8.id, threads: 1, contextSize: 256 });
    const full = await rt.generate(p, input(40));
    const stop = full.text.slice(10, 12);
    const seen: number[] = [];
    let streamed = "";
    const r = await rt.generate(
      p,
      { ...input(40), stop: [stop] },
      {
        onToken: (e) => {
          seen.push(e.token);
          streamed += e.text;
        },
      },
    );
    expect(r.stopReason).toBe("stop");
    expect(seen).toEqual(r.tokens);
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(streamed).toBe(r.text);
    expect(r.timings.timeToFirstTokenMs).toBeGreaterThan(0);
  });
});

describe("bad requests", () => {
  it("rejects zero, fractional and huge maxTokens, and a prompt longer than the context", async () => {
    const p = rt.profile({ model: q8.id, threads: 1, contextSize: 64 });
    await expect(rt.generate(p, input(0))).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(rt.generate(p, input(1.5))).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(rt.generate(p, input(2 ** 40))).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(rt.generate(p, input(1_000_000))).rejects.toBeInstanceOf(PromptTooLongError);
    await expect(rt.generate(p, { ...input(4), prompt: "x".repeat(200) })).rejects.toBeInstanceOf(PromptTooLongError);
    await expect(rt.generate(p, { ...input(4), stop: [""] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(rt.generate(p, { ...input(4), seed: -1n })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(() => rt.profile({ model: q8.id, threads: 0 })).toThrow(InvalidRequestError);
    const r = await rt.generate(p, input(4));
    expect(r.tokens).toHaveLength(4);
  });
});

describe("LoRA adapters", () => {
  it("change the output deterministically and are identified by sha256", async () => {
    const lora = await makeLoraAdapter({
      preset: "tiny",
      seed: 9n,
      rank: 8,
      alpha: 8,
      out: join(dir, "lora.gguf"),
      strength: 1,
    });
    const a = await rt.store.registerAdapter(lora.path, q8.id);
    expect(a.id).toBe(`0x${lora.sha256}`);
    const plain = rt.profile({ model: q8.id, threads: 1, contextSize: 256 });
    const withLora = rt.profile({ model: q8.id, adapter: a.id, threads: 1, contextSize: 256 });
    expect(plain.adapter).toBe(ZERO32);
    const base = await rt.generate(plain, input(32));
    const x = await rt.generate(withLora, input(32));
    const y = await rt.generate(withLora, input(32));
    expect(x.tokens).not.toEqual(base.tokens);
    expect(y.tokens).toEqual(x.tokens);
    expect(x.profileHash).not.toBe(base.profileHash);
  });

  it("rejects a non-adapter GGUF as adapter", async () => {
    await expect(rt.store.registerAdapter(q4Path, q8.id)).rejects.toBeInstanceOf(ModelLoadError);
  });
});

describe("quantization is part of the model identity", () => {
  it("another quantization of the same weights is another model id and other tokens", async () => {
    const q4 = await rt.store.register(q4Path, { trusted: true });
    expect(q4.id).not.toBe(q8.id);
    const a = await rt.generate(rt.profile({ model: q8.id, threads: 1, contextSize: 256 }), input(64));
    const b = await rt.generate(rt.profile({ model: q4.id, threads: 1, contextSize: 256 }), input(64));
    expect(b.tokens).not.toEqual(a.tokens);
    expect(existsSync(q4Path)).toBe(true);
  });
});
