/**
 * Mean next-token entropy (nats) of a model along its own greedy continuations: a measure of how
 * peaked its distributions are (a flat 260-token vocabulary gives ln 260 = 5.56 nats; trained
 * models are typically around 1-3). Uses full probability maps, so it is slow: a benchmark tool.
 */
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import type { Profile } from "../lib/encodings.ts";
import type { Runtime } from "./Runtime.ts";

export async function meanNextTokenEntropy(
  rt: Runtime,
  profile: Profile,
  prompts: readonly string[],
  tokensPerPrompt = 32,
): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const prompt of prompts) {
    const r = await rt.generate(profile, { prompt, maxTokens: tokensPerPrompt, stop: [], seed: 0n });
    const promptTokens = await rt.promptTokens(profile, prompt);
    const all = [...promptTokens, ...r.tokens] as Token[];
    const first = promptTokens.length - 1;
    await rt.withSequence(profile, async (seq) => {
      const items: ControlledEvaluateInputItem[] = all.map((t, i) =>
        i >= first ? [t, { generateNext: { probabilities: true } }] : t,
      );
      const out = await seq.controlledEvaluate(items);
      for (let i = first; i < all.length; i++) {
        const probs = out[i]?.next.probabilities;
        if (probs === undefined) continue;
        let h = 0;
        for (const p of probs.values()) if (p > 0) h -= p * Math.log(p);
        sum += h;
        count++;
      }
    });
  }
  return count === 0 ? 0 : sum / count;
}
