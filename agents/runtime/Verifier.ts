/**
 * Verifies a committed leaf (input, token ids) against its determinism profile.
 *
 * - exact: re-generate under the profile; the token ids must match. Used whenever this runtime can
 *   reproduce the profile (same llama build and CPU variant, model and adapter present).
 * - rescore: teacher-force the committed tokens through the model in one pass
 *   (`controlledEvaluate`) and judge each committed token's rank and log-probability under the
 *   profile's VerificationRule. Per position only the argmax, its confidence, the total logit
 *   weight and the logits of the committed token plus the top K are requested, never the
 *   vocabulary-sized probability map.
 * - cannot-verify: neither is possible here (model missing, or a short leaf that needs exact mode
 *   on a profile this runtime cannot reproduce).
 */
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import type { Hex } from "viem";
import { profileHash, type InferenceInput, type Profile } from "../lib/encodings.ts";
import { RuntimeError } from "./RuntimeError.ts";
import type { Runtime } from "./Runtime.ts";

export type VerdictMode = "exact" | "rescore" | "cannot-verify";

export type RescoreStats = {
  tokens: number;
  /** Committed tokens equal to the re-scored argmax. */
  argmaxAgree: number;
  /** Committed tokens outside the top K of the re-scored distribution. */
  misses: number;
  missBps: number;
  /** Mean natural-log probability of the committed tokens, in micro-nats. */
  meanLogProbMicro: number;
  minLogProb: number;
  /** When the leaf ended before maxTokens without a stop string: EOS rank at the end (0 = argmax). */
  eosRank: number | null;
  /** Per committed token: rank in the re-scored distribution (capped at topK) and log-prob; only with `details`. */
  ranks?: number[];
  logProbs?: number[];
};

export type ExactStats = { tokens: number; regenerated: number; firstMismatch: number | null };

export type Verdict = {
  pass: boolean;
  mode: VerdictMode;
  stats: RescoreStats | ExactStats | null;
  reason: string;
  profileHash: Hex;
};

export type VerifyOptions = {
  /** Force a mode (calibration); by default exact when reproducible, else rescore. */
  mode?: "exact" | "rescore";
  /** Context settings to rescore with when they differ from the profile (e.g. the validator's threads). */
  rescoreThreads?: number;
  rescoreBatchSize?: number;
  rescoreFlashAttention?: boolean;
  /** Include per-token ranks and log-probs in rescore stats (calibration). */
  details?: boolean;
};

export class Verifier {
  readonly runtime: Runtime;
  constructor(runtime: Runtime) {
    this.runtime = runtime;
  }

  async verify(
    input: InferenceInput,
    committed: readonly number[],
    profile: Profile,
    o: VerifyOptions = {},
  ): Promise<Verdict> {
    const pHash = profileHash(profile);
    const verdict = (pass: boolean, mode: VerdictMode, stats: Verdict["stats"], reason: string): Verdict => ({
      pass,
      mode,
      stats,
      reason,
      profileHash: pHash,
    });
    if (!this.runtime.store.has(profile.model)) {
      return verdict(false, "cannot-verify", null, `model ${profile.model} is not available to this validator`);
    }
    if (committed.length > input.maxTokens) {
      return verdict(
        false,
        o.mode ?? "rescore",
        null,
        `${committed.length} tokens committed but maxTokens is ${input.maxTokens}`,
      );
    }
    const why = this.runtime.cannotReproduce(profile);
    const rule = profile.verification;
    const mode = o.mode ?? (why === null ? "exact" : "rescore");
    if (mode === "exact" && why !== null)
      return verdict(false, "cannot-verify", null, `cannot reproduce the profile: ${why}`);
    if (mode === "rescore" && committed.length < rule.exactBelowTokens && o.mode === undefined) {
      return verdict(
        false,
        "cannot-verify",
        null,
        `leaf of ${committed.length} tokens needs exact mode (< ${rule.exactBelowTokens}) but ${why}`,
      );
    }
    try {
      if (mode === "exact") {
        const r = await this.runtime.generate(profile, input);
        let first: number | null = null;
        const n = Math.max(r.tokens.length, committed.length);
        for (let i = 0; i < n; i++) {
          if (r.tokens[i] !== committed[i]) {
            first = i;
            break;
          }
        }
        const stats: ExactStats = { tokens: committed.length, regenerated: r.tokens.length, firstMismatch: first };
        return first === null
          ? verdict(true, "exact", stats, "re-generated token ids match")
          : verdict(false, "exact", stats, `re-generated token ids differ from position ${first}`);
      }
      const stats = await this.rescore(input, committed, profile, o);
      const fails: string[] = [];
      if (stats.missBps > rule.maxMissBps)
        fails.push(
          `${stats.misses} of ${stats.tokens} tokens outside top ${rule.topK} (${stats.missBps} bps > ${rule.maxMissBps})`,
        );
      if (stats.meanLogProbMicro < rule.minMeanLogProbMicro)
        fails.push(`mean log-prob ${stats.meanLogProbMicro} µnat < ${rule.minMeanLogProbMicro}`);
      if (stats.eosRank !== null && stats.eosRank >= rule.topK)
        fails.push(`leaf ends early but EOS ranks ${stats.eosRank + 1} at the end`);
      return fails.length === 0
        ? verdict(true, "rescore", stats, "committed tokens are consistent with the model")
        : verdict(false, "rescore", stats, fails.join("; "));
    } catch (e) {
      if (e instanceof RuntimeError) return verdict(false, "cannot-verify", null, `${e.code}: ${e.message}`);
      throw e;
    }
  }

  /** Teacher-forced statistics of `committed` after the prompt, in one pass. */
  async rescore(
    input: InferenceInput,
    committed: readonly number[],
    profile: Profile,
    o: VerifyOptions = {},
  ): Promise<RescoreStats> {
    const p: Profile = {
      ...profile,
      threads: o.rescoreThreads ?? profile.threads,
      batchSize: o.rescoreBatchSize ?? profile.batchSize,
      flashAttention: o.rescoreFlashAttention ?? profile.flashAttention,
    };
    const k = profile.verification.topK;
    const prompt = await this.runtime.promptTokens(p, input.prompt);
    const text = input.stop.length > 0 ? await this.runtime.detokenize(p, committed) : "";
    const endedEarly = committed.length < input.maxTokens && !input.stop.some((s) => text.includes(s));
    const all = [...prompt, ...committed] as Token[];
    const n = committed.length;
    if (all.length > p.contextSize) {
      throw new RuntimeError(
        "PROMPT_TOO_LONG",
        `leaf of ${all.length} tokens does not fit the context ${p.contextSize}`,
      );
    }
    return this.runtime.withSequence(p, async (seq, model) => {
      const eos = model.tokens.eos;
      const first = prompt.length - 1;
      const items: ControlledEvaluateInputItem[] = all.map((t, i) => {
        if (i < first) return t;
        const target = i - first < n ? committed[i - first]! : (eos ?? 0);
        if (i - first === n && !endedEarly) return t;
        return [
          t,
          {
            generateNext: {
              token: true,
              confidence: true,
              totalLogitWeight: true,
              logits: { filter: { tokens: [target as Token], includeTop: k } },
            },
          },
        ];
      });
      const out = await seq.controlledEvaluate(items);
      let agree = 0;
      let misses = 0;
      let sumLogProb = 0;
      let minLogProb = 0;
      let eosRank: number | null = null;
      const ranks: number[] = [];
      const logProbs: number[] = [];
      const judge = (pos: number, target: number): { rank: number; logProb: number } => {
        const next = out[pos]?.next;
        const logits = next?.logits;
        if (next === undefined || logits === undefined || next.totalLogitWeight === undefined) {
          throw new RuntimeError("RESCORE_FAILED", `no logits at position ${pos}`);
        }
        const ranked = [...logits.entries()].sort((a, b) => b[1] - a[1]);
        const max = ranked[0]![1];
        const idx = ranked.findIndex(([t]) => t === target);
        const rank = idx >= 0 && idx < k ? idx : k; // k = outside the top K
        const logProb = logits.get(target as Token)! - max - Math.log(next.totalLogitWeight);
        if (next.token === target) agree++;
        return { rank, logProb };
      };
      for (let j = 0; j < n; j++) {
        const { rank, logProb } = judge(first + j, committed[j]!);
        if (rank >= k) misses++;
        if (o.details === true) {
          ranks.push(rank);
          logProbs.push(logProb);
        }
        sumLogProb += logProb;
        minLogProb = Math.min(minLogProb, logProb);
      }
      if (endedEarly && eos !== null) {
        eosRank = judge(first + n, eos).rank;
        if (out[first + n]?.next.token === eos) agree--; // judge() counted it; EOS is not a committed token
      }
      return {
        tokens: n,
        argmaxAgree: agree,
        misses,
        missBps: n === 0 ? 0 : Math.round((misses * 10_000) / n),
        meanLogProbMicro: n === 0 ? 0 : Math.round((sumLogProb / n) * 1e6),
        minLogProb,
        eosRank,
        ...(o.details === true ? { ranks, logProbs } : {}),
      };
    });
  }
}
