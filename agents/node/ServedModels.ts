/**
 * The models this node serves: each GGUF registered with the runtime (sha256 = model id; a
 * registered id is fetched from its ModelRegistry URI and verified), with its price and its one
 * determinism profile (threads pinned, flash attention off, greedy, the protocol chat template).
 */
import { basename, join } from "node:path";
import type { Hex } from "viem";
import { CHAT_TEMPLATE_ID } from "../lib/chatTemplate.ts";
import { ConfigError } from "../lib/errors.ts";
import { profileHash, type Profile } from "../lib/encodings.ts";
import type { Runtime } from "../runtime/Runtime.ts";
import { fetchModel } from "./ModelFetcher.ts";
import type { NodeChain } from "./NodeChain.ts";
import type { NodeConfig } from "./NodeConfig.ts";

export type ServedModel = {
  id: Hex;
  name: string;
  path: string;
  pricePerToken: bigint;
  profile: Profile;
  profileHash: Hex;
  contextSize: number;
  maxTokens: number;
  vocabSize: number;
  quantization: string;
  parameters: number;
};

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

export async function loadServedModels(runtime: Runtime, config: NodeConfig, chain: NodeChain): Promise<ServedModel[]> {
  const out: ServedModel[] = [];
  for (const spec of config.models) {
    let path = spec.source;
    if (BYTES32.test(spec.source)) {
      const id = spec.source.toLowerCase() as Hex;
      const m = await chain.c.models.read.getModel([id]).catch(() => null);
      if (!m || m.registeredAt === 0n) {
        throw new ConfigError(`Model ${id} is not registered in ModelRegistry: pass a local .gguf path instead.`);
      }
      path = await fetchModel(id, m.uri, join(config.dataDir, "models"));
    }
    const rec = await runtime.store.register(path);
    const profile = runtime.profile({
      model: rec.id,
      threads: config.threads,
      batchSize: config.batchSize,
      contextSize: config.contextSize,
      flashAttention: false,
      chatTemplate: CHAT_TEMPLATE_ID,
    });
    out.push({
      id: rec.id,
      name: basename(rec.path).replace(/\.gguf$/i, ""),
      path: rec.path,
      pricePerToken: spec.pricePerToken,
      profile,
      profileHash: profileHash(profile),
      contextSize: config.contextSize,
      maxTokens: Math.min(config.maxTokens, config.contextSize - 1),
      vocabSize: rec.info.vocabSize,
      quantization: rec.info.quantization,
      parameters: rec.info.parameters,
    });
  }
  return out;
}

/** The profile with bigints as strings, as /v1/models shows it (Profile has none today). */
export function profileJson(p: Profile): Record<string, unknown> {
  return JSON.parse(JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))) as Record<
    string,
    unknown
  >;
}
