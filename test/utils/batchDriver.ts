/**
 * Drives batches through BatchSettlement on a fixture chain: makes signed ticket leaves, commits
 * a batch, builds the chunk calldata with vouchers, settles, and challenges. Used by the
 * settlement scenarios and the gas benchmark.
 */
import { keccak256, parseEventLogs, toHex, type Address, type Hex } from "viem";
import {
  LEAF_AUCTION,
  LEAF_TICKET,
  ZERO32,
  inputHash,
  outputHash,
  type Leaf,
  type Voucher,
} from "../../agents/lib/encodings.ts";
import { buildTicket, signTicket, signVoucher, ticketId, type SigningDomain } from "../../agents/lib/tickets.ts";
import {
  buildBatch,
  chunkCount,
  chunkGroups,
  chunkLeafGroups,
  chunkLeaves,
  chunkProof,
  type BatchHeader,
  type BuiltBatch,
  type PendingLeaf,
} from "../../agents/lib/batch.ts";
import { MODEL, PRICE, type ProtocolFixture } from "./protocolFixture.ts";
import type { Ticket } from "../../agents/lib/encodings.ts";

export const PROFILE: Hex = keccak256(toHex("fixture profile"));

type Wallet = ProtocolFixture["requesters"][number];

export type MadeLeaf = { leaf: PendingLeaf; ticket?: Ticket; ticketSig?: Hex; prompt: string; tokens: number[] };

/** Everything but the prompt of every input the driver makes (what a challenge response posts). */
const INPUT = { maxTokens: 64, stop: [] as string[], seed: 0n };

/** A committed batch as `BatchDriver.commit` returns it. */
type Committed = { batchId: bigint; header: BatchHeader; batch: BuiltBatch };

export class BatchDriver {
  readonly f: ProtocolFixture;
  readonly escrowDomain: SigningDomain;
  /** Per requester: the running total owed to the node and the highest sequence used. */
  readonly owed = new Map<Address, { total: bigint; sequence: bigint }>();

  constructor(f: ProtocolFixture) {
    this.f = f;
    this.escrowDomain = { chainId: f.chainId, verifyingContract: f.deployed.addresses.PairEscrow };
  }

  /** A ticket leaf for `requester`: prompt `prompt`, `n` generated tokens at PRICE. */
  async ticketLeaf(requester: Wallet, prompt: string, n: number, options: { sign?: boolean } = {}): Promise<MadeLeaf> {
    const acc = requester.account.address;
    const state = this.owed.get(acc) ?? { total: 0n, sequence: 0n };
    state.sequence += 1n;
    const input = inputHash({ prompt, ...INPUT });
    const ticket = buildTicket(
      {
        requester: acc,
        node: this.f.node.account.address,
        model: MODEL,
        input,
        maxTokens: INPUT.maxTokens,
        pricePerToken: PRICE,
        sequence: state.sequence,
        profile: PROFILE,
      },
      { nowSeconds: await this.f.now(), lifetimeSeconds: 300n },
    );
    const tokens = Array.from({ length: n }, (_, k) => 300 + ((k * 31 + prompt.length) % 200));
    const amount = BigInt(n) * PRICE;
    state.total += amount;
    this.owed.set(acc, state);
    const leaf: PendingLeaf = {
      kind: LEAF_TICKET,
      ref: ticketId(ticket, this.escrowDomain),
      requester: acc,
      model: MODEL,
      adapter: ZERO32,
      input,
      output: outputHash(PROFILE, tokens),
      tokens: n,
      amount,
      expiry: ticket.expiry,
      profile: PROFILE,
    };
    const made: MadeLeaf = { leaf, ticket, prompt, tokens };
    if (options.sign) made.ticketSig = await signTicket(requester, ticket, this.escrowDomain);
    return made;
  }

  /** An auction leaf for a delivered job. */
  auctionLeaf(
    jobId: bigint,
    requester: Address,
    prompt: string,
    tokens: number[],
    amount: bigint,
    expiry: bigint,
  ): MadeLeaf {
    return {
      leaf: {
        kind: LEAF_AUCTION,
        ref: toHex(jobId, { size: 32 }),
        requester,
        model: MODEL,
        adapter: ZERO32,
        input: inputHash({ prompt, ...INPUT }),
        output: outputHash(PROFILE, tokens),
        tokens: tokens.length,
        amount,
        expiry,
        profile: PROFILE,
      },
      prompt,
      tokens,
    };
  }

  /** Commits the leaves (payout = their sum unless given) and returns the batch id and header. */
  async commit(
    made: readonly MadeLeaf[],
    payout?: bigint,
  ): Promise<{ batchId: bigint; header: BatchHeader; batch: BuiltBatch; hash: Hex }> {
    const batch = buildBatch(made.map((m) => m.leaf));
    const declared = payout ?? batch.payout;
    const hash = await this.f.c.settlement.write.commitBatch([batch.root, batch.leaves.length, declared], {
      account: this.f.node.account,
    });
    const receipt = await this.f.wait(hash);
    const [ev] = parseEventLogs({ abi: this.f.c.settlement.abi, logs: receipt.logs, eventName: "BatchCommitted" });
    if (!ev) throw new Error("no BatchCommitted event");
    const header: BatchHeader = {
      node: this.f.node.account.address,
      leafCount: batch.leaves.length,
      committedAt: ev.args.committedAt,
      payout: declared,
      lock: ev.args.lock,
      root: batch.root,
    };
    return { batchId: ev.args.batchId, header, batch, hash };
  }

  /** The signed cumulative voucher of `requester` covering everything made so far. */
  async voucher(requester: Wallet): Promise<{ voucher: Voucher; signature: Hex }> {
    const state = this.owed.get(requester.account.address) ?? { total: 0n, sequence: 0n };
    const voucher: Voucher = {
      requester: requester.account.address,
      node: this.f.node.account.address,
      cumulativeAmount: state.total,
      throughSequence: state.sequence,
    };
    return { voucher, signature: await signVoucher(requester, voucher, this.escrowDomain) };
  }

  /** Waits until settlement opens for `header`. */
  async toSettlement(header: BatchHeader): Promise<void> {
    const p = this.f.deployed.params;
    const opens = header.committedAt + p.challengeWindowSeconds + p.revealPeriodSeconds;
    const now = await this.f.now();
    if (now <= opens) await this.f.advance(opens - now + 1n);
  }

  /**
   * Settles chunk `chunkIndex` with one voucher per group (from `vouchersBy`), skipping `held` leaf
   * indices and paying `byTicket` leaves with their own tickets. Returns the receipt.
   */
  async settleChunk(
    batchId: bigint,
    header: BatchHeader,
    batch: BuiltBatch,
    chunkIndex: number,
    opts: {
      vouchersBy: Map<Address, { voucher: Voucher; signature: Hex }>;
      held?: Set<number>;
      byTicket?: Map<number, MadeLeaf>;
    },
  ) {
    const leaves = chunkLeaves(batch, chunkIndex);
    const skip = new Set<number>([...(opts.held ?? []), ...(opts.byTicket?.keys() ?? [])]);
    const payments = chunkGroups(leaves, skip).map((r) => {
      const v = opts.vouchersBy.get(r);
      if (!v) throw new Error(`no voucher for ${r}`);
      return v;
    });
    const tickets = [...(opts.byTicket ?? new Map<number, MadeLeaf>()).entries()]
      .filter(([i]) => leaves.some((l) => l.index === i))
      .sort(([a], [b]) => a - b)
      .map(([leafIndex, m]) => ({ leafIndex, ticket: m.ticket!, signature: m.ticketSig! }));
    const hash = await this.f.c.settlement.write.settleChunk(
      [
        batchId,
        header,
        {
          index: chunkIndex,
          groups: chunkLeafGroups(leaves),
          proof: chunkProof(batch.tree, chunkIndex),
          payments,
          tickets,
        },
      ],
      { account: this.f.node.account },
    );
    return this.f.wait(hash);
  }

  /** Settles every chunk of a batch with current vouchers. */
  async settleAll(
    batchId: bigint,
    header: BatchHeader,
    batch: BuiltBatch,
    requesters: readonly Wallet[],
    held = new Set<number>(),
  ) {
    const vouchersBy = new Map<Address, { voucher: Voucher; signature: Hex }>();
    for (const r of requesters) vouchersBy.set(r.account.address, await this.voucher(r));
    const receipts = [];
    for (let i = 0; i < chunkCount(batch.leaves.length); i++)
      receipts.push(await this.settleChunk(batchId, header, batch, i, { vouchersBy, held }));
    return receipts;
  }

  /** Next challenge slot per validator (slots are reused once their challenge closes; tests use fresh ones). */
  private slots = new Map<Address, bigint>();

  /**
   * Funds a fresh slot of `validator` with one bond, commits and reveals a challenge from it;
   * returns the reveal receipt and the challenge id.
   */
  async challenge(validator: Wallet, batchId: bigint, header: BatchHeader, leafIndex: number, kind: number) {
    const { challengeCommitment, challengeIdOf } = await import("../../agents/lib/encodings.ts");
    const who = validator.account.address;
    const slot = (this.slots.get(who) ?? 0n) + 1n;
    this.slots.set(who, slot);
    const game = this.f.c.game;
    const salt = keccak256(toHex(`salt ${batchId} ${leafIndex} ${kind}`));
    const commitment = challengeCommitment(batchId, leafIndex, kind, who, salt);
    const bond = await game.read.challengeBond();
    if (bond > 0n) await this.f.wait(await game.write.fundSlot([slot, bond], { account: validator.account }));
    await this.f.wait(await game.write.commitChallenge([slot, commitment], { account: validator.account }));
    const receipt = await this.f.wait(
      await game.write.revealChallenge([slot, batchId, header, leafIndex, kind, salt], { account: validator.account }),
    );
    return Object.assign(receipt, { challengeId: challengeIdOf(who, slot) });
  }

  /** The respondToChallenge arguments that post leaf `index` of `b` (made as `m`) for `challengeId`. */
  responseArgs(challengeId: bigint, b: Committed, index: number, m: MadeLeaf) {
    return [
      challengeId,
      b.batchId,
      b.header,
      b.batch.leaves[index]!,
      b.batch.tree.proof(index),
      { prompt: m.prompt, ...INPUT, tokens: m.tokens },
    ] as const;
  }

  /** Posts leaf `index`'s data in answer to `challengeId` (from the fixture's default account); returns the receipt. */
  async respond(challengeId: bigint, b: Committed, index: number, m: MadeLeaf) {
    return this.f.wait(await this.f.c.game.write.respondToChallenge(this.responseArgs(challengeId, b, index, m)));
  }
}
