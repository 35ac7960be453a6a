/**
 * How likely a committed leaf is to be checked (docs/detection.md):
 *
 *   p(node) = min(1, max(floor, base + boost · 2^(-h / halfLife)))
 *
 * where h is the number of the node's leaves this validator has seen committed before. A new node
 * is checked with probability base + boost; the boost halves every `halfLife` leaves; the floor
 * holds whatever the node's history or on-chain reputation. Each leaf is drawn independently with
 * a CSPRNG, so the node cannot predict which of its leaves are checked.
 */
import { randomBytes } from "node:crypto";

export type SamplingParams = { base: number; floor: number; boost: number; halfLife: number };

export function sampleProbability(p: SamplingParams, leavesSeen: number): number {
  const boosted = p.base + p.boost * 2 ** (-leavesSeen / p.halfLife);
  return Math.min(1, Math.max(p.floor, boosted));
}

/** A uniform number in [0, 1) from 53 random bits. */
export function uniform(): number {
  const b = randomBytes(8);
  return Number(b.readBigUInt64BE() >> 11n) / 2 ** 53;
}

/** Indices of the leaves to check in a batch of `leafCount` leaves, each with probability `p`. */
export function sampleLeaves(leafCount: number, p: number, rand: () => number = uniform): number[] {
  const out: number[] = [];
  for (let i = 0; i < leafCount; i++) if (rand() < p) out.push(i);
  return out;
}
