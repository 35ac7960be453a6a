import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, describe, expect, it } from "vitest";
import { byteVocab, SPACE_TOKEN } from "../../agents/runtime/byteVocab.ts";
import { makeLoraAdapter, makeModel, parameterCount, PRESETS } from "../../agents/runtime/modelMaker.ts";
import { encode, fromHalf, toHalf } from "../../agents/runtime/quantize.ts";
import { SeededRandom } from "../../agents/runtime/SeededRandom.ts";

const dir = mkdtempSync(join(tmpdir(), "llmarket-maker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SeededRandom", () => {
  it("is reproducible per (seed, label) and differs across them", () => {
    const a = new SeededRandom(7n, "x");
    const b = new SeededRandom(7n, "x");
    const c = new SeededRandom(7n, "y");
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
    const f = new Float32Array(1000);
    new SeededRandom(1n).fillUniform(f, 0.5);
    expect(Math.max(...f)).toBeLessThanOrEqual(0.5);
    expect(Math.min(...f)).toBeGreaterThanOrEqual(-0.5);
  });
});

describe("quantize", () => {
  it("converts halves with round-to-nearest-even", () => {
    for (const v of [0, 1, -2, 0.5, 65504, 1e-5, -3.14159, 6e-8])
      expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-3 + 6e-8);
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(1e6)).toBe(0x7c00); // overflow to infinity
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
  });
  it("encodes Q8_0 and Q4_0 blocks within their step size", () => {
    const src = new Float32Array(64);
    new SeededRandom(3n).fillUniform(src, 1);
    const q8 = Buffer.alloc(68);
    expect(encode("q8_0", src, q8)).toBe(68);
    const d = fromHalf(q8.readUInt16LE(0));
    for (let j = 0; j < 32; j++) expect(Math.abs(q8.readInt8(2 + j) * d - src[j]!)).toBeLessThanOrEqual(d);
    const q4 = Buffer.alloc(36);
    expect(encode("q4_0", src, q4)).toBe(36);
    const d4 = fromHalf(q4.readUInt16LE(0));
    for (let j = 0; j < 16; j++)
      expect(Math.abs(((q4[2 + j]! & 15) - 8) * d4 - src[j]!)).toBeLessThanOrEqual(Math.abs(d4) * 1.01);
  });
});

describe("makeModel", () => {
  it("gives the same sha256 for the same preset, seed and quant, and a different one otherwise", async () => {
    const a = await makeModel({ preset: "tiny", quant: "q8_0", seed: 5n, out: join(dir, "a.gguf") });
    const b = await makeModel({ preset: "tiny", quant: "q8_0", seed: 5n, out: join(dir, "b.gguf") });
    const c = await makeModel({ preset: "tiny", quant: "q8_0", seed: 6n, out: join(dir, "c.gguf") });
    const d = await makeModel({ preset: "tiny", quant: "q4_0", seed: 5n, out: join(dir, "d.gguf") });
    expect(b.sha256).toBe(a.sha256);
    expect(c.sha256).not.toBe(a.sha256);
    expect(d.sha256).not.toBe(a.sha256);
    expect(d.bytes).toBeLessThan(a.bytes);
    expect(a.parameters).toBe(parameterCount(PRESETS.tiny));
  });

  it("writes a GGUF v3 that node-llama-cpp's reader understands, for every quant", async () => {
    for (const quant of ["f32", "f16", "q8_0", "q4_0"] as const) {
      const m = await makeModel({ preset: "tiny", quant, seed: 1n, out: join(dir, `t-${quant}.gguf`) });
      const info = await readGgufFileInfo(m.path, { sourceType: "filesystem", logWarnings: false });
      const meta = info.metadata as unknown as {
        general: { architecture: string };
        tokenizer: { ggml: { model: string; tokens: string[]; token_type: number[] }; chat_template: string };
      };
      expect(info.version).toBe(3);
      expect(meta.general.architecture).toBe("llama");
      expect(meta.tokenizer.ggml.model).toBe("llama");
      expect(meta.tokenizer.ggml.tokens).toEqual(byteVocab().tokens);
      expect(meta.tokenizer.ggml.token_type[3]).toBe(6);
      expect(meta.tokenizer.ggml.tokens[SPACE_TOKEN]).toBe("\u2581");
      expect(meta.tokenizer.chat_template).toContain("add_generation_prompt");
      const norm = info.tensorInfo!.find((t) => t.name === "output_norm.weight")!;
      expect(norm.ggmlType).toBe(0); // norms stay F32
    }
  });

  it("writes a LoRA adapter with the shapes llama.cpp checks", async () => {
    const a = await makeLoraAdapter({ preset: "tiny", seed: 1n, rank: 4, alpha: 4, out: join(dir, "lora.gguf") });
    const info = await readGgufFileInfo(a.path, { sourceType: "filesystem", logWarnings: false });
    const meta = info.metadata as unknown as {
      general: { type: string };
      adapter: { type: string; lora: { alpha: number } };
    };
    expect(meta.general.type).toBe("adapter");
    expect(meta.adapter.type).toBe("lora");
    expect(meta.adapter.lora.alpha).toBe(4);
    const la = info.tensorInfo!.find((t) => t.name === "blk.0.attn_q.weight.lora_a")!;
    const lb = info.tensorInfo!.find((t) => t.name === "blk.0.attn_q.weight.lora_b")!;
    expect(la.dimensions.map(Number)).toEqual([128, 4]);
    expect(lb.dimensions.map(Number)).toEqual([4, 128]);
  });
});

describe("scripts/model-make.ts", () => {
  const cli = join(import.meta.dirname, "..", "..", "scripts", "model-make.ts");
  it("writes the same file for the same flags and prints its sha256", () => {
    const run = (out: string) =>
      JSON.parse(
        execFileSync(process.execPath, [cli, "--preset", "tiny", "--quant", "q4_0", "--seed", "3", "--out", out], {
          encoding: "utf8",
        }),
      ) as { sha256: string; parameters: number };
    const a = run(join(dir, "cli-a.gguf"));
    const b = run(join(dir, "cli-b.gguf"));
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.sha256).toBe(a.sha256);
  });
  it("documents itself and rejects bad flags with exit code 2", () => {
    expect(execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" })).toContain("--preset");
    for (const args of [["--preset", "huge"], ["--quant", "q3_k"], ["--seed", "-1"], ["--bogus"]]) {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("model-make:");
    }
  });
});
