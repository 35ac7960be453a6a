/**
 * The demo's cheating switch (`--fault wrong-output:P`): a share P of outputs is made wrong by
 * substituting every 8th token id before hashing, streaming, committing and delivering, so the
 * receipt and the leaf agree with each other but not with an honest re-execution. Refused on
 * chains other than 31337/1337 (checked by the agent at start).
 */
import type { FaultSpec } from "./NodeConfig.ts";

export class FaultInjector {
  readonly probability: number;
  readonly #random: () => number;
  injected = 0;

  constructor(spec: FaultSpec | undefined, random: () => number = Math.random) {
    this.probability = spec?.probability ?? 0;
    this.#random = random;
  }

  /** Decides for one job; returns the token transform to apply (identity when honest). */
  pick(vocabSize: number): ((token: number, index: number) => number) | null {
    if (this.probability <= 0 || this.#random() >= this.probability) return null;
    this.injected++;
    const n = Math.max(2, vocabSize);
    return (token, index) => (index % 8 === 7 || index === 0 ? (token + 1) % n : token);
  }
}
