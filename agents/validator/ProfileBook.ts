/**
 * Determinism profiles by hash. A leaf names only its profile's hash; the validator learns full
 * profiles from the node's GET /v1/models (checked by hashing), from its own default profile per
 * local model, and remembers them in the store so committee duty works when the node is gone.
 */
import type { Hex } from "viem";
import { profileHash, type Profile } from "../lib/encodings.ts";
import type { NodeClient } from "./NodeClient.ts";
import type { ValidatorStore } from "./ValidatorStore.ts";

const jsonBig = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? v.toString() : v);

export class ProfileBook {
  readonly #store: ValidatorStore;
  readonly #byHash = new Map<string, Profile>();

  constructor(store: ValidatorStore) {
    this.#store = store;
  }

  add(p: Profile): Hex {
    const h = profileHash(p);
    this.#byHash.set(h.toLowerCase(), p);
    this.#store.addProfile(h, JSON.stringify(p, jsonBig));
    return h;
  }

  get(hash: Hex): Profile | undefined {
    const k = hash.toLowerCase();
    const hit = this.#byHash.get(k);
    if (hit) return hit;
    const json = this.#store.profileJson(hash);
    if (json === undefined) return undefined;
    const p = JSON.parse(json) as Profile;
    if (profileHash(p).toLowerCase() !== k) return undefined;
    this.#byHash.set(k, p);
    return p;
  }

  /** The profile for `hash`, asking the node for its advertised profiles when unknown. */
  async resolve(hash: Hex, node: NodeClient | null): Promise<Profile | undefined> {
    const known = this.get(hash);
    if (known || node === null) return known;
    try {
      for (const p of await node.profiles()) this.add(p);
    } catch {
      // The node's model list is a convenience; a missing one leaves the profile unknown.
    }
    return this.get(hash);
  }
}
