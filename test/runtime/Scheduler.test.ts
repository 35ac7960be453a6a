import { describe, expect, it } from "vitest";
import { CancelledError, QueueFullError, TimeoutError } from "../../agents/runtime/RuntimeError.ts";
import { Scheduler } from "../../agents/runtime/Scheduler.ts";

/** A job that finishes when its `release` is called (or rejects when aborted). */
function gate<T>(value: T) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const started: { yes: boolean; signal?: AbortSignal } = { yes: false };
  const run = async (signal: AbortSignal): Promise<T> => {
    started.yes = true;
    started.signal = signal;
    await done;
    return value;
  };
  return { run, release, started };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("Scheduler", () => {
  it("runs up to `concurrency` jobs per model and queues the rest", async () => {
    const s = new Scheduler({ capacity: 10, concurrency: 2 });
    const jobs = [gate(1), gate(2), gate(3)];
    const ps = jobs.map((j) => s.submit({ requester: "a", model: "m", run: j.run }));
    await tick();
    expect(jobs.map((j) => j.started.yes)).toEqual([true, true, false]);
    expect(s.stats()).toMatchObject({ running: 2, queued: 1 });
    jobs[0]!.release();
    await ps[0];
    await tick();
    expect(jobs[2]!.started.yes).toBe(true);
    jobs[1]!.release();
    jobs[2]!.release();
    expect(await Promise.all(ps)).toEqual([1, 2, 3]);
    expect(s.stats()).toMatchObject({ running: 0, queued: 0, completed: 3 });
  });

  it("limits concurrency per model, not globally", async () => {
    const s = new Scheduler({ capacity: 10, concurrency: 1 });
    const a = gate("a");
    const b = gate("b");
    const pa = s.submit({ requester: "r", model: "m1", run: a.run });
    const pb = s.submit({ requester: "r", model: "m2", run: b.run });
    await tick();
    expect(a.started.yes && b.started.yes).toBe(true);
    a.release();
    b.release();
    expect(await Promise.all([pa, pb])).toEqual(["a", "b"]);
  });

  it("rejects with QueueFullError and a retry-after hint when the queue is full", async () => {
    const s = new Scheduler({ capacity: 1, concurrency: 1, estimatedJobMs: 200 });
    const g1 = gate(1);
    const g2 = gate(2);
    const p1 = s.submit({ requester: "a", model: "m", run: g1.run });
    const p2 = s.submit({ requester: "a", model: "m", run: g2.run });
    const err = await s.submit({ requester: "b", model: "m", run: async () => 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).retryAfterMs).toBeGreaterThan(0);
    expect((err as QueueFullError).details).toMatchObject({ queued: 1, capacity: 1 });
    expect(s.stats().rejected).toBe(1);
    g1.release();
    g2.release();
    expect(await Promise.all([p1, p2])).toEqual([1, 2]);
  });

  it("serves requesters round-robin, so one requester's burst cannot starve another", async () => {
    const s = new Scheduler({ capacity: 100, concurrency: 1 });
    const order: string[] = [];
    const blocker = gate("x");
    const pb = s.submit({ requester: "z", model: "m", run: blocker.run });
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++)
      ps.push(s.submit({ requester: "alice", model: "m", run: async () => order.push(`a${i}`) }));
    for (let i = 0; i < 2; i++)
      ps.push(s.submit({ requester: "bob", model: "m", run: async () => order.push(`b${i}`) }));
    ps.push(s.submit({ requester: "carol", model: "m", run: async () => order.push("c0") }));
    blocker.release();
    await pb;
    await Promise.all(ps);
    expect(order).toEqual(["a0", "b0", "c0", "a1", "b1", "a2", "a3"]);
  });

  it("cancels a queued job via AbortSignal without running it", async () => {
    const s = new Scheduler({ capacity: 10, concurrency: 1 });
    const g = gate(1);
    const p1 = s.submit({ requester: "a", model: "m", run: g.run });
    const ac = new AbortController();
    let ran = false;
    const p2 = s.submit({ requester: "a", model: "m", run: async () => (ran = true), signal: ac.signal });
    ac.abort("user");
    await expect(p2).rejects.toBeInstanceOf(CancelledError);
    expect(s.stats().queued).toBe(0);
    g.release();
    await p1;
    await tick();
    expect(ran).toBe(false);
    await expect(
      s.submit({ requester: "a", model: "m", run: async () => 1, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
  });

  it("cancels a running job by aborting the signal it was given", async () => {
    const s = new Scheduler({ capacity: 10, concurrency: 1 });
    const ac = new AbortController();
    const g = gate(1);
    const p = s.submit({ requester: "a", model: "m", run: g.run, signal: ac.signal });
    await tick();
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(g.started.signal?.aborted).toBe(true);
    expect(s.stats().running).toBe(1); // the slot frees when the run really ends
    g.release();
    await tick();
    await tick();
    expect(s.stats().running).toBe(0);
  });

  it("times out jobs that wait or run too long", async () => {
    const s = new Scheduler({ capacity: 10, concurrency: 1, timeoutMs: 30 });
    const g = gate(1);
    const p1 = s.submit({ requester: "a", model: "m", run: g.run });
    const p2 = s.submit({ requester: "a", model: "m", run: async () => 2, timeoutMs: 10 });
    await expect(p2).rejects.toBeInstanceOf(TimeoutError);
    await expect(p1).rejects.toBeInstanceOf(TimeoutError);
    g.release();
  });

  it("passes job errors through and keeps going", async () => {
    const s = new Scheduler({ capacity: 10, concurrency: 1 });
    await expect(
      s.submit({
        requester: "a",
        model: "m",
        run: async () => {
          throw new Error("boom");
        },
      }),
    ).rejects.toThrow("boom");
    await expect(
      s.submit({
        requester: "a",
        model: "m",
        run: () => {
          throw new Error("sync boom");
        },
      }),
    ).rejects.toThrow("sync boom");
    expect(await s.submit({ requester: "a", model: "m", run: async () => "ok" })).toBe("ok");
  });

  it("rejects bad options", () => {
    expect(() => new Scheduler({ capacity: -1, concurrency: 1 })).toThrow(RangeError);
    expect(() => new Scheduler({ capacity: 1, concurrency: 0 })).toThrow(RangeError);
  });
});
