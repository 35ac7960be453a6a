import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { network } from "hardhat";
import { parseUnits, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  ZERO32,
  receiptDigest,
  ticketDigest,
  voucherDigest,
  type Receipt,
  type Ticket,
  type Voucher,
} from "../../agents/lib/encodings.ts";
import {
  TicketError,
  buildReceipt,
  buildTicket,
  checkTicketForNode,
  nextVoucher,
  signReceipt,
  signTicket,
  signVoucher,
  ticketId,
  verifyReceipt,
  verifyTicket,
  verifyVoucher,
} from "../../agents/lib/tickets.ts";
import { VECTORS_PATH } from "../../scripts/gen-vectors.ts";

type Signed = { message: Record<string, string | number>; digest: Hex; signer: Address; signature: Hex };
const vectors = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as {
  chainId: number;
  verifyingContract: Address;
  ticket: Signed;
  receipt: Signed;
  voucher: Signed;
};
const vd = { chainId: vectors.chainId, verifyingContract: vectors.verifyingContract };

// Hardhat's development accounts #0 (requester) and #1 (node), as in scripts/gen-vectors.ts.
const requester = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const node = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");

const vTicket = (): Ticket => {
  const m = vectors.ticket.message;
  return {
    requester: m.requester as Address,
    node: m.node as Address,
    model: m.model as Hex,
    adapter: m.adapter as Hex,
    input: m.input as Hex,
    maxTokens: Number(m.maxTokens),
    pricePerToken: BigInt(m.pricePerToken!),
    sequence: BigInt(m.sequence!),
    expiry: BigInt(m.expiry!),
    profile: m.profile as Hex,
  };
};
const vReceipt = (): Receipt => {
  const m = vectors.receipt.message;
  return { ticket: m.ticket as Hex, output: m.output as Hex, tokens: Number(m.tokens) };
};
const vVoucher = (): Voucher => {
  const m = vectors.voucher.message;
  return {
    requester: m.requester as Address,
    node: m.node as Address,
    cumulativeAmount: BigInt(m.cumulativeAmount!),
    throughSequence: BigInt(m.throughSequence!),
  };
};

describe("tickets.ts against spec/vectors.json", () => {
  it("ticket: id, signature and verification match the vector", async () => {
    const t = vTicket();
    expect(ticketId(t, vd)).toBe(vectors.ticket.digest);
    expect(await signTicket(requester, t, vd)).toBe(vectors.ticket.signature);
    expect(await verifyTicket(t, vectors.ticket.signature, vd)).toBe(true);
    expect(await verifyTicket({ ...t, sequence: t.sequence + 1n }, vectors.ticket.signature, vd)).toBe(false);
    expect(await verifyTicket(t, vectors.ticket.signature, { ...vd, chainId: 1 })).toBe(false);
  });

  it("receipt: digest, node signature and verification match the vector", async () => {
    const r = vReceipt();
    expect(receiptDigest(r, vd.chainId, vd.verifyingContract)).toBe(vectors.receipt.digest);
    expect(await signReceipt(node, r, vd)).toBe(vectors.receipt.signature);
    expect(await verifyReceipt(r, vectors.receipt.signer, vectors.receipt.signature, vd)).toBe(true);
    expect(await verifyReceipt(r, requester.address, vectors.receipt.signature, vd)).toBe(false);
    // The receipt's ticket field is the ticket id.
    expect(r.ticket).toBe(vectors.ticket.digest);
  });

  it("voucher: digest, signature and verification match the vector", async () => {
    const v = vVoucher();
    expect(voucherDigest(v, vd.chainId, vd.verifyingContract)).toBe(vectors.voucher.digest);
    expect(await signVoucher(requester, v, vd)).toBe(vectors.voucher.signature);
    expect(await verifyVoucher(v, vectors.voucher.signature, vd)).toBe(true);
    expect(await verifyVoucher(v, "0x1234", vd)).toBe(false);
  });

  it("node admission checks reject what the escrow could not pay", () => {
    const t = buildTicket(
      {
        requester: requester.address,
        node: node.address,
        model: ZERO32,
        input: ZERO32,
        maxTokens: 10,
        pricePerToken: 5n,
        sequence: 3n,
        profile: ZERO32,
      },
      { nowSeconds: 1000n, lifetimeSeconds: 60n },
    );
    const ctx = {
      node: node.address,
      nowSeconds: 1000n,
      ticketMaxLifetimeSeconds: 3600n,
      pair: { balance: 100n, thawing: 0n, outstanding: 0n, lastSequence: 2n },
    };
    expect(() => checkTicketForNode(t, ctx)).not.toThrow();
    const reason = (f: () => void): unknown => {
      try {
        f();
      } catch (e) {
        return e instanceof TicketError ? e.details.reason : e;
      }
      return undefined;
    };
    expect(reason(() => checkTicketForNode(t, { ...ctx, node: requester.address }))).toBe("wrong-node");
    expect(reason(() => checkTicketForNode(t, { ...ctx, nowSeconds: 2000n }))).toBe("expired");
    expect(reason(() => checkTicketForNode(t, { ...ctx, ticketMaxLifetimeSeconds: 10n }))).toBe("lifetime");
    expect(reason(() => checkTicketForNode(t, { ...ctx, pair: { ...ctx.pair, lastSequence: 3n } }))).toBe("sequence");
    expect(reason(() => checkTicketForNode(t, { ...ctx, pair: { ...ctx.pair, thawing: 60n } }))).toBe("exposure");
    expect(reason(() => checkTicketForNode(t, { ...ctx, pair: { ...ctx.pair, outstanding: 51n } }))).toBe("exposure");
    expect(() => buildTicket({ ...t, maxTokens: 0 })).toThrow(TicketError);
    expect(() => buildTicket({ ...t, sequence: 0n })).toThrow(TicketError);
    expect(() => buildReceipt(t, vd, ZERO32, 11)).toThrow(TicketError);
    const v0: Voucher = { requester: requester.address, node: node.address, cumulativeAmount: 0n, throughSequence: 0n };
    expect(nextVoucher(v0, 50n, 3n)).toEqual({ ...v0, cumulativeAmount: 50n, throughSequence: 3n });
    expect(() => nextVoucher({ ...v0, throughSequence: 4n }, 1n, 3n)).toThrow(TicketError);
  });
});

describe("tickets.ts against the deployed PairEscrow", () => {
  let viem: Awaited<ReturnType<typeof network.create>>["viem"];
  let chainId: number;

  beforeAll(async () => {
    ({ viem } = await network.create());
    chainId = await (await viem.getPublicClient()).getChainId();
  });

  it("the contract computes the same ids and pays TS-signed vouchers (EOA and ERC-1271)", async () => {
    const publicClient = await viem.getPublicClient();
    const [admin, req, nodeWallet, owner] = await viem.getWalletClients();
    if (!admin || !req || !nodeWallet || !owner) throw new Error("need four accounts");
    const token = await viem.deployContract("TestToken", [parseUnits("1000000", 18)]);
    const escrow = await viem.deployContract("PairEscrow", [
      admin.account.address,
      token.address,
      {
        thawPeriod: 864000n,
        ticketMaxLifetime: 86400n,
        batchCommitLag: 3600n,
        challengeWindow: 86400n,
        disputeTime: 259200n,
        grace: 86400n,
      },
    ]);
    const d = { chainId, verifyingContract: escrow.address };
    const amount = parseUnits("100", 18);
    await token.write.transfer([req.account.address, amount]);
    await token.write.approve([escrow.address, amount], { account: req.account });
    await escrow.write.deposit([nodeWallet.account.address, amount], { account: req.account });

    const t = buildTicket({
      requester: req.account.address,
      node: nodeWallet.account.address,
      model: ZERO32,
      input: ZERO32,
      maxTokens: 64,
      pricePerToken: 10n ** 12n,
      sequence: 1n,
      profile: ZERO32,
    });
    expect(await escrow.read.ticketId([t])).toBe(ticketId(t, d));
    expect(await escrow.read.ticketId([t])).toBe(ticketDigest(t, chainId, escrow.address));
    const tSig = await signTicket(req, t, d);
    expect(await verifyTicket(t, tSig, d, publicClient)).toBe(true);

    const v: Voucher = {
      requester: req.account.address,
      node: nodeWallet.account.address,
      cumulativeAmount: 123n,
      throughSequence: 1n,
    };
    expect(await escrow.read.voucherDigest([v])).toBe(voucherDigest(v, chainId, escrow.address));
    const vSig = await signVoucher(req, v, d);
    await escrow.write.redeemVoucher([v, vSig], { account: nodeWallet.account });
    expect(await escrow.read.creditOf([nodeWallet.account.address])).toBe(123n);

    // ERC-1271: a contract wallet whose owner signs; verified by the public client like the contract does.
    const wallet = await viem.deployContract("ERC1271Wallet", [owner.account.address]);
    await token.write.transfer([wallet.address, amount]);
    await wallet.write.deposit([escrow.address, nodeWallet.account.address, amount], { account: owner.account });
    const wv: Voucher = {
      requester: wallet.address,
      node: nodeWallet.account.address,
      cumulativeAmount: 7n,
      throughSequence: 1n,
    };
    const wSig = await signVoucher(owner, wv, d);
    expect(await verifyVoucher(wv, wSig, d, publicClient)).toBe(true);
    expect(await verifyVoucher(wv, wSig, d)).toBe(false); // without a client, only EOAs verify
    await escrow.write.redeemVoucher([wv, wSig], { account: nodeWallet.account });
    expect(await escrow.read.creditOf([nodeWallet.account.address])).toBe(130n);
    await wallet.write.revokeAll({ account: owner.account });
    const wv2 = { ...wv, cumulativeAmount: 9n, throughSequence: 2n };
    const wSig2 = await signVoucher(owner, wv2, d);
    expect(await verifyVoucher(wv2, wSig2, d, publicClient)).toBe(false);
    await expect(escrow.write.redeemVoucher([wv2, wSig2], { account: nodeWallet.account })).rejects.toThrow(
      /EscrowInvalidSignature/,
    );
  });
});
