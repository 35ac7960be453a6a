/**
 * Job scheduler in front of the runtime: a bounded queue with back-pressure (a full queue rejects
 * with QueueFullError carrying a retry-after hint), up to `concurrency` jobs running per model (the
 * context's parallel sequences), round-robin fairness across requesters within a model, and
 * cancellation (AbortSignal) and timeouts covering queue wait plus execution.
 */
import { CancelledError, QueueFullError, TimeoutError } from "./RuntimeError.ts";

export type SchedulerOptions = {
  /** Jobs that may wait in the queue (all models). */
  capacity: number;
  /** Jobs running at once per model. */
  concurrency: number;
  /** Default timeout per job in ms (queue wait plus execution); 0 = none. */
  timeoutMs?: number;
  /** Initial estimate of a job's duration for retry hints (refined by an EWMA of real ones). */
  estimatedJobMs?: number;
};

export type JobSpec<R> = {
  requester: string;
  /** The model (or any resource key) whose concurrency limit applies. */
  model: string;
  run: (signal: AbortSignal) => Promise<R>;
  signal?: AbortSignal;
  timeoutMs?: number;
};

type Pending = {
  spec: JobSpec<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  controller: AbortController;
  settled: boolean;
  cleanup: () => void;
};

type Lane = { running: number; queues: Map<string, Pending[]>; order: string[]; cursor: number };

export type SchedulerStats = {
  queued: number;
  running: number;
  completed: number;
  rejected: number;
  estimatedJobMs: number;
};

export class Scheduler {
  readonly #o: Required<SchedulerOptions>;
  readonly #lanes = new Map<string, Lane>();
  #queued = 0;
  #running = 0;
  #completed = 0;
  #rejected = 0;
  #jobMs: number;

  constructor(o: SchedulerOptions) {
    if (!Number.isInteger(o.capacity) || o.capacity < 0)
      throw new RangeError("capacity must be a non-negative integer");
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
      throw new RangeError("concurrency must be a positive integer");
    this.#o = { timeoutMs: 0, estimatedJobMs: 1000, ...o };
    this.#jobMs = this.#o.estimatedJobMs;
  }

  /** Queue a job; resolves with its result or rejects (QueueFullError, CancelledError, TimeoutError, or the job's error). */
  submit<R>(spec: JobSpec<R>): Promise<R> {
    if (spec.signal?.aborted) return Promise.reject(new CancelledError(spec.signal.reason));
    const lane = this.#lane(spec.model);
    const canStart = lane.running < this.#o.concurrency && this.#laneQueued(lane) === 0;
    if (!canStart && this.#queued >= this.#o.capacity) {
      this.#rejected++;
      return Promise.reject(new QueueFullError(this.#queued, this.#o.capacity, this.retryAfterMs()));
    }
    return new Promise<R>((resolve, reject) => {
      const controller = new AbortController();
      const job: Pending = {
        spec: spec as JobSpec<unknown>,
        resolve: resolve as (v: unknown) => void,
        reject,
        controller,
        settled: false,
        cleanup: () => undefined,
      };
      const timeoutMs = spec.timeoutMs ?? this.#o.timeoutMs;
      const timer =
        timeoutMs > 0 ? setTimeout(() => this.#fail(job, new TimeoutError(timeoutMs)), timeoutMs) : undefined;
      const onAbort = (): void => this.#fail(job, new CancelledError(spec.signal?.reason));
      spec.signal?.addEventListener("abort", onAbort, { once: true });
      job.cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        spec.signal?.removeEventListener("abort", onAbort);
      };
      let q = lane.queues.get(spec.requester);
      if (q === undefined) {
        q = [];
        lane.queues.set(spec.requester, q);
        lane.order.push(spec.requester);
      }
      q.push(job);
      this.#queued++;
      this.#pump(spec.model);
    });
  }

  /** Suggested wait before retrying after a QueueFullError. */
  retryAfterMs(): number {
    const slots = Math.max(1, this.#lanes.size) * this.#o.concurrency;
    return Math.max(1, Math.ceil(((this.#queued + 1) / slots) * this.#jobMs));
  }

  stats(): SchedulerStats {
    return {
      queued: this.#queued,
      running: this.#running,
      completed: this.#completed,
      rejected: this.#rejected,
      estimatedJobMs: this.#jobMs,
    };
  }

  #lane(model: string): Lane {
    let lane = this.#lanes.get(model);
    if (lane === undefined) {
      lane = { running: 0, queues: new Map(), order: [], cursor: 0 };
      this.#lanes.set(model, lane);
    }
    return lane;
  }

  #laneQueued(lane: Lane): number {
    let n = 0;
    for (const q of lane.queues.values()) n += q.length;
    return n;
  }

  /** Settle a job early (timeout or cancel): drop it from the queue or abort its run. */
  #fail(job: Pending, err: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    job.controller.abort(err);
    const lane = this.#lanes.get(job.spec.model);
    const q = lane?.queues.get(job.spec.requester);
    const i = q?.indexOf(job) ?? -1;
    if (q !== undefined && i >= 0) {
      q.splice(i, 1);
      this.#queued--;
    }
    job.reject(err);
  }

  /** Next job of the lane, round-robin across requesters. */
  #next(lane: Lane): Pending | undefined {
    for (let tries = 0; tries < lane.order.length; tries++) {
      const requester = lane.order[lane.cursor % lane.order.length]!;
      lane.cursor = (lane.cursor + 1) % lane.order.length;
      const q = lane.queues.get(requester);
      const job = q?.shift();
      if (job !== undefined) {
        if (q!.length === 0) {
          lane.queues.delete(requester);
          const idx = lane.order.indexOf(requester);
          lane.order.splice(idx, 1);
          if (idx < lane.cursor) lane.cursor--;
          if (lane.order.length > 0) lane.cursor %= lane.order.length;
          else lane.cursor = 0;
        }
        return job;
      }
    }
    return undefined;
  }

  #pump(model: string): void {
    const lane = this.#lane(model);
    while (lane.running < this.#o.concurrency) {
      const job = this.#next(lane);
      if (job === undefined) return;
      this.#queued--;
      lane.running++;
      this.#running++;
      const started = performance.now();
      let p: Promise<unknown>;
      try {
        p = job.spec.run(job.controller.signal);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (v) => {
          if (!job.settled) {
            job.settled = true;
            job.cleanup();
            job.resolve(v);
          }
        },
        (e: unknown) => {
          if (!job.settled) {
            job.settled = true;
            job.cleanup();
            job.reject(e);
          }
        },
      ).finally(() => {
        // The slot frees when the run really ends, even if the caller already got a timeout.
        this.#jobMs = 0.8 * this.#jobMs + 0.2 * (performance.now() - started);
        lane.running--;
        this.#running--;
        this.#completed++;
        this.#pump(model);
      });
    }
  }
}
