/**
 * LRU cache of inference results with a time-to-live, keyed by model, adapter, profile and input
 * hash. Entries belong to the requester that paid for them unless stored as public; a requester
 * sees its own entries and public ones, never another requester's.
 */
import type { Hex } from "viem";

export type ResultKey = { model: Hex; adapter: Hex; profile: Hex; input: Hex };

export type ResultCacheOptions = {
  maxEntries: number;
  ttlMs: number;
  /** Clock (ms), injectable for tests. */
  now?: () => number;
};

export type ResultCacheStats = { hits: number; misses: number; hitRatio: number; size: number; evictions: number };

const PUBLIC = "*";

export class ResultCache<V> {
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #map = new Map<string, { value: V; expires: number }>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(o: ResultCacheOptions) {
    if (!Number.isInteger(o.maxEntries) || o.maxEntries < 1)
      throw new RangeError("maxEntries must be a positive integer");
    if (!(o.ttlMs > 0)) throw new RangeError("ttlMs must be positive");
    this.#max = o.maxEntries;
    this.#ttl = o.ttlMs;
    this.#now = o.now ?? Date.now;
  }

  static keyOf(k: ResultKey): string {
    return `${k.model}|${k.adapter}|${k.profile}|${k.input}`.toLowerCase();
  }

  /** The cached value visible to `requester` (its own first, then public), refreshing its recency. */
  get(k: ResultKey, requester: string): V | undefined {
    const base = ResultCache.keyOf(k);
    for (const owner of [requester.toLowerCase(), PUBLIC]) {
      const id = `${base}|${owner}`;
      const e = this.#map.get(id);
      if (e === undefined) continue;
      if (e.expires <= this.#now()) {
        this.#map.delete(id);
        continue;
      }
      this.#map.delete(id);
      this.#map.set(id, e);
      this.#hits++;
      return e.value;
    }
    this.#misses++;
    return undefined;
  }

  /** Store a value for `requester`, or for everyone when `public` is set. */
  set(k: ResultKey, requester: string, value: V, o: { public?: boolean } = {}): void {
    const id = `${ResultCache.keyOf(k)}|${o.public === true ? PUBLIC : requester.toLowerCase()}`;
    this.#map.delete(id);
    this.#map.set(id, { value, expires: this.#now() + this.#ttl });
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
      this.#evictions++;
    }
  }

  /** Drop expired entries (they are also dropped lazily on access). */
  prune(): number {
    const now = this.#now();
    let n = 0;
    for (const [id, e] of this.#map) {
      if (e.expires <= now) {
        this.#map.delete(id);
        n++;
      }
    }
    return n;
  }

  stats(): ResultCacheStats {
    const total = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitRatio: total === 0 ? 0 : this.#hits / total,
      size: this.#map.size,
      evictions: this.#evictions,
    };
  }
}
