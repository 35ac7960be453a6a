/**
 * The auction cost model: price per token = configured cost per token × (1 + margin) × a load
 * factor (1 + queued jobs / queue capacity), at least 1 wei; no bid when it exceeds the reserve or
 * when the job cannot be generated before the deadline at the measured tokens/s. Truthful bidding
 * is dominant in the Vickrey auction, so the bid is the node's real price.
 */
export type PriceInput = {
  costPerToken: bigint;
  marginBps: number;
  queued: number;
  queueCapacity: number;
  reservePerToken: bigint;
  maxTokens: number;
  tokensPerSecond: number;
  secondsUntilDeadline: number;
};

export type PriceDecision = { bid: true; pricePerToken: bigint } | { bid: false; reason: string };

export function priceBid(i: PriceInput): PriceDecision {
  const loadBps = 10_000n + (BigInt(i.queued) * 10_000n) / BigInt(Math.max(1, i.queueCapacity));
  let price = (i.costPerToken * BigInt(10_000 + i.marginBps) * loadBps) / 100_000_000n;
  if (price < 1n) price = 1n;
  if (price > i.reservePerToken) return { bid: false, reason: `price ${price} above reserve ${i.reservePerToken}` };
  const tps = i.tokensPerSecond > 0 ? i.tokensPerSecond : 1;
  const needSeconds = i.maxTokens / tps;
  if (needSeconds > i.secondsUntilDeadline) {
    return { bid: false, reason: `needs ~${needSeconds.toFixed(0)} s, deadline in ${i.secondsUntilDeadline} s` };
  }
  return { bid: true, pricePerToken: price };
}
