/**
 * The requester's durable state, one small JSON file per (chain, escrow, requester): per pair the
 * next ticket sequence, the cumulative amount vouchered, the sequences still in flight, and the last
 * signed voucher. Every change is written (temp file + rename) before it is used, under a lock file,
 * so a restart or a second process never reuses a sequence.
 *
 * Voucher rule: `throughSequence` is the highest sequence such that every ticket at or below it is
 * resolved (served with a verified receipt, or failed with no receipt). A failed ticket is therefore
 * covered by the next voucher at amount 0 and can no longer be redeemed alone: a node is paid only
 * what its receipts prove. Tickets still in flight (or lost in a crash, until their expiry) hold
 * `throughSequence` below them.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import type { Address, Hex } from "viem";
import type { Voucher } from "../lib/encodings.ts";
import { ConfigError } from "../lib/errors.ts";

const big = z.string().regex(/^\d+$/);
const pairSchema = z.object({
  nextSequence: big,
  cumulative: big,
  through: big,
  /** sequence -> unix expiry (s) of tickets sent and not resolved */
  pending: z.record(big, z.number()),
  /** resolved sequences above `through` */
  resolved: z.array(big),
  lastVoucher: z.object({ cumulativeAmount: big, throughSequence: big, signature: z.string() }).nullable(),
});
const stateSchema = z.object({ version: z.literal(1), pairs: z.record(z.string(), pairSchema) });
type PairRecord = z.infer<typeof pairSchema>;
type StateFile = z.infer<typeof stateSchema>;

const LOCK_STALE_MS = 10_000;
const sleepSync = (ms: number): void =>
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

export class RequesterState {
  readonly path: string;
  readonly requester: Address;

  constructor(path: string, requester: Address) {
    this.path = path;
    this.requester = requester;
    mkdirSync(dirname(path), { recursive: true });
  }

  /**
   * Allocates the next sequence for the pair, at least `minimum` (e.g. the on-chain voucherSequence
   * + 1), records it as in flight until `expiry`, and persists before returning.
   */
  allocateSequence(node: Address, minimum: bigint, expiry: bigint): bigint {
    return this.#update((s) => {
      const p = this.#pair(s, node);
      let seq = BigInt(p.nextSequence);
      if (seq < minimum) seq = minimum;
      p.nextSequence = (seq + 1n).toString();
      if (BigInt(p.through) < seq - 1n && p.resolved.length === 0 && Object.keys(p.pending).length === 0) {
        // Nothing between the last voucher and this sequence was ever sent by us: cover the gap.
        p.through = (seq - 1n).toString();
      }
      p.pending[seq.toString()] = Number(expiry);
      return seq;
    });
  }

  /**
   * Marks a ticket resolved with `amount` owed (0 when it failed without a receipt) and returns the
   * voucher to sign now: cumulative amount and throughSequence after it. Expired in-flight tickets
   * of a previous process are resolved at 0 on the way.
   */
  resolve(
    node: Address,
    sequence: bigint,
    amount: bigint,
    nowSeconds = BigInt(Math.floor(Date.now() / 1000)),
  ): Voucher {
    return this.#update((s) => {
      const p = this.#pair(s, node);
      const key = sequence.toString();
      delete p.pending[key];
      if (BigInt(key) > BigInt(p.through) && !p.resolved.includes(key)) p.resolved.push(key);
      p.cumulative = (BigInt(p.cumulative) + amount).toString();
      for (const [k, expiry] of Object.entries(p.pending)) {
        if (BigInt(expiry) < nowSeconds) {
          delete p.pending[k];
          if (!p.resolved.includes(k)) p.resolved.push(k);
        }
      }
      this.#advance(p);
      return {
        requester: this.requester,
        node,
        cumulativeAmount: BigInt(p.cumulative),
        throughSequence: BigInt(p.through),
      };
    });
  }

  /** Records the voucher last signed for the pair (kept to re-send it). */
  recordVoucher(voucher: Voucher, signature: Hex): void {
    this.#update((s) => {
      const p = this.#pair(s, voucher.node);
      const prev = p.lastVoucher;
      if (prev && BigInt(prev.cumulativeAmount) > voucher.cumulativeAmount) return;
      p.lastVoucher = {
        cumulativeAmount: voucher.cumulativeAmount.toString(),
        throughSequence: voucher.throughSequence.toString(),
        signature,
      };
    });
  }

  /** A snapshot of one pair (bigints). */
  pair(node: Address): {
    nextSequence: bigint;
    cumulative: bigint;
    through: bigint;
    pending: bigint[];
    lastVoucher: { voucher: Voucher; signature: Hex } | null;
  } {
    const p = this.#read().pairs[node.toLowerCase()];
    if (!p) return { nextSequence: 1n, cumulative: 0n, through: 0n, pending: [], lastVoucher: null };
    return {
      nextSequence: BigInt(p.nextSequence),
      cumulative: BigInt(p.cumulative),
      through: BigInt(p.through),
      pending: Object.keys(p.pending).map(BigInt),
      lastVoucher: p.lastVoucher
        ? {
            voucher: {
              requester: this.requester,
              node,
              cumulativeAmount: BigInt(p.lastVoucher.cumulativeAmount),
              throughSequence: BigInt(p.lastVoucher.throughSequence),
            },
            signature: p.lastVoucher.signature as Hex,
          }
        : null,
    };
  }

  #advance(p: PairRecord): void {
    let through = BigInt(p.through);
    const resolved = new Set(p.resolved);
    while (resolved.has((through + 1n).toString())) {
      through += 1n;
      resolved.delete(through.toString());
    }
    p.through = through.toString();
    p.resolved = [...resolved].filter((k) => BigInt(k) > through);
  }

  #pair(s: StateFile, node: Address): PairRecord {
    const key = node.toLowerCase();
    s.pairs[key] ??= { nextSequence: "1", cumulative: "0", through: "0", pending: {}, resolved: [], lastVoucher: null };
    return s.pairs[key];
  }

  #read(): StateFile {
    if (!existsSync(this.path)) return { version: 1, pairs: {} };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.path, "utf8"));
    } catch (cause) {
      throw new ConfigError(
        `Requester state file ${this.path} is not valid JSON: restore it from a backup (never delete it: sequences must not be reused).`,
        { details: { path: this.path }, cause },
      );
    }
    const parsed = stateSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(
        `Requester state file ${this.path} is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}.`,
        {
          details: { path: this.path },
          cause: parsed.error,
        },
      );
    }
    return parsed.data;
  }

  #update<T>(fn: (s: StateFile) => T): T {
    const lock = `${this.path}.lock`;
    const start = Date.now();
    let fd: number | undefined;
    while (fd === undefined) {
      try {
        fd = openSync(lock, "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        try {
          if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
        } catch {
          /* removed meanwhile */
        }
        if (Date.now() - start > 3 * LOCK_STALE_MS) {
          throw new ConfigError(
            `Could not lock ${lock}: another process holds it. Remove it if no LLMarket process is running.`,
          );
        }
        sleepSync(5);
      }
    }
    try {
      const s = this.#read();
      const out = fn(s);
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(s, null, 1));
      renameSync(tmp, this.path);
      return out;
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
}
