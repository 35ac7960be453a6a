/**
 * ggml tensor encodings for the generated models: F32, F16, Q8_0 and Q4_0 (block size 32), following
 * ggml's reference quantizers (ggml-quants.c: quantize_row_q8_0_ref, quantize_row_q4_0_ref).
 */

/** ggml type ids (ggml.h `enum ggml_type`). */
export const GGML_F32 = 0;
export const GGML_F16 = 1;
export const GGML_Q4_0 = 2;
export const GGML_Q8_0 = 8;

export type Quant = "f32" | "f16" | "q8_0" | "q4_0";
export const QUANTS: readonly Quant[] = ["f32", "f16", "q8_0", "q4_0"];

export const QK = 32;

export function ggmlType(q: Quant): number {
  return { f32: GGML_F32, f16: GGML_F16, q8_0: GGML_Q8_0, q4_0: GGML_Q4_0 }[q];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a float, round to nearest even (as ggml's GGML_FP32_TO_FP16 on CPU). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

/** Float from an IEEE half. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encode `src` into `out` (little-endian) as type `q`; returns the bytes written. */
export function encode(q: Quant, src: Float32Array, out: Buffer): number {
  const n = src.length;
  switch (q) {
    case "f32":
      // x86 and arm64 are little-endian, as GGUF is.
      Buffer.from(src.buffer, src.byteOffset, 4 * n).copy(out, 0);
      return 4 * n;
    case "f16":
      for (let i = 0; i < n; i++) out.writeUInt16LE(toHalf(src[i]!), 2 * i);
      return 2 * n;
    case "q8_0": {
      let o = 0;
      for (let b = 0; b < n; b += QK) {
        let amax = 0;
        for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[b + j]!));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        out.writeUInt16LE(toHalf(d), o);
        for (let j = 0; j < QK; j++) out[o + 2 + j] = Math.round(src[b + j]! * id) & 0xff;
        o += 34;
      }
      return o;
    }
    case "q4_0": {
      let o = 0;
      for (let b = 0; b < n; b += QK) {
        let amax = 0;
        let max = 0;
        for (let j = 0; j < QK; j++) {
          const v = src[b + j]!;
          if (Math.abs(v) > amax) {
            amax = Math.abs(v);
            max = v;
          }
        }
        const d = max / -8;
        const id = d ? 1 / d : 0;
        out.writeUInt16LE(toHalf(d), o);
        for (let j = 0; j < QK / 2; j++) {
          const x0 = src[b + j]! * id;
          const x1 = src[b + QK / 2 + j]! * id;
          const q0 = Math.min(15, Math.trunc(x0 + 8.5));
          const q1 = Math.min(15, Math.trunc(x1 + 8.5));
          out[o + 2 + j] = q0 | (q1 << 4);
        }
        o += 18;
      }
      return o;
    }
  }
}
