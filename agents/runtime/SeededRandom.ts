/**
 * A fast seeded PRNG: xoshiro128** (32-bit state words, no BigInt in the hot loop), seeded with
 * splitmix64 from a 64-bit seed and a stream label. The same (seed, label) always gives the same
 * sequence on every platform, so generated models are reproducible byte for byte.
 */
export class SeededRandom {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: bigint, label = "") {
    // Mix the label into the seed with FNV-1a (64-bit), then expand with splitmix64.
    let h = 0xcbf29ce484222325n;
    for (const byte of new TextEncoder().encode(label)) {
      h ^= BigInt(byte);
      h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    let x = (BigInt.asUintN(64, seed) ^ h) & 0xffffffffffffffffn;
    const next = (): bigint => {
      x = (x + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
      return z ^ (z >> 31n);
    };
    const a = next();
    const b = next();
    this.#s0 = Number(a & 0xffffffffn) | 0;
    this.#s1 = Number(a >> 32n) | 0;
    this.#s2 = Number(b & 0xffffffffn) | 0;
    this.#s3 = Number(b >> 32n) | 0;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.#s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return r >>> 0;
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Fill `out` with uniform values in [-amplitude, amplitude). */
  fillUniform(out: Float32Array, amplitude: number): void {
    const scale = (2 * amplitude) / 4294967296;
    for (let i = 0; i < out.length; i++) out[i] = this.nextUint32() * scale - amplitude;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
