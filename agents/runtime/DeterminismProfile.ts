/**
 * Builds the determinism profile a job runs under (agents/lib/encodings.ts `Profile`) and maps it to
 * llama.cpp settings. Defaults are the ones measured to be reproducible: flash attention off, a fresh
 * sequence per job, greedy sampling, no penalties (the repeat penalty changes greedy output).
 */
import type { Hex } from "viem";
import {
  chatTemplateHash,
  SAMPLER_GREEDY,
  SAMPLER_TEMPERATURE,
  VERIFY_RESCORE,
  ZERO32,
  type Profile,
  type Sampler,
  type VerificationRule,
} from "../lib/encodings.ts";
import { InvalidRequestError } from "./RuntimeError.ts";

/**
 * Rescoring thresholds chosen by bench/calibrate.ts (bench/calibration.json `chosen`; see
 * docs/verification.md): leaves under `exactBelowTokens` need exact re-generation; longer ones pass
 * re-scoring when at most `maxMissBps` of the committed tokens fall outside the top `topK` of the
 * re-scored distribution (500 bps = 3 of 64; the worst of 9,000+ honest leaves, 3,000 per setting,
 * had 2) and their mean log-probability is at least `minMeanLogProbMicro` / 1e6 nats (worst honest
 * leaf: -0.89). No false alarm; every 5%-substituted 64-token leaf detected. Measured on the tiny
 * generated model: calibrate per model before relying on it.
 */
export const DEFAULT_VERIFICATION_RULE: VerificationRule = {
  mode: VERIFY_RESCORE,
  exactBelowTokens: 16,
  topK: 2,
  maxMissBps: 500,
  minMeanLogProbMicro: -1_500_000,
};

export const GREEDY_SAMPLER: Sampler = {
  kind: SAMPLER_GREEDY,
  temperatureMilli: 0,
  topK: 0,
  topPMilli: 1000,
  minPMilli: 0,
  repeatPenaltyMilli: 1000,
  repeatLastN: 0,
  frequencyPenaltyMilli: 0,
  presencePenaltyMilli: 0,
};

export type ProfileOptions = {
  /** bytes32 model id (sha256 of the GGUF). */
  model: Hex;
  /** bytes32 adapter id (sha256 of the LoRA GGUF) or zero. */
  adapter?: Hex;
  llamaBuild: string;
  cpuVariant: string;
  threads: number;
  batchSize?: number;
  contextSize?: number;
  flashAttention?: boolean;
  sampler?: Partial<Sampler>;
  /** The chat template text the prompt was rendered with, or null for raw completion. */
  chatTemplate?: string | null;
  verification?: Partial<VerificationRule>;
};

export function buildProfile(o: ProfileOptions): Profile {
  const sampler: Sampler = { ...GREEDY_SAMPLER, ...o.sampler };
  const p: Profile = {
    model: o.model,
    adapter: o.adapter ?? ZERO32,
    llamaBuild: o.llamaBuild,
    cpuVariant: o.cpuVariant,
    threads: o.threads,
    batchSize: o.batchSize ?? 512,
    contextSize: o.contextSize ?? 1024,
    flashAttention: o.flashAttention ?? false,
    freshSequence: true,
    sampler,
    chatTemplate: chatTemplateHash(o.chatTemplate ?? null),
    verification: { ...DEFAULT_VERIFICATION_RULE, ...o.verification },
  };
  validateProfile(p);
  return p;
}

const u32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Reject profiles the runtime cannot execute as specified. */
export function validateProfile(p: Profile): void {
  const bad = (field: string, value: unknown, want: string): never => {
    throw new InvalidRequestError(`profile ${field} is ${String(value)}: ${want}`, { field, value });
  };
  if (!u32(p.threads) || p.threads < 1 || p.threads > 256) bad("threads", p.threads, "use 1..256");
  if (!u32(p.batchSize) || p.batchSize < 1) bad("batchSize", p.batchSize, "use a positive integer");
  if (!u32(p.contextSize) || p.contextSize < 16) bad("contextSize", p.contextSize, "use at least 16");
  if (!p.freshSequence) bad("freshSequence", false, "the runtime always runs a job on a fresh sequence");
  const s = p.sampler;
  if (s.kind !== SAMPLER_GREEDY && s.kind !== SAMPLER_TEMPERATURE)
    bad("sampler.kind", s.kind, "use 0 (greedy) or 1 (temperature)");
  if (s.kind === SAMPLER_TEMPERATURE && !(s.temperatureMilli > 0))
    bad("sampler.temperatureMilli", s.temperatureMilli, "temperature sampling needs > 0");
  for (const k of [
    "temperatureMilli",
    "topK",
    "topPMilli",
    "minPMilli",
    "repeatPenaltyMilli",
    "repeatLastN",
    "frequencyPenaltyMilli",
    "presencePenaltyMilli",
  ] as const) {
    if (!u32(s[k])) bad(`sampler.${k}`, s[k], "use an unsigned 32-bit integer");
  }
  const v = p.verification;
  if (v.topK < 1) bad("verification.topK", v.topK, "use at least 1");
  if (v.maxMissBps > 10_000) bad("verification.maxMissBps", v.maxMissBps, "use 0..10000");
}

/** Whether the sampler applies any penalty (the default applies none). */
export function hasPenalties(s: Sampler): boolean {
  return s.repeatPenaltyMilli !== 1000 || s.frequencyPenaltyMilli !== 0 || s.presencePenaltyMilli !== 0;
}
