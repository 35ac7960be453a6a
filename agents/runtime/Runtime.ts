/**
 * The inference runtime: runs a job (rendered prompt, maxTokens, stop strings, seed) under a
 * determinism profile on a fresh llama.cpp sequence and returns token ids, text, hashes and timings.
 * Contexts are pooled per (model, adapter, threads, batch, context size, flash attention), each with
 * `parallel` sequences; a job takes a sequence and disposes it afterwards.
 */
import type { LlamaContext, LlamaContextSequence, LlamaModel, SequenceEvaluateOptions, Token } from "node-llama-cpp";
import type { Hex } from "viem";
import {
  inputHash,
  outputHash,
  profileHash,
  SAMPLER_TEMPERATURE,
  ZERO32,
  type InferenceInput,
  type Profile,
} from "../lib/encodings.ts";
import { buildProfile, hasPenalties, validateProfile, type ProfileOptions } from "./DeterminismProfile.ts";
import { llamaBackend, type LlamaBackend } from "./LlamaBackend.ts";
import { ModelStore } from "./ModelStore.ts";
import {
  CancelledError,
  RuntimeError,
  InvalidRequestError,
  ModelLoadError,
  ProfileMismatchError,
  PromptTooLongError,
} from "./RuntimeError.ts";

export const MAX_STOP_STRINGS = 16;

export type TokenEvent = {
  token: number;
  index: number;
  /** Text completed by this token (may be ""). */ text: string;
};

export type GenerateOptions = {
  onToken?: (e: TokenEvent) => void;
  signal?: AbortSignal;
};

export type StopReason = "eos" | "stop" | "maxTokens";

export type GenerationTimings = {
  timeToFirstTokenMs: number;
  totalMs: number;
  promptTokens: number;
  promptTokensPerSecond: number;
  generationTokensPerSecond: number;
};

export type GenerationResult = {
  /** Generated token ids (the committed output; EOS is not included). */
  tokens: number[];
  /** Detokenized text, cut before the first stop string if one was hit. */
  text: string;
  stopReason: StopReason;
  promptTokens: number;
  profileHash: Hex;
  inputHash: Hex;
  outputHash: Hex;
  timings: GenerationTimings;
};

export type RuntimeOptions = {
  /** Parallel sequences per pooled context (default 1). */
  parallel?: number;
  /** JSON file caching model sha256 by path, size and mtime. */
  hashCacheFile?: string;
};

type PooledContext = {
  context: Promise<LlamaContext>;
  model: Promise<LlamaModel>;
  free: number;
  waiters: Array<() => void>;
};

export class Runtime {
  readonly backend: LlamaBackend;
  readonly store: ModelStore;
  readonly parallel: number;
  readonly #contexts = new Map<string, PooledContext>();

  private constructor(backend: LlamaBackend, o: RuntimeOptions) {
    this.backend = backend;
    this.parallel = o.parallel ?? 1;
    this.store = new ModelStore({
      backend,
      ...(o.hashCacheFile === undefined ? {} : { hashCacheFile: o.hashCacheFile }),
    });
  }

  static async create(o: RuntimeOptions = {}): Promise<Runtime> {
    return new Runtime(await llamaBackend(), o);
  }

  /** A profile for this runtime (its build and CPU variant) and a registered model. */
  profile(o: Omit<ProfileOptions, "llamaBuild" | "cpuVariant">): Profile {
    this.store.get(o.model);
    return buildProfile({ ...o, llamaBuild: this.backend.llamaBuild, cpuVariant: this.backend.cpuVariant });
  }

  /** Why this runtime cannot reproduce `p` bit for bit, or null when it can. */
  cannotReproduce(p: Profile): string | null {
    if (p.llamaBuild !== this.backend.llamaBuild)
      return `llama build ${p.llamaBuild} (here ${this.backend.llamaBuild})`;
    if (p.cpuVariant !== this.backend.cpuVariant)
      return `CPU variant ${p.cpuVariant} (here ${this.backend.cpuVariant})`;
    if (!this.store.has(p.model)) return `model ${p.model} is not available here`;
    if (p.adapter !== ZERO32) {
      try {
        this.store.getAdapter(p.adapter);
      } catch {
        return `adapter ${p.adapter} is not available here`;
      }
    }
    return null;
  }

  /** Tokens the prompt is evaluated as: BOS (when the model asks for it) then the prompt text. */
  async promptTokens(p: Profile, prompt: string): Promise<Token[]> {
    const model = await this.store.load(p.model);
    const bos = model.tokens.bos;
    const body = model.tokenize(prompt, false);
    return bos !== null && model.tokens.shouldPrependBosToken ? [bos, ...body] : body;
  }

  async detokenize(p: Profile, tokens: readonly number[]): Promise<string> {
    const model = await this.store.load(p.model);
    return model.detokenize(tokens as Token[]);
  }

  /** Run `fn` on a fresh sequence of the context `p` describes (waits when all are busy). */
  async withSequence<T>(p: Profile, fn: (seq: LlamaContextSequence, model: LlamaModel) => Promise<T>): Promise<T> {
    validateProfile(p);
    const pooled = this.#pooled(p);
    const [context, model] = await Promise.all([pooled.context, pooled.model]);
    while (pooled.free === 0) await new Promise<void>((r) => pooled.waiters.push(r));
    pooled.free--;
    let seq: LlamaContextSequence | undefined;
    try {
      // node-llama-cpp returns a disposed sequence's id to the context asynchronously (under its
      // context lock), so the slot another job just freed may not be usable for a few ticks.
      for (const t0 = Date.now(); context.sequencesLeft === 0;) {
        if (Date.now() - t0 > 10_000)
          throw new RuntimeError("NO_SEQUENCE", "no free sequence in the context after 10 s");
        await new Promise((r) => setTimeout(r, 1));
      }
      seq = context.getSequence();
      return await fn(seq, model);
    } finally {
      seq?.dispose();
      pooled.free++;
      pooled.waiters.shift()?.();
    }
  }

  /** Generate under profile `p`. Token ids are the output; compare them, not text. */
  async generate(p: Profile, input: InferenceInput, o: GenerateOptions = {}): Promise<GenerationResult> {
    validateInput(input);
    validateProfile(p);
    if (p.llamaBuild !== this.backend.llamaBuild)
      throw new ProfileMismatchError("llamaBuild", p.llamaBuild, this.backend.llamaBuild);
    if (p.cpuVariant !== this.backend.cpuVariant)
      throw new ProfileMismatchError("cpuVariant", p.cpuVariant, this.backend.cpuVariant);
    if (o.signal?.aborted) throw new CancelledError(o.signal.reason);
    const prompt = await this.promptTokens(p, input.prompt);
    if (prompt.length === 0) throw new InvalidRequestError("prompt is empty and the model has no BOS token");
    if (prompt.length + input.maxTokens > p.contextSize)
      throw new PromptTooLongError(prompt.length, input.maxTokens, p.contextSize);
    const evalOptions = samplerOptions(p, input);
    const pHash = profileHash(p);
    const iHash = inputHash(input);

    return this.withSequence(p, async (seq, model) => {
      const tokens: number[] = [];
      let text = "";
      let emitted = 0;
      let stopReason: StopReason = "eos";
      const needText = input.stop.length > 0 || o.onToken !== undefined;
      const t0 = performance.now();
      let tFirst = t0;
      if (evalOptions.repeatPenalty !== undefined) {
        const lastN = p.sampler.repeatLastN;
        const history: Token[] = [...prompt];
        // repeatLastN 0 punishes nothing (llama.cpp's "disabled"), as the sampler hash says.
        evalOptions.repeatPenalty.punishTokens = () =>
          lastN === 0 ? [] : history.concat(tokens as Token[]).slice(-lastN);
      }
      for await (const token of seq.evaluate(prompt, evalOptions)) {
        if (tokens.length === 0) tFirst = performance.now();
        tokens.push(token);
        if (needText) {
          text = model.detokenize(tokens as Token[]);
          // Hold back an incomplete UTF-8 sequence (shown as U+FFFD) until its last byte arrives.
          const stable = text.endsWith("\uFFFD") ? text.slice(0, -1) : text;
          const hit = firstStop(stable, input.stop, emitted);
          const upTo = hit ?? stable.length;
          o.onToken?.({ token, index: tokens.length - 1, text: upTo > emitted ? stable.slice(emitted, upTo) : "" });
          emitted = Math.max(emitted, upTo);
          if (hit !== undefined) {
            text = stable.slice(0, hit);
            stopReason = "stop";
            break;
          }
        }
        if (tokens.length >= input.maxTokens) {
          stopReason = "maxTokens";
          break;
        }
        if (o.signal?.aborted) throw new CancelledError(o.signal.reason);
      }
      const tEnd = performance.now();
      if (stopReason !== "stop") text = model.detokenize(tokens as Token[]);
      const ttft = tokens.length > 0 ? tFirst - t0 : tEnd - t0;
      return {
        tokens,
        text,
        stopReason,
        promptTokens: prompt.length,
        profileHash: pHash,
        inputHash: iHash,
        outputHash: outputHash(pHash, tokens),
        timings: {
          timeToFirstTokenMs: ttft,
          totalMs: tEnd - t0,
          promptTokens: prompt.length,
          promptTokensPerSecond: ttft > 0 ? (prompt.length / ttft) * 1000 : 0,
          generationTokensPerSecond:
            tokens.length > 1 && tEnd > tFirst ? ((tokens.length - 1) / (tEnd - tFirst)) * 1000 : 0,
        },
      };
    });
  }

  /** Dispose every pooled context and loaded model. */
  async close(): Promise<void> {
    const all = [...this.#contexts.values()];
    this.#contexts.clear();
    for (const c of all) await c.context.then((x) => x.dispose()).catch(() => undefined);
    await this.store.close();
  }

  #pooled(p: Profile): PooledContext {
    const key = [p.model, p.adapter, p.threads, p.batchSize, p.contextSize, p.flashAttention].join("|");
    let pooled = this.#contexts.get(key);
    if (pooled === undefined) {
      const model = this.store.load(p.model);
      const adapterPath = p.adapter === ZERO32 ? undefined : this.store.getAdapter(p.adapter).path;
      const context = model.then((m) =>
        m
          .createContext({
            contextSize: p.contextSize, // per sequence in node-llama-cpp
            sequences: this.parallel,
            batchSize: p.batchSize,
            threads: p.threads,
            flashAttention: p.flashAttention,
            ...(adapterPath === undefined ? {} : { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } }),
          })
          .catch((e: unknown) => {
            this.#contexts.delete(key);
            throw new ModelLoadError(`cannot create a context for ${p.model}: ${(e as Error).message}`, { key }, e);
          }),
      );
      pooled = { context, model, free: this.parallel, waiters: [] };
      this.#contexts.set(key, pooled);
    }
    return pooled;
  }
}

/** The first stop string's index in `text`, searching from near `from`. */
function firstStop(text: string, stop: readonly string[], from: number): number | undefined {
  let best: number | undefined;
  for (const s of stop) {
    const i = text.indexOf(s, Math.max(0, from - s.length));
    if (i >= 0 && (best === undefined || i < best)) best = i;
  }
  return best;
}

function samplerOptions(p: Profile, input: InferenceInput): SequenceEvaluateOptions {
  const s = p.sampler;
  const o: SequenceEvaluateOptions = {};
  if (s.kind === SAMPLER_TEMPERATURE) {
    if (input.seed > 0xffffffffn) {
      throw new InvalidRequestError(`seed ${input.seed} is above 2^32-1, the largest llama.cpp sampler seed`, {
        seed: String(input.seed),
      });
    }
    o.temperature = s.temperatureMilli / 1000;
    o.seed = Number(input.seed);
    if (s.topK > 0) o.topK = s.topK;
    if (s.topPMilli < 1000) o.topP = s.topPMilli / 1000;
    if (s.minPMilli > 0) o.minP = s.minPMilli / 1000;
  }
  if (hasPenalties(s)) {
    o.repeatPenalty = {
      punishTokens: [],
      penalty: s.repeatPenaltyMilli / 1000,
      frequencyPenalty: s.frequencyPenaltyMilli / 1000,
      presencePenalty: s.presencePenaltyMilli / 1000,
    };
  }
  return o;
}

/** Reject malformed inputs with InvalidRequestError. */
export function validateInput(i: InferenceInput): void {
  if (typeof i.prompt !== "string") throw new InvalidRequestError("prompt must be a string");
  if (!Number.isInteger(i.maxTokens) || i.maxTokens < 1 || i.maxTokens > 0xffffffff) {
    throw new InvalidRequestError(`maxTokens must be an integer from 1 to 2^32-1, got ${i.maxTokens}`, {
      maxTokens: i.maxTokens,
    });
  }
  if (
    !Array.isArray(i.stop) ||
    i.stop.length > MAX_STOP_STRINGS ||
    i.stop.some((s) => typeof s !== "string" || s.length === 0)
  ) {
    throw new InvalidRequestError(`stop must be up to ${MAX_STOP_STRINGS} non-empty strings`);
  }
  if (typeof i.seed !== "bigint" || i.seed < 0n || i.seed >= 2n ** 64n) {
    throw new InvalidRequestError("seed must be a bigint in 0..2^64-1");
  }
}
