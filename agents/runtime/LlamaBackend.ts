/**
 * The process-wide llama.cpp binding: loaded once, CPU only, offline, with the facts a determinism
 * profile pins: the build string and the CPU backend variant llama.cpp picked for this machine.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { getLlama, getModuleVersion, LlamaLogLevel, type Llama } from "node-llama-cpp";

export type LlamaBackend = {
  llama: Llama;
  /** e.g. "node-llama-cpp@3.22.1+llama.cpp@de3ff815ea7d+bins@v0.5.0" */
  llamaBuild: string;
  /** The ggml CPU backend library llama.cpp loaded, e.g. "sapphirerapids", "haswell", "x64". */
  cpuVariant: string;
};

let backend: Promise<LlamaBackend> | undefined;

/** Load (once) and return the CPU llama.cpp backend. */
export function llamaBackend(): Promise<LlamaBackend> {
  backend ??= load();
  return backend;
}

async function load(): Promise<LlamaBackend> {
  let cpuVariant: string | undefined;
  const llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.debug,
    logger: (level, message) => {
      const m = /libggml-cpu-([a-z0-9_]+)\.so/.exec(message);
      if (m !== null && message.includes("load_backend")) cpuVariant = m[1];
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(`[llama] ${message}\n`);
    },
  });
  llama.logLevel = LlamaLogLevel.error;
  const version = await getModuleVersion();
  const release = llama.llamaCppRelease.release;
  return {
    llama,
    llamaBuild: `node-llama-cpp@${version}+llama.cpp@${llamaCppCommit() ?? "unknown"}+bins@${release}+${llama.buildType}`,
    cpuVariant: mappedCpuVariant() ?? cpuVariant ?? `features:${featureString(llama.systemInfo)}`,
  };
}

/**
 * The CPU backend library mapped into this process (Linux). The load log names it too, but only the
 * first time the native addon loads in a process, so the mapping is the reliable source.
 */
function mappedCpuVariant(): string | undefined {
  try {
    return /libggml-cpu-([a-z0-9_]+)\.so/.exec(readFileSync("/proc/self/maps", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/** The llama.cpp commit node-llama-cpp bundles (the HEAD line of its git bundle), if present. */
function llamaCppCommit(): string | undefined {
  try {
    const path = fileURLToPath(new URL("../llama/gitRelease.bundle", import.meta.resolve("node-llama-cpp")));
    const fd = openSync(path, "r");
    const buf = Buffer.alloc(256);
    readSync(fd, buf, 0, 256, 0);
    closeSync(fd);
    const m = /\n([0-9a-f]{40}) HEAD\n/.exec(buf.toString("latin1"));
    return m?.[1]?.slice(0, 12);
  } catch {
    return undefined;
  }
}

function featureString(systemInfo: string): string {
  return [...systemInfo.matchAll(/([A-Z0-9_]+) = 1/g)].map((m) => m[1]).join(",");
}
