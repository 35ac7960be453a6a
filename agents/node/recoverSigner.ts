/**
 * Fast EOA signature checks for tickets and vouchers (32-byte EIP-712 digest, 65-byte signature).
 * viem's recoverAddress resolves `@noble/curves` with a dynamic import on every call and recovers
 * the key each time (~2 ms here). `SignerCache.verify` recovers a requester's public key once,
 * keeps it with precomputed multiples, and afterwards runs a plain ECDSA verification against it
 * (u1·G + u2·Q with both tables precomputed, ~0.5 ms), also checking that the signature's recovery bit
 * matches, so a signature accepted here is one `ecrecover` maps to the same address on chain.
 * High-s signatures are rejected, as OpenZeppelin's ECDSA does.
 */
import { secp256k1 } from "@noble/curves/secp256k1";
import { invert, mod } from "@noble/curves/abstract/modular";
import { bytesToBigInt, hexToBytes, keccak256, type Address, type Hex } from "viem";

const N = secp256k1.CURVE.n;
type Point = InstanceType<typeof secp256k1.ProjectivePoint>;

function parse(signature: Hex): { sig: InstanceType<typeof secp256k1.Signature>; v: number } | null {
  const b = hexToBytes(signature);
  if (b.length !== 65) return null;
  let v = b[64]!;
  if (v >= 27) v -= 27;
  if (v > 1) return null;
  const sig = secp256k1.Signature.fromCompact(b.subarray(0, 64)).addRecoveryBit(v);
  if (sig.hasHighS()) return null;
  return { sig, v };
}

function addressOf(p: Point): Address {
  return `0x${keccak256(p.toRawBytes(false).subarray(1)).slice(-40)}` as Address;
}

/** The signer of `hash`, or null for a malformed or high-s signature (slow path: recovery). */
export function recoverSigner(hash: Hex, signature: Hex): Address | null {
  try {
    const p = parse(signature);
    if (!p) return null;
    return addressOf(p.sig.recoverPublicKey(hexToBytes(hash)) as Point);
  } catch {
    return null;
  }
}

export class SignerCache {
  readonly #keys = new Map<string, Point>();
  readonly #max: number;

  constructor(maxKeys = 10_000) {
    this.#max = maxKeys;
  }

  /** Whether `signature` over `hash` is `signer`'s (EOA). */
  verify(signer: Address, hash: Hex, signature: Hex): boolean {
    const key = signer.toLowerCase();
    try {
      const p = parse(signature);
      if (!p) return false;
      const Q = this.#keys.get(key);
      if (Q) {
        const { r, s } = p.sig;
        const is = invert(s, N);
        const h = mod(bytesToBigInt(hexToBytes(hash)), N);
        // u1·G + u2·Q with both points' tables precomputed (the "unsafe" variable-time path
        // ignores a non-base point's table in @noble/curves 1.9, so use the windowed one).
        const X = secp256k1.ProjectivePoint.BASE.multiply(mod(h * is, N)).add(Q.multiply(mod(r * is, N)));
        if (X.equals(secp256k1.ProjectivePoint.ZERO)) return false;
        const R = X.toAffine();
        // INVARIANT: R is the signature's nonce point, so its y parity is the recovery bit ecrecover uses.
        return mod(R.x, N) === r && Number(R.y & 1n) === p.v;
      }
      const pub = p.sig.recoverPublicKey(hexToBytes(hash)) as Point;
      if (addressOf(pub).toLowerCase() !== key) return false;
      if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.keys().next().value!);
      secp256k1.utils.precompute(8, pub);
      this.#keys.set(key, pub);
      return true;
    } catch {
      return false;
    }
  }
}
