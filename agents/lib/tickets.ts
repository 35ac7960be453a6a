/**
 * Tickets, receipts and vouchers: build, sign and verify them, exactly as PairEscrow and the
 * settlement check them. Shared by the node agent, the requester SDK and tests. Digests come from
 * agents/lib/encodings.ts (the single encoder); signatures are EIP-712 over the domain
 * {name "LLMarket", version "1", chainId, verifyingContract}. Verification accepts EOAs and ERC-1271
 * contract wallets (through viem's `verifyTypedData` on a public client, which calls
 * `isValidSignature` for contracts). Contract-wallet signatures are revocable: a node should redeem
 * them promptly (docs/market.md).
 */
import {
  recoverTypedDataAddress,
  type Account,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type WalletClient,
} from "viem";
import { LLMarketError } from "./errors.ts";
import {
  TYPES,
  ZERO32,
  domain,
  receiptDigest,
  ticketDigest,
  voucherDigest,
  type Receipt,
  type Ticket,
  type Voucher,
} from "./encodings.ts";

/** Where a message is verified: the chain and the contract whose EIP-712 domain it is signed under. */
export type SigningDomain = { chainId: number | bigint; verifyingContract: Address };

/** Something that can sign typed data: a viem local account or a wallet client with an account. */
export type TypedDataSigner = Account | WalletClient;

/** A ticket, receipt or voucher failed a check; `details.reason` says which. */
export class TicketError extends LLMarketError {}

const UINT32_MAX = 2 ** 32 - 1;
const UINT64_MAX = 2n ** 64n - 1n;

/** Builds a ticket with defaults (no adapter, expiry `lifetimeSeconds` from `nowSeconds`) and range checks. */
export function buildTicket(
  fields: Omit<Ticket, "adapter" | "expiry"> & { adapter?: Hex; expiry?: bigint },
  options: { nowSeconds?: bigint; lifetimeSeconds?: bigint } = {},
): Ticket {
  const now = options.nowSeconds ?? BigInt(Math.floor(Date.now() / 1000));
  const ticket: Ticket = {
    ...fields,
    adapter: fields.adapter ?? ZERO32,
    expiry: fields.expiry ?? now + (options.lifetimeSeconds ?? 600n),
  };
  if (!Number.isInteger(ticket.maxTokens) || ticket.maxTokens <= 0 || ticket.maxTokens > UINT32_MAX) {
    throw new TicketError(`maxTokens must be an integer in 1..${UINT32_MAX}, got ${ticket.maxTokens}.`, {
      details: { reason: "maxTokens" },
    });
  }
  if (ticket.sequence < 1n || ticket.sequence > UINT64_MAX) {
    throw new TicketError(`sequence must be in 1..2^64-1 (0 is never redeemable), got ${ticket.sequence}.`, {
      details: { reason: "sequence" },
    });
  }
  if (ticket.pricePerToken < 0n) throw new TicketError("pricePerToken must be >= 0.", { details: { reason: "price" } });
  return ticket;
}

/** The ticket id: its EIP-712 digest under the escrow's domain. */
export function ticketId(ticket: Ticket, d: SigningDomain): Hex {
  return ticketDigest(ticket, d.chainId, d.verifyingContract);
}

/** Most a ticket can cost: maxTokens x pricePerToken. */
export function maxCost(ticket: Ticket): bigint {
  return BigInt(ticket.maxTokens) * ticket.pricePerToken;
}

type PrimaryType = "Ticket" | "Receipt" | "Voucher";

async function signTyped(
  signer: TypedDataSigner,
  d: SigningDomain,
  primaryType: PrimaryType,
  message: Ticket | Receipt | Voucher,
): Promise<Hex> {
  const args = { domain: domain(d.chainId, d.verifyingContract), types: TYPES, primaryType, message } as const;
  if ("type" in signer && signer.type === "local") {
    const local = signer as LocalAccount;
    return local.signTypedData(args as Parameters<LocalAccount["signTypedData"]>[0]);
  }
  const wallet = signer as WalletClient;
  if (!wallet.account) {
    throw new TicketError("The wallet client has no account: create it with `account` to sign.", {
      details: { reason: "no-account" },
    });
  }
  return wallet.signTypedData({ ...args, account: wallet.account } as Parameters<WalletClient["signTypedData"]>[0]);
}

/** Signs a ticket as its requester (EOA key; a contract wallet's owner key for ERC-1271). */
export function signTicket(signer: TypedDataSigner, ticket: Ticket, d: SigningDomain): Promise<Hex> {
  return signTyped(signer, d, "Ticket", ticket);
}

/** Signs a receipt with the node's signing key (domain: the settlement contract). */
export function signReceipt(signer: TypedDataSigner, receipt: Receipt, d: SigningDomain): Promise<Hex> {
  return signTyped(signer, d, "Receipt", receipt);
}

/** Signs a cumulative voucher as the requester. */
export function signVoucher(signer: TypedDataSigner, voucher: Voucher, d: SigningDomain): Promise<Hex> {
  return signTyped(signer, d, "Voucher", voucher);
}

async function verifyTyped(
  expected: Address,
  signature: Hex,
  d: SigningDomain,
  primaryType: PrimaryType,
  message: Ticket | Receipt | Voucher,
  client?: PublicClient,
): Promise<boolean> {
  const args = { domain: domain(d.chainId, d.verifyingContract), types: TYPES, primaryType, message } as const;
  if (client) {
    // Handles EOAs and ERC-1271 contract wallets (and ERC-6492), like OpenZeppelin's SignatureChecker.
    return client.verifyTypedData({ ...args, address: expected, signature } as Parameters<
      PublicClient["verifyTypedData"]
    >[0]);
  }
  try {
    const recovered = await recoverTypedDataAddress({ ...args, signature } as Parameters<
      typeof recoverTypedDataAddress
    >[0]);
    return recovered.toLowerCase() === expected.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether `signature` is the requester's over the ticket (pass `client` to accept ERC-1271 wallets). */
export function verifyTicket(
  ticket: Ticket,
  signature: Hex,
  d: SigningDomain,
  client?: PublicClient,
): Promise<boolean> {
  return verifyTyped(ticket.requester, signature, d, "Ticket", ticket, client);
}

/** Whether `signature` is `nodeSigner`'s over the receipt. */
export function verifyReceipt(
  receipt: Receipt,
  nodeSigner: Address,
  signature: Hex,
  d: SigningDomain,
  client?: PublicClient,
): Promise<boolean> {
  return verifyTyped(nodeSigner, signature, d, "Receipt", receipt, client);
}

/** Whether `signature` is the requester's over the voucher. */
export function verifyVoucher(
  voucher: Voucher,
  signature: Hex,
  d: SigningDomain,
  client?: PublicClient,
): Promise<boolean> {
  return verifyTyped(voucher.requester, signature, d, "Voucher", voucher, client);
}

/** What a node knows about a pair when a ticket arrives. */
export type PairView = {
  /** PairEscrow balance of (requester, node), thawing included. */
  balance: bigint;
  /** Amount thawing out of the pair: the node treats it as unavailable for new tickets. */
  thawing: bigint;
  /** Max cost of tickets accepted and not yet paid. */
  outstanding: bigint;
  /** Highest ticket sequence accepted so far for the pair (0 if none). */
  lastSequence: bigint;
};

/**
 * The node's admission checks before it streams: addressed to this node, not expired, not living
 * longer than the escrow's ticketMaxLifetime (otherwise a thaw could outlast its redemption window),
 * sequence strictly increasing, and enough unreserved, non-thawing escrow for maxTokens x price.
 * Throws a TicketError whose `details.reason` names the failed check. The signature is checked
 * separately with `verifyTicket`.
 */
export function checkTicketForNode(
  ticket: Ticket,
  ctx: { node: Address; nowSeconds: bigint; ticketMaxLifetimeSeconds: bigint; pair: PairView },
): void {
  const fail = (reason: string, message: string): never => {
    throw new TicketError(message, { details: { reason, ticket } });
  };
  if (ticket.node.toLowerCase() !== ctx.node.toLowerCase()) {
    fail("wrong-node", `Ticket is for node ${ticket.node}, not ${ctx.node}: send it to the node it names.`);
  }
  if (ticket.expiry <= ctx.nowSeconds) fail("expired", `Ticket expired at ${ticket.expiry}: sign a fresh one.`);
  if (ticket.expiry > ctx.nowSeconds + ctx.ticketMaxLifetimeSeconds) {
    fail(
      "lifetime",
      `Ticket expiry ${ticket.expiry} is more than ${ctx.ticketMaxLifetimeSeconds}s away: use a shorter expiry.`,
    );
  }
  if (ticket.sequence <= ctx.pair.lastSequence) {
    fail(
      "sequence",
      `Ticket sequence ${ticket.sequence} is not above ${ctx.pair.lastSequence}: use the next sequence.`,
    );
  }
  const available = ctx.pair.balance - ctx.pair.thawing - ctx.pair.outstanding;
  if (maxCost(ticket) > available) {
    fail(
      "exposure",
      `Ticket may cost ${maxCost(ticket)} but only ${available > 0n ? available : 0n} is escrowed and unreserved: deposit more for this node.`,
    );
  }
}

/** The next cumulative voucher of a pair after paying `amount` for tickets through `throughSequence`. */
export function nextVoucher(previous: Voucher, amount: bigint, throughSequence: bigint): Voucher {
  if (amount < 0n) throw new TicketError("A voucher never decreases.", { details: { reason: "amount" } });
  if (throughSequence < previous.throughSequence) {
    throw new TicketError("throughSequence never decreases.", { details: { reason: "sequence" } });
  }
  return { ...previous, cumulativeAmount: previous.cumulativeAmount + amount, throughSequence };
}

/** The receipt for a finished stream. */
export function buildReceipt(ticket: Ticket, d: SigningDomain, output: Hex, tokens: number): Receipt {
  if (!Number.isInteger(tokens) || tokens < 0 || tokens > ticket.maxTokens) {
    throw new TicketError(`tokens must be in 0..${ticket.maxTokens}, got ${tokens}.`, {
      details: { reason: "tokens" },
    });
  }
  return { ticket: ticketId(ticket, d), output, tokens };
}

export { receiptDigest, ticketDigest, voucherDigest };
