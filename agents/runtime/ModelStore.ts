/**
 * Models and LoRA adapters known to the runtime, by id (the GGUF file's sha256 as bytes32).
 * Registering a file hashes it once (cached by path, size and mtime in a small JSON file), reads
 * its metadata with node-llama-cpp's GGUF reader and, unless it is trusted, probes it in a child
 * process first: a malformed file that trips a GGML_ASSERT kills the probe, not the agent.
 */
import { fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GgufFileType, readGgufFileInfo, type LlamaModel } from "node-llama-cpp";
import type { Hex } from "viem";
import { modelId } from "../lib/encodings.ts";
import type { LlamaBackend } from "./LlamaBackend.ts";
import { sha256File } from "./modelMaker.ts";
import { ModelLoadError, UnknownModelError } from "./RuntimeError.ts";

export type ModelInfo = {
  architecture: string;
  name: string | null;
  /** Sum of tensor elements. */
  parameters: number;
  /** llama.cpp file type name, e.g. "MOSTLY_Q8_0". */
  quantization: string;
  /** GGUF `general.file_type` (llama_ftype), as ModelRegistry stores it; null when absent. */
  fileType: number | null;
  contextLength: number;
  vocabSize: number;
  chatTemplate: string | null;
};

export type ModelRecord = { id: Hex; sha256: string; path: string; size: number; info: ModelInfo };
export type AdapterRecord = { id: Hex; sha256: string; path: string; size: number; alpha: number; base: Hex };

type HashCacheEntry = { size: number; mtimeMs: number; sha256: string };

export type ModelStoreOptions = {
  backend: LlamaBackend;
  /** JSON file caching sha256 by path, size and mtime (default: no persistent cache). */
  hashCacheFile?: string;
  /** Probe timeout in ms (default 60 s). */
  probeTimeoutMs?: number;
};

const PROBE_SCRIPT = fileURLToPath(new URL("./modelProbe.ts", import.meta.url));

export class ModelStore {
  readonly #backend: LlamaBackend;
  readonly #cacheFile: string | undefined;
  readonly #probeTimeoutMs: number;
  readonly #models = new Map<Hex, ModelRecord>();
  readonly #adapters = new Map<Hex, AdapterRecord>();
  readonly #loaded = new Map<Hex, Promise<LlamaModel>>();
  #hashCache: Record<string, HashCacheEntry> = {};

  constructor(o: ModelStoreOptions) {
    this.#backend = o.backend;
    this.#cacheFile = o.hashCacheFile;
    this.#probeTimeoutMs = o.probeTimeoutMs ?? 60_000;
    if (this.#cacheFile !== undefined && existsSync(this.#cacheFile)) {
      try {
        this.#hashCache = JSON.parse(readFileSync(this.#cacheFile, "utf8")) as Record<string, HashCacheEntry>;
      } catch {
        this.#hashCache = {}; // a damaged cache is only a cache: recompute
      }
    }
  }

  /** sha256 of a file, from the cache when path, size and mtime are unchanged. */
  async sha256(path: string): Promise<string> {
    const abs = resolve(path);
    let st;
    try {
      st = statSync(abs);
    } catch (e) {
      throw new ModelLoadError(`model file not found: ${abs}`, { path: abs }, e);
    }
    const hit = this.#hashCache[abs];
    if (hit !== undefined && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
    const { sha256 } = await sha256File(abs);
    this.#hashCache[abs] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
    if (this.#cacheFile !== undefined) {
      mkdirSync(dirname(this.#cacheFile), { recursive: true });
      const tmp = `${this.#cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.#hashCache, null, 1));
      renameSync(tmp, this.#cacheFile);
    }
    return sha256;
  }

  /** Register a GGUF model; untrusted files are probed in a child process first. */
  async register(path: string, o: { trusted?: boolean } = {}): Promise<ModelRecord> {
    const abs = resolve(path);
    const sha256 = await this.sha256(abs);
    const id = modelId(sha256);
    const known = this.#models.get(id);
    if (known !== undefined) return known;
    const info = await readModelInfo(abs);
    if (o.trusted !== true) await this.#probe([abs]);
    const rec: ModelRecord = { id, sha256, path: abs, size: statSync(abs).size, info };
    this.#models.set(id, rec);
    return rec;
  }

  /** Register a LoRA adapter for a registered base model (probed on top of the base). */
  async registerAdapter(path: string, base: Hex, o: { trusted?: boolean } = {}): Promise<AdapterRecord> {
    const baseRec = this.get(base);
    const abs = resolve(path);
    const sha256 = await this.sha256(abs);
    const id = modelId(sha256);
    const known = this.#adapters.get(id);
    if (known !== undefined) return known;
    let meta: Record<string, unknown>;
    try {
      meta = (await readGgufFileInfo(abs, { sourceType: "filesystem", readTensorInfo: false, logWarnings: false }))
        .metadata as unknown as Record<string, unknown>;
    } catch (e) {
      throw new ModelLoadError(`cannot read adapter GGUF ${abs}: ${(e as Error).message}`, { path: abs }, e);
    }
    const general = meta.general as { type?: string } | undefined;
    const adapter = meta.adapter as { type?: string; lora?: { alpha?: number } } | undefined;
    if (general?.type !== "adapter" || adapter?.type !== "lora") {
      throw new ModelLoadError(`${abs} is not a LoRA adapter (general.type "adapter", adapter.type "lora")`, {
        path: abs,
      });
    }
    if (o.trusted !== true) await this.#probe([baseRec.path, abs]);
    const rec: AdapterRecord = {
      id,
      sha256,
      path: abs,
      size: statSync(abs).size,
      alpha: adapter.lora?.alpha ?? 0,
      base,
    };
    this.#adapters.set(id, rec);
    return rec;
  }

  /** The record of a registered model; throws UnknownModelError otherwise. */
  get(id: Hex): ModelRecord {
    const rec = this.#models.get(id.toLowerCase() as Hex);
    if (rec === undefined) throw new UnknownModelError(id);
    return rec;
  }

  has(id: Hex): boolean {
    return this.#models.has(id.toLowerCase() as Hex);
  }

  getAdapter(id: Hex): AdapterRecord {
    const rec = this.#adapters.get(id.toLowerCase() as Hex);
    if (rec === undefined) throw new UnknownModelError(`adapter ${id}`);
    return rec;
  }

  models(): ModelRecord[] {
    return [...this.#models.values()];
  }

  /** The loaded llama.cpp model (loaded once, on first use). */
  load(id: Hex): Promise<LlamaModel> {
    const rec = this.get(id);
    let p = this.#loaded.get(rec.id);
    if (p === undefined) {
      p = this.#backend.llama.loadModel({ modelPath: rec.path }).catch((e: unknown) => {
        this.#loaded.delete(rec.id);
        throw new ModelLoadError(`cannot load model ${rec.path}: ${(e as Error).message}`, { path: rec.path }, e);
      });
      this.#loaded.set(rec.id, p);
    }
    return p;
  }

  /** Dispose every loaded model. */
  async close(): Promise<void> {
    const all = [...this.#loaded.values()];
    this.#loaded.clear();
    for (const p of all) await p.then((m) => m.dispose()).catch(() => undefined);
  }

  #probe(args: string[]): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const child = fork(PROBE_SCRIPT, args, { stdio: ["ignore", "ignore", "pipe", "ipc"] });
      let stderr = "";
      let result: { ok: boolean; error?: string } | undefined;
      child.stderr?.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      child.on("message", (m) => {
        result = m as { ok: boolean; error?: string };
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), this.#probeTimeoutMs);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (result?.ok === true && code === 0) return resolvePromise();
        const why =
          result?.error ??
          (signal !== null ? `probe process killed by ${signal}` : `probe process exited with code ${code}`);
        const assert = /GGML_ASSERT[^\n]*/.exec(stderr)?.[0];
        reject(
          new ModelLoadError(
            `GGUF ${args.at(-1)} failed to load: ${assert ?? why}. The file is corrupt, truncated or unsupported.`,
            {
              path: args.at(-1),
              exitCode: code,
              signal,
              stderrTail: stderr.slice(-1000),
            },
          ),
        );
      });
    });
  }
}

/** Reads a GGUF file's header: architecture, parameter count, quantization, context, vocabulary. */
export async function readModelInfo(path: string): Promise<ModelInfo> {
  try {
    const i = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false });
    const meta = i.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
    const general = (meta.general ?? {}) as { architecture?: string; name?: string; file_type?: number };
    const arch = general.architecture ?? "unknown";
    const archMeta = (meta[arch] ?? {}) as { context_length?: number; vocab_size?: number };
    const tok = (meta.tokenizer ?? {}) as { ggml?: { tokens?: unknown[] }; chat_template?: string };
    const parameters = (i.fullTensorInfo ?? i.tensorInfo ?? []).reduce(
      (a, t) => a + t.dimensions.reduce((x: number, y) => x * Number(y), 1),
      0,
    );
    const ft = general.file_type;
    return {
      architecture: arch,
      name: general.name ?? null,
      parameters,
      quantization: ft === undefined ? "unknown" : (GgufFileType[ft] ?? `file_type ${ft}`),
      fileType: ft ?? null,
      contextLength: archMeta.context_length ?? 0,
      vocabSize: archMeta.vocab_size ?? tok.ggml?.tokens?.length ?? 0,
      chatTemplate: tok.chat_template ?? null,
    };
  } catch (e) {
    throw new ModelLoadError(`cannot read GGUF header of ${path}: ${(e as Error).message}`, { path }, e);
  }
}
