/**
 * Generate a llama-architecture GGUF model (or LoRA adapter) with seeded pseudo-random weights.
 *   node scripts/model-make.ts --preset tiny --quant q8_0 --seed 1 --out models/tiny.gguf
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import {
  makeLoraAdapter,
  makeModel,
  parameterCount,
  PRESET_NAMES,
  PRESETS,
  type Preset,
} from "../agents/runtime/modelMaker.ts";
import { QUANTS, type Quant } from "../agents/runtime/quantize.ts";

const HELP = `Usage: node scripts/model-make.ts [options]

Generate a llama-architecture GGUF with seeded pseudo-random weights and a byte-level SPM vocab.
Same preset, quant and seed give the same file (same sha256).

Options (flags override the environment):
  --preset NAME   ${PRESET_NAMES.join(" | ")}  (env MODEL_PRESET, default tiny)
  --quant Q       ${QUANTS.join(" | ")}  (env MODEL_QUANT, default q8_0)
  --seed N        unsigned 64-bit seed (env MODEL_SEED, default 1)
  --out PATH      output file (default models/<preset>-<quant>-s<seed>.gguf)
  --lora RANK     write a LoRA adapter of this rank for the preset instead of a model
  --alpha A       LoRA alpha (default = rank)
  --help          show this help

Presets: ${PRESET_NAMES.map((p) => `${p} (~${(parameterCount(PRESETS[p]) / 1e6).toFixed(1)}M params)`).join(", ")}.
`;

function fail(msg: string): never {
  process.stderr.write(`model-make: ${msg}\nRun with --help for usage.\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      preset: { type: "string" },
      quant: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      lora: { type: "string" },
      alpha: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const preset = values.preset ?? process.env.MODEL_PRESET ?? "tiny";
if (!PRESET_NAMES.includes(preset as Preset)) fail(`unknown preset "${preset}" (${PRESET_NAMES.join(", ")})`);
const quant = values.quant ?? process.env.MODEL_QUANT ?? "q8_0";
if (!QUANTS.includes(quant as Quant)) fail(`unknown quant "${quant}" (${QUANTS.join(", ")})`);
const seedText = values.seed ?? process.env.MODEL_SEED ?? "1";
if (!/^\d+$/.test(seedText) || BigInt(seedText) >= 2n ** 64n)
  fail(`seed must be an unsigned 64-bit integer, got "${seedText}"`);
const seed = BigInt(seedText);

const started = Date.now();
if (values.lora !== undefined) {
  const rank = Number(values.lora);
  if (!Number.isInteger(rank) || rank < 1 || rank > 256) fail(`--lora rank must be an integer in 1..256`);
  const alpha = values.alpha === undefined ? rank : Number(values.alpha);
  if (!Number.isFinite(alpha)) fail(`--alpha must be a number`);
  const out = values.out ?? `models/${preset}-lora-r${rank}-s${seed}.gguf`;
  mkdirSync(dirname(out), { recursive: true });
  const m = await makeLoraAdapter({ preset: preset as Preset, seed, rank, alpha, out });
  process.stdout.write(`${JSON.stringify({ ...m, seconds: (Date.now() - started) / 1000 })}\n`);
} else {
  const out = values.out ?? `models/${preset}-${quant}-s${seed}.gguf`;
  mkdirSync(dirname(out), { recursive: true });
  const big = parameterCount(PRESETS[preset as Preset]) > 50e6;
  let lastPct = -1;
  const m = await makeModel({
    preset: preset as Preset,
    quant: quant as Quant,
    seed,
    out,
    onProgress: (w, total) => {
      const pct = Math.floor((100 * w) / total);
      // A TTY gets a live percentage; a log gets a line every 10%.
      const step = process.stderr.isTTY ? 1 : 10;
      if (big && Math.floor(pct / step) !== Math.floor(lastPct / step)) {
        lastPct = pct;
        const line = `${pct}% ${(w / 2 ** 20).toFixed(0)}/${(total / 2 ** 20).toFixed(0)} MiB`;
        process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
      }
    },
  });
  if (big) process.stderr.write("\n");
  process.stdout.write(`${JSON.stringify({ ...m, seconds: (Date.now() - started) / 1000 })}\n`);
}
