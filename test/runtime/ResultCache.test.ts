import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { ResultCache, type ResultKey } from "../../agents/runtime/ResultCache.ts";

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
const key = (i: number, over: Partial<ResultKey> = {}): ResultKey => ({
  model: h(1),
  adapter: h(0),
  profile: h(2),
  input: h(100 + i),
  ...over,
});

describe("ResultCache", () => {
  it("hits for the same requester and key, misses otherwise, and reports the hit ratio", () => {
    const c = new ResultCache<string>({ maxEntries: 10, ttlMs: 1000 });
    c.set(key(1), "alice", "r1");
    expect(c.get(key(1), "alice")).toBe("r1");
    expect(c.get(key(1), "ALICE")).toBe("r1"); // addresses compare case-insensitively
    expect(c.get(key(2), "alice")).toBeUndefined();
    expect(c.get(key(1, { profile: h(3) }), "alice")).toBeUndefined();
    expect(c.get(key(1, { adapter: h(9) }), "alice")).toBeUndefined();
    expect(c.get(key(1, { model: h(8) }), "alice")).toBeUndefined();
    expect(c.stats()).toMatchObject({ hits: 2, misses: 4, hitRatio: 2 / 6, size: 1 });
  });

  it("isolates requesters unless the entry is public", () => {
    const c = new ResultCache<string>({ maxEntries: 10, ttlMs: 1000 });
    c.set(key(1), "alice", "private");
    expect(c.get(key(1), "bob")).toBeUndefined();
    c.set(key(2), "alice", "shared", { public: true });
    expect(c.get(key(2), "bob")).toBe("shared");
    c.set(key(2), "bob", "bob's own");
    expect(c.get(key(2), "bob")).toBe("bob's own"); // own entry wins over public
    expect(c.get(key(2), "carol")).toBe("shared");
  });

  it("expires entries after the TTL", () => {
    let now = 0;
    const c = new ResultCache<string>({ maxEntries: 10, ttlMs: 100, now: () => now });
    c.set(key(1), "a", "x");
    now = 99;
    expect(c.get(key(1), "a")).toBe("x");
    now = 100;
    expect(c.get(key(1), "a")).toBeUndefined();
    c.set(key(2), "a", "y");
    now = 500;
    expect(c.prune()).toBe(1);
    expect(c.stats().size).toBe(0);
  });

  it("evicts the least recently used entry when full", () => {
    const c = new ResultCache<number>({ maxEntries: 2, ttlMs: 1000 });
    c.set(key(1), "a", 1);
    c.set(key(2), "a", 2);
    expect(c.get(key(1), "a")).toBe(1); // 1 is now most recent
    c.set(key(3), "a", 3); // evicts 2
    expect(c.get(key(2), "a")).toBeUndefined();
    expect(c.get(key(1), "a")).toBe(1);
    expect(c.get(key(3), "a")).toBe(3);
    expect(c.stats().evictions).toBe(1);
  });

  it("rejects bad options", () => {
    expect(() => new ResultCache({ maxEntries: 0, ttlMs: 1 })).toThrow(RangeError);
    expect(() => new ResultCache({ maxEntries: 1, ttlMs: 0 })).toThrow(RangeError);
  });
});
