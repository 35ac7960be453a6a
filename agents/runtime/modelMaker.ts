/**
 * Generates llama-architecture GGUF models with seeded pseudo-random weights. Same preset, seed and
 * quantization give the same bytes (so the same sha256). Each tensor draws from its own PRNG stream
 * (seed, tensor name), so tensors are generated and written one chunk at a time.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { byteVocab, TOKEN_BOS, TOKEN_EOS, TOKEN_UNK } from "./byteVocab.ts";
import { GgufWriter, type GgufTensorSpec, type GgufValue } from "./ggufWriter.ts";
import { encode, GGML_F32, ggmlType, QK, type Quant } from "./quantize.ts";
import { ggmlTypeSize } from "./ggmlTypeSize.ts";
import { SeededRandom } from "./SeededRandom.ts";

export type ModelShape = {
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  contextLength: number;
  /**
   * Multiplier on the output projection's amplitude. Random weights give nearly flat next-token
   * distributions; scaling the output makes them peaked, closer to a trained model.
   */
  outputScale: number;
};

export type Preset = "tiny" | "small" | "1b" | "7b";
export const PRESETS: Readonly<Record<Preset, ModelShape>> = {
  // ~0.9M params: a few MB at F32, for tests.
  tiny: { nEmbd: 128, nLayer: 4, nHead: 4, nHeadKv: 4, nFf: 352, contextLength: 1024, outputScale: 6 },
  // ~133M params: the demo model.
  small: { nEmbd: 768, nLayer: 14, nHead: 12, nHeadKv: 12, nFf: 3072, contextLength: 2048, outputScale: 6 },
  // Llama-3.2-1B-like blocks (GQA 32/8): ~0.97B params.
  "1b": { nEmbd: 2048, nLayer: 16, nHead: 32, nHeadKv: 8, nFf: 8192, contextLength: 4096, outputScale: 6 },
  // Llama-2-7B blocks: ~6.5B params.
  "7b": { nEmbd: 4096, nLayer: 32, nHead: 32, nHeadKv: 32, nFf: 11008, contextLength: 4096, outputScale: 6 },
};
export const PRESET_NAMES = Object.keys(PRESETS) as Preset[];

/** A minimal chat template (Jinja, as llama.cpp and node-llama-cpp read it). */
export const GENERATED_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant:{% endif %}";

/** llama.cpp `llama_ftype` for the file type key. */
const FILE_TYPE: Record<Quant, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

type TensorPlan = GgufTensorSpec & { amplitude: number; constant?: number };

export type MakeModelOptions = {
  preset: Preset;
  quant: Quant;
  seed: bigint;
  out: string;
  /** Called after each tensor with the bytes written so far and the total. */
  onProgress?: (written: number, total: number) => void;
};

export type MadeModel = { path: string; sha256: string; bytes: number; parameters: number };

/** Number of parameters of a shape with the byte vocabulary. */
export function parameterCount(shape: ModelShape): number {
  return plan(shape, "f32").reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
}

function plan(s: ModelShape, quant: Quant): TensorPlan[] {
  const nVocab = byteVocab().tokens.length;
  const headDim = s.nEmbd / s.nHead;
  const nEmbdKv = headDim * s.nHeadKv;
  const q = ggmlType(quant);
  const lin = (name: string, nIn: number, nOut: number, gain = 1): TensorPlan => ({
    name,
    shape: [nIn, nOut],
    ggmlType: q,
    amplitude: gain * Math.sqrt(3 / nIn),
  });
  const norm = (name: string): TensorPlan => ({
    name,
    shape: [s.nEmbd],
    ggmlType: GGML_F32,
    amplitude: 0,
    constant: 1,
  });
  const tensors: TensorPlan[] = [{ name: "token_embd.weight", shape: [s.nEmbd, nVocab], ggmlType: q, amplitude: 1 }];
  for (let i = 0; i < s.nLayer; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      norm(`${p}attn_norm.weight`),
      lin(`${p}attn_q.weight`, s.nEmbd, s.nEmbd),
      lin(`${p}attn_k.weight`, s.nEmbd, nEmbdKv),
      lin(`${p}attn_v.weight`, s.nEmbd, nEmbdKv),
      lin(`${p}attn_output.weight`, s.nEmbd, s.nEmbd),
      norm(`${p}ffn_norm.weight`),
      lin(`${p}ffn_gate.weight`, s.nEmbd, s.nFf),
      lin(`${p}ffn_up.weight`, s.nEmbd, s.nFf),
      lin(`${p}ffn_down.weight`, s.nFf, s.nEmbd),
    );
  }
  tensors.push(norm("output_norm.weight"), lin("output.weight", s.nEmbd, nVocab, s.outputScale));
  return tensors;
}

function metadata(name: string, s: ModelShape, quant: Quant): Array<[string, GgufValue]> {
  const vocab = byteVocab();
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: name }],
    ["general.file_type", { type: "u32", value: FILE_TYPE[quant] }],
    ["general.alignment", { type: "u32", value: 32 }],
    ["llama.context_length", { type: "u32", value: s.contextLength }],
    ["llama.embedding_length", { type: "u32", value: s.nEmbd }],
    ["llama.block_count", { type: "u32", value: s.nLayer }],
    ["llama.feed_forward_length", { type: "u32", value: s.nFf }],
    ["llama.attention.head_count", { type: "u32", value: s.nHead }],
    ["llama.attention.head_count_kv", { type: "u32", value: s.nHeadKv }],
    ["llama.rope.dimension_count", { type: "u32", value: s.nEmbd / s.nHead }],
    ["llama.rope.freq_base", { type: "f32", value: 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.vocab_size", { type: "u32", value: vocab.tokens.length }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32[]", value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: TOKEN_UNK }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: TOKEN_BOS }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: TOKEN_EOS }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    // No implicit leading space: text round-trips exactly through tokenize/detokenize.
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: GENERATED_CHAT_TEMPLATE }],
  ];
}

const CHUNK = 1 << 16; // elements per chunk (a multiple of the 32-element quant block)

function* tensorChunks(t: TensorPlan, seed: bigint, quant: Quant): Generator<Uint8Array> {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const rng = new SeededRandom(seed, t.name);
  const type = t.ggmlType === GGML_F32 ? "f32" : quant;
  const buf = new Float32Array(Math.min(CHUNK, n));
  const out = Buffer.alloc(ggmlTypeSize(ggmlType(type), buf.length));
  for (let done = 0; done < n; done += CHUNK) {
    const m = Math.min(CHUNK, n - done);
    const view = m === buf.length ? buf : buf.subarray(0, m);
    if (t.constant !== undefined) view.fill(t.constant);
    else rng.fillUniform(view, t.amplitude);
    const bytes = encode(type, view, out);
    yield out.subarray(0, bytes);
  }
}

/** Write a generated model and return its path, sha256, size and parameter count. */
export async function makeModel(o: MakeModelOptions): Promise<MadeModel> {
  const shape = PRESETS[o.preset];
  if (shape === undefined) throw new Error(`unknown preset "${o.preset}"; presets: ${PRESET_NAMES.join(", ")}`);
  if (o.quant !== "f32" && o.quant !== "f16" && (shape.nEmbd % QK !== 0 || shape.nFf % QK !== 0)) {
    throw new Error(`quantized tensors need dimensions divisible by ${QK}`);
  }
  const tensors = plan(shape, o.quant);
  const w = new GgufWriter(o.out, metadata(`llmarket-${o.preset}-${o.quant}-seed${o.seed}`, shape, o.quant), tensors);
  const total = tensors.reduce(
    (a, t) =>
      a +
      ggmlTypeSize(
        t.ggmlType,
        t.shape.reduce((x, y) => x * y, 1),
      ),
    0,
  );
  let written = 0;
  for (const t of tensors) {
    w.writeTensor(t.name, tensorChunks(t, o.seed, o.quant));
    written += ggmlTypeSize(
      t.ggmlType,
      t.shape.reduce((x, y) => x * y, 1),
    );
    o.onProgress?.(written, total);
  }
  w.close();
  const { size, sha256 } = await sha256File(o.out);
  return { path: o.out, sha256, bytes: size, parameters: parameterCount(shape) };
}

/** sha256 (hex) and size of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest("hex"), size };
}

export type MakeLoraOptions = {
  preset: Preset;
  seed: bigint;
  rank: number;
  alpha: number;
  out: string;
  /** Which per-block weights get an adapter (default attn_q and attn_v, all blocks). */
  targets?: readonly string[];
  /** Amplitude of lora_b (lora_a is ~1/sqrt(n_in)); larger = stronger effect. */
  strength?: number;
};

/**
 * Write a LoRA adapter GGUF for a generated base model of `preset`: general.type "adapter",
 * adapter.type "lora", adapter.lora.alpha, tensors `<base>.lora_a` with shape [n_in, rank] and
 * `<base>.lora_b` with shape [rank, n_out] (the shapes llama-adapter.cpp checks), F32.
 */
export async function makeLoraAdapter(o: MakeLoraOptions): Promise<MadeModel> {
  const s = PRESETS[o.preset];
  const targets = o.targets ?? ["attn_q", "attn_v"];
  const nEmbdKv = (s.nEmbd / s.nHead) * s.nHeadKv;
  const outDim: Record<string, number> = { attn_q: s.nEmbd, attn_k: nEmbdKv, attn_v: nEmbdKv, attn_output: s.nEmbd };
  const tensors: TensorPlan[] = [];
  for (let i = 0; i < s.nLayer; i++) {
    for (const t of targets) {
      const nOut = outDim[t];
      if (nOut === undefined) throw new Error(`unsupported LoRA target "${t}"`);
      const base = `blk.${i}.${t}.weight`;
      tensors.push({
        name: `${base}.lora_a`,
        shape: [s.nEmbd, o.rank],
        ggmlType: GGML_F32,
        amplitude: Math.sqrt(3 / s.nEmbd),
      });
      tensors.push({ name: `${base}.lora_b`, shape: [o.rank, nOut], ggmlType: GGML_F32, amplitude: o.strength ?? 0.5 });
    }
  }
  const meta: Array<[string, GgufValue]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.type", { type: "string", value: "adapter" }],
    ["general.name", { type: "string", value: `llmarket-lora-${o.preset}-seed${o.seed}` }],
    ["general.alignment", { type: "u32", value: 32 }],
    ["adapter.type", { type: "string", value: "lora" }],
    ["adapter.lora.alpha", { type: "f32", value: o.alpha }],
  ];
  const w = new GgufWriter(o.out, meta, tensors);
  for (const t of tensors) w.writeTensor(t.name, tensorChunks(t, o.seed, "f32"));
  w.close();
  const { size, sha256 } = await sha256File(o.out);
  return { path: o.out, sha256, bytes: size, parameters: tensors.reduce((a, t) => a + t.shape[0]! * t.shape[1]!, 0) };
}
