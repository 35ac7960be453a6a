/**
 * TypeScript reference of the auction rule in contracts/libraries/Vickrey.sol and AuctionMarket:
 * among revealed bids at or below the reserve, the lowest price wins, ties going to the earlier
 * commit (lower commit order); the winner is paid the second-lowest such price, or the reserve
 * when it is alone. Unrevealed bids and bids above the reserve never win nor set the price.
 */
import type { Address } from "viem";

export type AuctionBid = { bidder: Address; price: bigint; order: number; revealed: boolean };
export type AuctionOutcome = { winner: Address | null; pricePerToken: bigint };

export function vickreyOutcome(bids: readonly AuctionBid[], reservePrice: bigint): AuctionOutcome {
  const valid = bids
    .filter((b) => b.revealed && b.price <= reservePrice)
    .sort((a, b) => (a.price === b.price ? a.order - b.order : a.price < b.price ? -1 : 1));
  const [first, second] = valid;
  if (!first) return { winner: null, pricePerToken: 0n };
  return { winner: first.bidder, pricePerToken: second ? second.price : reservePrice };
}
