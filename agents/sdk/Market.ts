/**
 * The requester's client of the market. Holds a viem wallet, the deployment, discovery, the
 * durable state (sequences, vouchers), the evidence file and the budget.
 *
 * - Escrow: `deposit`, `reserve` (pre-reserve with the top candidates, so fail-over needs no
 *   transaction), `requestWithdraw` / `completeWithdraw` (thaw then complete), `pair`.
 * - Direct requests: `complete` (one answer) and `stream` (an async iterable of events). Each
 *   attempt signs a fresh ticket, verifies the node's output hash and receipt, then signs and sends
 *   the pair's cumulative voucher. A node that errors, times out or drops the stream is replaced by
 *   the next candidate; a streaming caller does not see the replacement's repeated prefix (the
 *   profile is deterministic, so a replacement regenerates it; a `reset` event says when it did not).
 *   A failed node is paid nothing: its ticket is resolved at 0 and covered by the next voucher.
 * - Auctions: agents/sdk/Auction.ts (`market.auction`).
 */
import { isAddressEqual, maxUint256, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { pairEscrowAbi, testTokenAbi, nodeRegistryAbi } from "../lib/generated/abis.ts";
import { renderChat, type ChatMessage } from "../lib/chatTemplate.ts";
import { contractAddress, type Deployment } from "../lib/deployments.ts";
import { inputHash, type Ticket } from "../lib/encodings.ts";
import { buildTicket, signTicket, signVoucher, ticketId, type SigningDomain } from "../lib/tickets.ts";
import { LLMarketError } from "../lib/errors.ts";
import { Budget, type BudgetHold, type BudgetLimits } from "./Budget.ts";
import { chainWrite } from "./chainWrite.ts";
import { Discovery, type Candidate, type Constraints } from "./Discovery.ts";
import {
  AllCandidatesFailedError,
  BudgetExceededError,
  InsufficientEscrowError,
  NodeRequestError,
  VerificationError,
} from "./errors.ts";
import { EvidenceStore } from "./EvidenceStore.ts";
import { NodeClient, type DirectBody, type LLMarketResult } from "./NodeClient.ts";
import { RequesterState } from "./RequesterState.ts";
import { verifyResult } from "./verifyResult.ts";

export type MarketOptions = {
  wallet: WalletClient;
  publicClient: PublicClient;
  deployment: Deployment;
  discovery: Discovery;
  /** JSON state file (sequences, vouchers). */
  statePath: string;
  /** JSONL evidence file (receipts). */
  evidencePath: string;
  budget?: BudgetLimits;
  /** Ticket lifetime, s (capped below the escrow's ticketMaxLifetime). Default 300. */
  ticketLifetimeSeconds?: number;
  /** Per-attempt timeouts passed to NodeClient. */
  timeoutMs?: number;
  idleTimeoutMs?: number;
};

/** A direct request: chat messages or a raw prompt, and what to pay. */
export type DirectRequest = {
  model: string;
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  stop?: string[];
  seed?: bigint;
  constraints?: Constraints;
  /** Skip discovery and use these candidates, in order. */
  candidates?: Candidate[];
  signal?: AbortSignal;
};

/** Events of a streamed request. */
export type StreamEvent =
  | { type: "node"; node: Address; endpoint: string; sequence: bigint }
  | { type: "text"; text: string; tokenIds: number[] }
  | { type: "failover"; from: Address; reason: string; error: LLMarketError }
  /** The replacement's output differs from what was already streamed: discard it and use what follows. */
  | { type: "reset"; text: string };

export type Attempt = { node: Address; endpoint: string; ok: boolean; error?: string; status?: number };

export type DirectResult = {
  text: string;
  tokens: number[];
  finishReason: string;
  node: Address;
  endpoint: string;
  ticket: Ticket;
  ticketId: Hex;
  llmarket: LLMarketResult;
  /** tokens x pricePerToken, token wei. */
  cost: bigint;
  voucher: { cumulativeAmount: bigint; throughSequence: bigint; accepted: boolean; error?: string };
  attempts: Attempt[];
};

export type PairInfo = {
  node: Address;
  balance: bigint;
  paid: bigint;
  voucherSequence: bigint;
  thawing: bigint;
  thawEndsAt: bigint;
  /** Vouchered but not yet redeemed by the node. */
  owed: bigint;
  /** Worst case of this process's requests in flight. */
  inFlight: bigint;
  /** What a new ticket may still commit: balance - thawing - owed - inFlight. */
  available: bigint;
};

export class Market {
  readonly wallet: WalletClient;
  readonly publicClient: PublicClient;
  readonly deployment: Deployment;
  readonly discovery: Discovery;
  readonly state: RequesterState;
  readonly evidence: EvidenceStore;
  readonly budget: Budget;
  readonly requester: Address;
  readonly escrowDomain: SigningDomain;
  readonly receiptDomain: SigningDomain;
  readonly options: MarketOptions;
  readonly #inFlight = new Map<string, bigint>();
  readonly #signers = new Map<string, Address>();
  #ticketMaxLifetime?: bigint;

  constructor(options: MarketOptions) {
    if (!options.wallet.account)
      throw new LLMarketError("The wallet has no account: pass a key (--key or LLMARKET_KEY).");
    this.options = options;
    this.wallet = options.wallet;
    this.publicClient = options.publicClient;
    this.deployment = options.deployment;
    this.discovery = options.discovery;
    this.requester = options.wallet.account.address;
    this.state = new RequesterState(options.statePath, this.requester);
    this.evidence = new EvidenceStore(options.evidencePath);
    this.budget = new Budget(options.budget);
    this.escrowDomain = { chainId: options.deployment.chainId, verifyingContract: this.address("PairEscrow") };
    this.receiptDomain = { chainId: options.deployment.chainId, verifyingContract: this.address("ChallengeGame") };
  }

  address(name: Parameters<typeof contractAddress>[1]): Address {
    return contractAddress(this.deployment, name);
  }

  // ------------------------------------------------------------------ escrow

  /** The pair's on-chain escrow and what a new ticket may still commit. */
  async pair(node: Address): Promise<PairInfo> {
    const escrow = this.address("PairEscrow");
    const [p, t] = await Promise.all([
      this.publicClient.readContract({
        address: escrow,
        abi: pairEscrowAbi,
        functionName: "pairOf",
        args: [this.requester, node],
      }),
      this.publicClient.readContract({
        address: escrow,
        abi: pairEscrowAbi,
        functionName: "thawOf",
        args: [this.requester, node],
      }),
    ]);
    const local = this.state.pair(node);
    const owed = local.cumulative > p.paid ? local.cumulative - p.paid : 0n;
    const inFlight = this.#inFlight.get(node.toLowerCase()) ?? 0n;
    const thawing = t.amount < p.balance ? t.amount : p.balance;
    const available = p.balance - thawing - owed - inFlight;
    return {
      node,
      balance: p.balance,
      paid: p.paid,
      voucherSequence: p.voucherSequence,
      thawing,
      thawEndsAt: t.endsAt,
      owed,
      inFlight,
      available: available > 0n ? available : 0n,
    };
  }

  /** Approves (when needed) and deposits `amount` for `node`. */
  async deposit(node: Address, amount: bigint): Promise<Hex> {
    const escrow = this.address("PairEscrow");
    await this.#ensureAllowance(escrow, amount);
    const { hash } = await chainWrite(
      this.publicClient,
      this.wallet,
      { address: escrow, abi: pairEscrowAbi, functionName: "deposit", args: [node, amount] },
      "Check the token balance (llmarket deposit --help) and that the node is registered.",
    );
    return hash;
  }

  /**
   * Pre-reserves escrow with the top `count` candidates for a model: tops each pair up to
   * `amountPerNode` of available escrow. Returns the nodes and what was deposited to each.
   */
  async reserve(
    model: string,
    amountPerNode: bigint,
    options: { count?: number; constraints?: Constraints } = {},
  ): Promise<{ node: Address; endpoint: string; deposited: bigint }[]> {
    const cands = (await this.discovery.candidates(model, options.constraints)).slice(0, options.count ?? 3);
    const out = [];
    for (const c of cands) {
      const p = await this.pair(c.address);
      const need = amountPerNode > p.available ? amountPerNode - p.available : 0n;
      if (need > 0n) await this.deposit(c.address, need);
      out.push({ node: c.address, endpoint: c.endpoint, deposited: need });
    }
    return out;
  }

  /** Starts (or adds to) a withdrawal thaw; `amount` defaults to the whole non-thawing balance. */
  async requestWithdraw(node: Address, amount?: bigint): Promise<{ hash: Hex; amount: bigint; endsAt: bigint }> {
    const p = await this.pair(node);
    const value = amount ?? p.balance - p.thawing;
    if (value <= 0n)
      throw new InsufficientEscrowError(
        `Nothing to withdraw from the pair with ${node}: its balance is ${p.balance}, ${p.thawing} already thawing.`,
      );
    const escrow = this.address("PairEscrow");
    const { hash } = await chainWrite(this.publicClient, this.wallet, {
      address: escrow,
      abi: pairEscrowAbi,
      functionName: "requestWithdraw",
      args: [node, value],
    });
    const t = await this.publicClient.readContract({
      address: escrow,
      abi: pairEscrowAbi,
      functionName: "thawOf",
      args: [this.requester, node],
    });
    return { hash, amount: value, endsAt: t.endsAt };
  }

  /** Completes a thawed withdrawal (after the thaw period). */
  async completeWithdraw(node: Address): Promise<{ hash: Hex; amount: bigint }> {
    const { hash, result } = await chainWrite(
      this.publicClient,
      this.wallet,
      { address: this.address("PairEscrow"), abi: pairEscrowAbi, functionName: "completeWithdraw", args: [node] },
      "A withdrawal completes only after its thaw period (llmarket withdraw --status).",
    );
    return { hash, amount: result as bigint };
  }

  async #ensureAllowance(spender: Address, amount: bigint): Promise<void> {
    const token = this.deployment.token.address;
    const allowance = await this.publicClient.readContract({
      address: token,
      abi: testTokenAbi,
      functionName: "allowance",
      args: [this.requester, spender],
    });
    if (allowance >= amount) return;
    await chainWrite(this.publicClient, this.wallet, {
      address: token,
      abi: testTokenAbi,
      functionName: "approve",
      args: [spender, maxUint256],
    });
  }

  /** Token balance of the requester. */
  async tokenBalance(): Promise<bigint> {
    return this.publicClient.readContract({
      address: this.deployment.token.address,
      abi: testTokenAbi,
      functionName: "balanceOf",
      args: [this.requester],
    });
  }

  // ------------------------------------------------------------------ direct requests

  /** One verified answer, with fail-over. */
  complete(req: DirectRequest): Promise<DirectResult> {
    return this.#run(req);
  }

  /**
   * Streams one answer as events; the iterator's return value (and `result`) is the verified
   * DirectResult. Errors are thrown from the iterator.
   */
  stream(req: DirectRequest): AsyncIterable<StreamEvent> & { result: Promise<DirectResult> } {
    const queue: StreamEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    const result = this.#run(req, (e) => {
      queue.push(e);
      wake?.();
    });
    result.then(
      () => ((finished = true), wake?.()),
      () => ((finished = true), wake?.()),
    );
    async function* iterate(): AsyncGenerator<StreamEvent, void> {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((r) => {
          wake = r;
          if (queue.length > 0 || finished) r();
        });
        wake = undefined;
      }
      await result; // rethrows
    }
    const it = iterate();
    result.catch(() => undefined); // the iterator rethrows; avoid an unhandled rejection
    return Object.assign(it, { result });
  }

  async #ticketLifetime(): Promise<bigint> {
    if (this.#ticketMaxLifetime === undefined) {
      const timing = await this.publicClient.readContract({
        address: this.address("PairEscrow"),
        abi: pairEscrowAbi,
        functionName: "timing",
      });
      this.#ticketMaxLifetime = timing.ticketMaxLifetime;
    }
    const wanted = BigInt(this.options.ticketLifetimeSeconds ?? 300);
    const cap = this.#ticketMaxLifetime - 30n;
    return wanted < cap ? wanted : cap > 10n ? cap : this.#ticketMaxLifetime;
  }

  /**
   * The chain's clock, s: the latest block's timestamp, or the wall clock when that is later
   * (blocks are mined only on transactions on a dev chain). Ticket expiries are checked against
   * block time, which runs ahead of the wall clock on a chain whose time was moved forward.
   */
  async #chainNow(): Promise<bigint> {
    const wall = BigInt(Math.floor(Date.now() / 1000));
    const block = await this.publicClient.getBlock({ blockTag: "latest" });
    return block.timestamp > wall ? block.timestamp : wall;
  }

  async #signersOf(c: Candidate): Promise<Address[]> {
    const key = c.address.toLowerCase();
    let signer = this.#signers.get(key);
    if (!signer) {
      const n = await this.publicClient.readContract({
        address: this.address("NodeRegistry"),
        abi: nodeRegistryAbi,
        functionName: "getNode",
        args: [c.address],
      });
      signer = n.signer;
      this.#signers.set(key, signer);
    }
    return c.signer && !isAddressEqual(c.signer, signer) ? [signer, c.address] : [signer, c.address];
  }

  async #run(req: DirectRequest, emit?: (e: StreamEvent) => void): Promise<DirectResult> {
    if (!req.messages === !req.prompt && req.prompt !== "") {
      throw new LLMarketError("Give either chat messages or a prompt.");
    }
    const rendered = req.messages ? renderChat(req.messages) : req.prompt!;
    const stop = req.stop ?? [];
    const seed = req.seed ?? 0n;
    const input = inputHash({ prompt: rendered, maxTokens: req.maxTokens, stop, seed });
    const candidates = req.candidates ?? (await this.discovery.candidates(req.model, req.constraints));
    const attempts: Attempt[] = [];
    const errors: LLMarketError[] = [];
    const streaming = emit !== undefined;
    let emitted = ""; // text the caller has seen

    for (const c of candidates) {
      if (req.signal?.aborted) break;
      const fail = (error: LLMarketError, status?: number): void => {
        attempts.push({ node: c.address, endpoint: c.endpoint, ok: false, error: error.message, status });
        errors.push(error);
      };
      if (c.maxTokens < req.maxTokens) {
        fail(
          new NodeRequestError(`Node ${c.address} serves at most ${c.maxTokens} tokens.`, { details: { status: 413 } }),
        );
        continue;
      }
      const worst = BigInt(req.maxTokens) * c.pricePerToken;
      let hold: BudgetHold;
      try {
        hold = this.budget.hold(worst);
      } catch (e) {
        fail(e as LLMarketError);
        continue;
      }
      const key = c.address.toLowerCase();
      let sequence: bigint | undefined;
      try {
        const pair = await this.pair(c.address);
        if (pair.available < worst) {
          throw new InsufficientEscrowError(
            `The pair with node ${c.address} has ${pair.available} token wei available, this request may cost ${worst}: deposit more (llmarket deposit --node ${c.address} --amount ...).`,
            { details: { node: c.address, available: pair.available, need: worst } },
          );
        }
        this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0n) + worst);
        const [lifetime, now] = await Promise.all([this.#ticketLifetime(), this.#chainNow()]);
        const expiry = now + lifetime;
        sequence = this.state.allocateSequence(c.address, pair.voucherSequence + 1n, expiry);
        const ticket = buildTicket({
          requester: this.requester,
          node: c.address,
          model: (await this.#modelIdFor(c, req.model)) as Hex,
          input,
          maxTokens: req.maxTokens,
          pricePerToken: c.pricePerToken,
          sequence,
          expiry,
          profile: c.profileHash,
        });
        const signature = await signTicket(this.wallet, ticket, this.escrowDomain);
        emit?.({ type: "node", node: c.address, endpoint: c.endpoint, sequence });
        const body: DirectBody = req.messages
          ? {
              kind: "chat",
              model: c.modelName,
              messages: req.messages,
              max_tokens: req.maxTokens,
              stop,
              seed: seed.toString(),
            }
          : {
              kind: "completion",
              model: c.modelName,
              prompt: rendered,
              max_tokens: req.maxTokens,
              stop,
              seed: seed.toString(),
            };
        const client = new NodeClient(c.endpoint, {
          timeoutMs: this.options.timeoutMs,
          idleTimeoutMs: this.options.idleTimeoutMs,
        });
        let nodeText = "";
        let diverged = false;
        const streamed: number[] = [];
        const onPiece = streaming
          ? (p: { text: string; tokenIds: number[] }): void => {
              streamed.push(...p.tokenIds);
              nodeText += p.text;
              if (diverged) {
                emitted += p.text;
                emit({ type: "text", text: p.text, tokenIds: p.tokenIds });
              } else if (nodeText.length <= emitted.length) {
                if (!emitted.startsWith(nodeText)) {
                  diverged = true;
                  emitted = nodeText;
                  emit({ type: "reset", text: nodeText });
                }
              } else if (nodeText.startsWith(emitted)) {
                const delta = nodeText.slice(emitted.length);
                emitted = nodeText;
                emit({ type: "text", text: delta, tokenIds: p.tokenIds });
              } else {
                diverged = true;
                emitted = nodeText;
                emit({ type: "reset", text: nodeText });
              }
            }
          : undefined;
        const answer = await client.complete(body, ticket, signature, { onPiece, signal: req.signal });
        await verifyResult({
          ticket,
          result: answer.llmarket,
          escrowDomain: this.escrowDomain,
          receiptDomain: this.receiptDomain,
          signers: await this.#signersOf(c),
          streamedTokens: streaming ? streamed : undefined,
        });
        // Verified: pay what the receipt proves.
        const cost = BigInt(answer.llmarket.receipt.tokens) * ticket.pricePerToken;
        const voucher = this.state.resolve(c.address, sequence, cost);
        sequence = undefined;
        const vsig = await signVoucher(this.wallet, voucher, this.escrowDomain);
        this.state.recordVoucher(voucher, vsig);
        this.evidence.add({
          chainId: this.deployment.chainId,
          node: c.address,
          ticketId: ticketId(ticket, this.escrowDomain),
          ticket,
          ticketSignature: signature,
          receipt: answer.llmarket.receipt,
          receiptSignature: answer.llmarket.receiptSignature,
          tokens: answer.llmarket.tokens,
          receivedAt: new Date().toISOString(),
        });
        this.budget.settle(hold, cost);
        let accepted = true;
        let voucherError: string | undefined;
        try {
          await client.postVoucher(voucher, vsig);
        } catch (e) {
          accepted = false;
          voucherError = (e as Error).message; // cumulative: the next voucher carries it
        }
        attempts.push({ node: c.address, endpoint: c.endpoint, ok: true });
        if (streaming && emitted !== answer.text && !diverged && answer.text.startsWith(emitted)) {
          emit({ type: "text", text: answer.text.slice(emitted.length), tokenIds: [] });
          emitted = answer.text;
        }
        return {
          text: answer.text,
          tokens: answer.llmarket.tokens,
          finishReason: answer.finishReason ?? (answer.llmarket.tokens.length >= req.maxTokens ? "length" : "stop"),
          node: c.address,
          endpoint: c.endpoint,
          ticket,
          ticketId: ticketId(ticket, this.escrowDomain),
          llmarket: answer.llmarket,
          cost,
          voucher: {
            cumulativeAmount: voucher.cumulativeAmount,
            throughSequence: voucher.throughSequence,
            accepted,
            error: voucherError,
          },
          attempts,
        };
      } catch (e) {
        const err =
          e instanceof LLMarketError
            ? e
            : new NodeRequestError(String((e as Error)?.message ?? e), { details: { status: 0 }, cause: e });
        // No verified receipt: the node is paid nothing for this ticket.
        if (sequence !== undefined) this.state.resolve(c.address, sequence, 0n);
        this.budget.release(hold);
        fail(err, err instanceof NodeRequestError ? err.status : undefined);
        if (err instanceof NodeRequestError || err instanceof VerificationError) {
          emit?.({ type: "failover", from: c.address, reason: err.message, error: err });
        }
      } finally {
        const left = (this.#inFlight.get(key) ?? 0n) - worst;
        if (left > 0n) this.#inFlight.set(key, left);
        else this.#inFlight.delete(key);
      }
    }
    // Nobody served: report the most telling error.
    const budgetErr = errors.find((e) => e instanceof BudgetExceededError);
    if (budgetErr && errors.every((e) => e instanceof BudgetExceededError)) throw budgetErr;
    const escrowErr = errors.find((e) => e instanceof InsufficientEscrowError);
    if (escrowErr && errors.every((e) => e instanceof InsufficientEscrowError || e instanceof BudgetExceededError))
      throw escrowErr;
    throw new AllCandidatesFailedError(
      `All ${candidates.length} candidate node(s) failed for model ${req.model}: ${attempts.map((a) => `${a.node}: ${a.error}`).join("; ")}`,
      { details: { attempts } },
    );
  }

  readonly #modelIds = new Map<string, Hex>();
  async #modelIdFor(c: Candidate, model: string): Promise<Hex> {
    if (/^0x[0-9a-fA-F]{64}$/.test(model)) return model.toLowerCase() as Hex;
    const key = `${c.endpoint}|${model}`;
    let id = this.#modelIds.get(key);
    if (!id) {
      const m = (await new NodeClient(c.endpoint).models()).find((x) => x.id === model || x.llmarket.modelId === model);
      if (!m)
        throw new NodeRequestError(`Node ${c.address} no longer lists model ${model}.`, { details: { status: 404 } });
      id = m.llmarket.modelId;
      this.#modelIds.set(key, id);
    }
    return id;
  }

  /** Re-sends the pair's last signed voucher (e.g. after the node was unreachable). */
  async resendVoucher(node: Address, endpoint: string): Promise<boolean> {
    const last = this.state.pair(node).lastVoucher;
    if (!last) return false;
    await new NodeClient(endpoint).postVoucher(last.voucher, last.signature);
    return true;
  }
}
