/**
 * The protocol's encodings: every hash, EIP-712 typed message and Merkle leaf, exactly as
 * spec/encodings.md defines them. contracts/libraries/Encodings.sol is the Solidity side; both are
 * checked against spec/vectors.json. Nothing else in the code base encodes these by hand.
 */
import { concat, hashStruct, hashTypedData, keccak256, toHex, type Address, type Hex } from "viem";

export const DOMAIN_NAME = "LLMarket";
export const DOMAIN_VERSION = "1";

/** All typed structs of the protocol, in viem's typed-data form. */
export const TYPES = {
  Ticket: [
    { name: "requester", type: "address" },
    { name: "node", type: "address" },
    { name: "model", type: "bytes32" },
    { name: "adapter", type: "bytes32" },
    { name: "input", type: "bytes32" },
    { name: "maxTokens", type: "uint32" },
    { name: "pricePerToken", type: "uint256" },
    { name: "sequence", type: "uint64" },
    { name: "expiry", type: "uint64" },
    { name: "profile", type: "bytes32" },
  ],
  Receipt: [
    { name: "ticket", type: "bytes32" },
    { name: "output", type: "bytes32" },
    { name: "tokens", type: "uint32" },
  ],
  Voucher: [
    { name: "requester", type: "address" },
    { name: "node", type: "address" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "throughSequence", type: "uint64" },
  ],
  Input: [
    { name: "prompt", type: "string" },
    { name: "maxTokens", type: "uint32" },
    { name: "stop", type: "string[]" },
    { name: "seed", type: "uint64" },
  ],
  Output: [
    { name: "profile", type: "bytes32" },
    { name: "tokens", type: "uint32[]" },
  ],
  Profile: [
    { name: "model", type: "bytes32" },
    { name: "adapter", type: "bytes32" },
    { name: "llamaBuild", type: "string" },
    { name: "cpuVariant", type: "string" },
    { name: "threads", type: "uint32" },
    { name: "batchSize", type: "uint32" },
    { name: "contextSize", type: "uint32" },
    { name: "flashAttention", type: "bool" },
    { name: "freshSequence", type: "bool" },
    { name: "sampler", type: "Sampler" },
    { name: "chatTemplate", type: "bytes32" },
    { name: "verification", type: "VerificationRule" },
  ],
  Sampler: [
    { name: "kind", type: "uint8" },
    { name: "temperatureMilli", type: "uint32" },
    { name: "topK", type: "uint32" },
    { name: "topPMilli", type: "uint32" },
    { name: "minPMilli", type: "uint32" },
    { name: "repeatPenaltyMilli", type: "uint32" },
    { name: "repeatLastN", type: "uint32" },
    { name: "frequencyPenaltyMilli", type: "uint32" },
    { name: "presencePenaltyMilli", type: "uint32" },
  ],
  VerificationRule: [
    { name: "mode", type: "uint8" },
    { name: "exactBelowTokens", type: "uint32" },
    { name: "topK", type: "uint32" },
    { name: "maxMissBps", type: "uint32" },
    { name: "minMeanLogProbMicro", type: "int32" },
  ],
  Leaf: [
    { name: "index", type: "uint32" },
    { name: "kind", type: "uint8" },
    { name: "ref", type: "bytes32" },
    { name: "requester", type: "address" },
    { name: "model", type: "bytes32" },
    { name: "adapter", type: "bytes32" },
    { name: "input", type: "bytes32" },
    { name: "output", type: "bytes32" },
    { name: "tokens", type: "uint32" },
    { name: "amount", type: "uint256" },
    { name: "expiry", type: "uint64" },
    { name: "profile", type: "bytes32" },
  ],
  BidCommitment: [
    { name: "jobId", type: "uint256" },
    { name: "bidder", type: "address" },
    { name: "pricePerToken", type: "uint256" },
    { name: "salt", type: "bytes32" },
  ],
  ChallengeCommitment: [
    { name: "batchId", type: "uint256" },
    { name: "leafIndex", type: "uint32" },
    { name: "kind", type: "uint8" },
    { name: "challenger", type: "address" },
    { name: "salt", type: "bytes32" },
  ],
  VoteCommitment: [
    { name: "disputeId", type: "uint256" },
    { name: "voter", type: "address" },
    { name: "guilty", type: "bool" },
    { name: "salt", type: "bytes32" },
  ],
} as const;

export type Ticket = {
  requester: Address;
  node: Address;
  model: Hex;
  adapter: Hex;
  input: Hex;
  maxTokens: number;
  pricePerToken: bigint;
  sequence: bigint;
  expiry: bigint;
  profile: Hex;
};
export type Receipt = { ticket: Hex; output: Hex; tokens: number };
export type Voucher = { requester: Address; node: Address; cumulativeAmount: bigint; throughSequence: bigint };
export type InferenceInput = { prompt: string; maxTokens: number; stop: readonly string[]; seed: bigint };

/** Sampler kinds. */
export const SAMPLER_GREEDY = 0;
export const SAMPLER_TEMPERATURE = 1;
export type Sampler = {
  kind: number;
  temperatureMilli: number;
  topK: number;
  topPMilli: number;
  minPMilli: number;
  repeatPenaltyMilli: number;
  repeatLastN: number;
  frequencyPenaltyMilli: number;
  presencePenaltyMilli: number;
};

/** Verification modes. */
export const VERIFY_EXACT = 0;
export const VERIFY_RESCORE = 1;
export type VerificationRule = {
  mode: number;
  exactBelowTokens: number;
  topK: number;
  maxMissBps: number;
  minMeanLogProbMicro: number;
};
export type Profile = {
  model: Hex;
  adapter: Hex;
  llamaBuild: string;
  cpuVariant: string;
  threads: number;
  batchSize: number;
  contextSize: number;
  flashAttention: boolean;
  freshSequence: boolean;
  sampler: Sampler;
  chatTemplate: Hex;
  verification: VerificationRule;
};

/** Leaf kinds: what `ref` names. */
export const LEAF_TICKET = 0;
export const LEAF_AUCTION = 1;
export type Leaf = {
  index: number;
  kind: number;
  ref: Hex;
  requester: Address;
  model: Hex;
  adapter: Hex;
  input: Hex;
  output: Hex;
  tokens: number;
  amount: bigint;
  expiry: bigint;
  profile: Hex;
};

/** Challenge kinds. */
export const CHALLENGE_DATA = 0;
export const CHALLENGE_WRONG_OUTPUT = 1;

export const ZERO32: Hex = `0x${"00".repeat(32)}`;

/** The EIP-712 domain: bound to the chain and to the contract that verifies the message. */
export function domain(
  chainId: number | bigint,
  verifyingContract: Address,
): { name: string; version: string; chainId: bigint; verifyingContract: Address } {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract };
}

/** keccak256 of the canonical EIP-712 type string of `primaryType`, with referenced types appended. */
export function typeHash(primaryType: keyof typeof TYPES): Hex {
  return keccak256(toHex(encodeType(primaryType)));
}

/** EIP-712 encodeType: the primary type, then referenced struct types sorted by name. */
export function encodeType(primaryType: keyof typeof TYPES): string {
  const deps = new Set<string>();
  const visit = (name: string): void => {
    const fields = TYPES[name as keyof typeof TYPES];
    for (const f of fields) {
      const base = f.type.replace(/\[\]$/, "");
      if (base in TYPES && !deps.has(base) && base !== primaryType) {
        deps.add(base);
        visit(base);
      }
    }
  };
  visit(primaryType);
  const fmt = (name: string): string =>
    `${name}(${TYPES[name as keyof typeof TYPES].map((f) => `${f.type} ${f.name}`).join(",")})`;
  return [primaryType, ...[...deps].sort()].map(fmt).join("");
}

// ----- signed messages (digests are what EOAs sign and ERC-1271 wallets validate) -----

export function ticketDigest(t: Ticket, chainId: number | bigint, verifyingContract: Address): Hex {
  return hashTypedData({
    domain: domain(chainId, verifyingContract),
    types: TYPES,
    primaryType: "Ticket",
    message: t,
  });
}

export function receiptDigest(r: Receipt, chainId: number | bigint, verifyingContract: Address): Hex {
  return hashTypedData({
    domain: domain(chainId, verifyingContract),
    types: TYPES,
    primaryType: "Receipt",
    message: r,
  });
}

export function voucherDigest(v: Voucher, chainId: number | bigint, verifyingContract: Address): Hex {
  return hashTypedData({
    domain: domain(chainId, verifyingContract),
    types: TYPES,
    primaryType: "Voucher",
    message: v,
  });
}

// ----- struct hashes (no domain: they are content identifiers) -----

export function inputHash(i: InferenceInput): Hex {
  return hashStruct({ types: TYPES, primaryType: "Input", data: { ...i, stop: [...i.stop] } });
}

export function outputHash(profile: Hex, tokens: readonly number[]): Hex {
  return hashStruct({ types: TYPES, primaryType: "Output", data: { profile, tokens: [...tokens] } });
}

export function profileHash(p: Profile): Hex {
  return hashStruct({ types: TYPES, primaryType: "Profile", data: p });
}

export function leafHash(l: Leaf): Hex {
  return hashStruct({ types: TYPES, primaryType: "Leaf", data: l });
}

export function bidCommitment(jobId: bigint, bidder: Address, pricePerToken: bigint, salt: Hex): Hex {
  return hashStruct({
    types: TYPES,
    primaryType: "BidCommitment",
    data: { jobId, bidder, pricePerToken, salt },
  });
}

/** A challenge's id: `challenger << 96 | slot` (spec "Commitments"; ChallengeGame.challengeIdOf). */
export function challengeIdOf(challenger: Address, slot: bigint): bigint {
  return (BigInt(challenger) << 96n) | BigInt.asUintN(96, slot);
}

/** The challenger a challenge id names (lower-case address). */
export function challengerOf(challengeId: bigint): Address {
  return `0x${(challengeId >> 96n).toString(16).padStart(40, "0")}`;
}

export function challengeCommitment(
  batchId: bigint,
  leafIndex: number,
  kind: number,
  challenger: Address,
  salt: Hex,
): Hex {
  return hashStruct({
    types: TYPES,
    primaryType: "ChallengeCommitment",
    data: { batchId, leafIndex, kind, challenger, salt },
  });
}

export function voteCommitment(disputeId: bigint, voter: Address, guilty: boolean, salt: Hex): Hex {
  return hashStruct({ types: TYPES, primaryType: "VoteCommitment", data: { disputeId, voter, guilty, salt } });
}

/** The model id: the sha256 of the GGUF file, as bytes32. */
export function modelId(sha256Hex: string): Hex {
  const h = sha256Hex.startsWith("0x") ? sha256Hex.slice(2) : sha256Hex;
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new Error(`model id must be a 32-byte sha256 in hex, got "${sha256Hex}"`);
  return `0x${h.toLowerCase()}`;
}

/** keccak256 of a chat template's text; zero for raw completion (no template). */
export function chatTemplateHash(template: string | null): Hex {
  return template === null ? ZERO32 : keccak256(toHex(template));
}

/** Inner Merkle node: keccak256(left ‖ right), never sorted (positional). */
export function hashPair(left: Hex, right: Hex): Hex {
  return keccak256(concat([left, right]));
}
