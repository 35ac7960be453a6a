/**
 * A streaming GGUF v3 writer. Metadata and tensor descriptors are declared first (only shapes and
 * types are needed to lay out the file), then tensor data is streamed tensor by tensor, in
 * declaration order, in chunks: a 7B model never has to sit in memory.
 *
 * Layout (ggml/docs/gguf.md): magic "GGUF", version u32, tensor count u64, kv count u64, kvs,
 * tensor infos (name, n_dims u32, ne u64[n_dims], type u32, offset u64), padding to the alignment,
 * tensor data (each tensor aligned).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { ggmlTypeSize } from "./ggmlTypeSize.ts";

export const GGUF_ALIGNMENT = 32;

/** GGUF metadata value types (gguf.h `enum gguf_type`). */
const T_UINT32 = 4;
const T_INT32 = 5;
const T_FLOAT32 = 6;
const T_BOOL = 7;
const T_STRING = 8;
const T_ARRAY = 9;
const T_UINT64 = 10;

export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "u64"; value: bigint }
  | { type: "string[]"; value: readonly string[] }
  | { type: "f32[]"; value: readonly number[] }
  | { type: "i32[]"; value: readonly number[] };

export type GgufTensorSpec = {
  name: string;
  /** ggml order: ne[0] is the contiguous (row) dimension. */
  shape: readonly number[];
  /** ggml type id. */
  ggmlType: number;
};

/** Serialize the header, metadata and tensor infos; returns the bytes and the data offsets. */
export function ggufHeader(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorSpec[],
): { header: Buffer; offsets: number[]; sizes: number[]; dataSize: number } {
  const parts: Buffer[] = [];
  const u32 = (v: number): void => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const u64 = (v: bigint | number): void => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  const str = (s: string): void => {
    const bytes = Buffer.from(s, "utf8");
    u64(bytes.length);
    parts.push(bytes);
  };
  parts.push(Buffer.from("GGUF", "ascii"));
  u32(3);
  u64(tensors.length);
  u64(metadata.length);
  for (const [key, v] of metadata) {
    str(key);
    switch (v.type) {
      case "u32":
        u32(T_UINT32);
        u32(v.value);
        break;
      case "i32": {
        u32(T_INT32);
        const b = Buffer.alloc(4);
        b.writeInt32LE(v.value);
        parts.push(b);
        break;
      }
      case "f32": {
        u32(T_FLOAT32);
        const b = Buffer.alloc(4);
        b.writeFloatLE(v.value);
        parts.push(b);
        break;
      }
      case "bool":
        u32(T_BOOL);
        parts.push(Buffer.from([v.value ? 1 : 0]));
        break;
      case "string":
        u32(T_STRING);
        str(v.value);
        break;
      case "u64":
        u32(T_UINT64);
        u64(v.value);
        break;
      case "string[]":
        u32(T_ARRAY);
        u32(T_STRING);
        u64(v.value.length);
        for (const s of v.value) str(s);
        break;
      case "f32[]": {
        u32(T_ARRAY);
        u32(T_FLOAT32);
        u64(v.value.length);
        const b = Buffer.alloc(4 * v.value.length);
        v.value.forEach((x, i) => b.writeFloatLE(x, 4 * i));
        parts.push(b);
        break;
      }
      case "i32[]": {
        u32(T_ARRAY);
        u32(T_INT32);
        u64(v.value.length);
        const b = Buffer.alloc(4 * v.value.length);
        v.value.forEach((x, i) => b.writeInt32LE(x, 4 * i));
        parts.push(b);
        break;
      }
    }
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    str(t.name);
    u32(t.shape.length);
    for (const d of t.shape) u64(d);
    u32(t.ggmlType);
    u64(offset);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const size = ggmlTypeSize(t.ggmlType, n);
    offsets.push(offset);
    sizes.push(size);
    offset = align(offset + size);
  }
  let header = Buffer.concat(parts);
  header = Buffer.concat([header, Buffer.alloc(align(header.length) - header.length)]);
  return { header, offsets, sizes, dataSize: offset };
}

export function align(n: number): number {
  return Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
}

/**
 * Writes a GGUF file: construct with the metadata and tensor specs, then call `writeTensor` once
 * per tensor in declaration order, passing a producer that yields the encoded bytes in chunks.
 */
export class GgufWriter {
  readonly #fd: number;
  readonly #tensors: readonly GgufTensorSpec[];
  readonly #sizes: number[];
  #next = 0;

  constructor(path: string, metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensorSpec[]) {
    const { header, sizes } = ggufHeader(metadata, tensors);
    this.#tensors = tensors;
    this.#sizes = sizes;
    this.#fd = openSync(path, "w");
    writeSync(this.#fd, header);
  }

  /** Stream one tensor's encoded bytes; the chunks must add up to exactly its encoded size. */
  writeTensor(name: string, chunks: Iterable<Uint8Array>): void {
    const spec = this.#tensors[this.#next];
    if (spec === undefined || spec.name !== name) {
      throw new Error(`GGUF tensors must be written in declaration order: expected "${spec?.name}", got "${name}"`);
    }
    let n = 0;
    for (const c of chunks) {
      writeSync(this.#fd, c);
      n += c.length;
    }
    const expected = this.#sizes[this.#next]!;
    if (n !== expected) throw new Error(`tensor "${name}": wrote ${n} bytes, expected ${expected}`);
    const pad = align(n) - n;
    if (pad > 0) writeSync(this.#fd, Buffer.alloc(pad));
    this.#next++;
  }

  /** Close the file; throws if a declared tensor was not written. */
  close(): void {
    closeSync(this.#fd);
    if (this.#next !== this.#tensors.length) {
      throw new Error(`GGUF closed after ${this.#next} of ${this.#tensors.length} tensors`);
    }
  }
}
