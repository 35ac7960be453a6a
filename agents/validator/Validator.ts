/**
 * The validator agent: watches BatchCommitted, samples leaves (SamplingPolicy), checks them
 * (LeafChecker), challenges by commit-reveal and drives each challenge to its end (slashSilent
 * after an unanswered response window; draw/finalize on a dispute it is party to), sits on
 * committees it is drawn for (verify, commit, reveal, claim), withdraws its bond credits, and
 * submits equivocation proofs from node receipts. Every step is a state in ValidatorStore, so a
 * restart (even after SIGKILL) picks up where it stopped.
 */
import { randomBytes } from "node:crypto";
import { decodeFunctionData, formatUnits, parseUnits, toHex, type Abi, type Address, type Hex } from "viem";
import {
  challengeCommitment,
  challengeIdOf,
  leafHash,
  voteCommitment,
  CHALLENGE_DATA,
  CHALLENGE_WRONG_OUTPUT,
  type Leaf,
  type Receipt,
} from "../lib/encodings.ts";
import { challengeGameAbi } from "../lib/generated/abis.ts";
import type { BatchHeader } from "../lib/batch.ts";
import { LLMarketError } from "../lib/errors.ts";
import { Runtime } from "../runtime/Runtime.ts";
import { Verifier } from "../runtime/Verifier.ts";
import { connectChain, ChainTxError, type TxRequest, type ValidatorChain } from "./ValidatorChain.ts";
import type { ValidatorConfig } from "./ValidatorConfig.ts";
import { ValidatorStore, type ChallengeRow, type VoteRow } from "./ValidatorStore.ts";
import { sampleLeaves, sampleProbability, type SamplingParams } from "./SamplingPolicy.ts";
import { LeafChecker, integrityProblem, membershipProblem, type CheckResult } from "./LeafChecker.ts";
import { NodeClient, type LeafData } from "./NodeClient.ts";
import { ProfileBook } from "./ProfileBook.ts";
import { ValidatorMetrics } from "./ValidatorMetrics.ts";
import { startValidatorServer, type ReceiptSubmission } from "./ValidatorServer.ts";
import type { ServerType } from "@hono/node-server";

/** The validator cannot start as configured (stake, models, chain). */
export class ValidatorStartError extends LLMarketError {}

const STATUS = { None: 0, Open: 1, Disputed: 2, Cleared: 3, Upheld: 4, Committed: 5 } as const;
const PHASE = { None: 0, Drawing: 1, Commit: 2, Reveal: 3, Appealable: 4, Finalizable: 5, Resolved: 6 } as const;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const MAX_LOG_RANGE = 2_000n;

export type LogFn = (event: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l + "\n")): LogFn {
  return (event, fields = {}) =>
    write(
      JSON.stringify({ t: new Date().toISOString(), event, ...fields }, (_k, v: unknown) =>
        typeof v === "bigint" ? v.toString() : v,
      ),
    );
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
const salt32 = (): Hex => toHex(randomBytes(32));

export class Validator {
  readonly config: ValidatorConfig;
  readonly chain: ValidatorChain;
  readonly store: ValidatorStore;
  readonly runtime: Runtime;
  readonly metrics = new ValidatorMetrics();
  readonly profiles: ProfileBook;
  readonly checker: LeafChecker;
  readonly log: LogFn;
  readonly me: Address;
  readonly modelIds: Hex[] = [];
  params!: {
    challengeWindow: bigint;
    revealPeriod: bigint;
    responseWindow: bigint;
    bond: bigint;
  };
  port = 0;
  #ownsRuntime: boolean;
  #server: ServerType | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #ticking = false;
  #checking = false;
  #lastWithdraw = 0;
  #endpoints = new Map<string, { endpoint: string; at: number }>();
  #inFlight = new Set<string>();

  private constructor(
    config: ValidatorConfig,
    chain: ValidatorChain,
    runtime: Runtime,
    ownsRuntime: boolean,
    log: LogFn,
  ) {
    this.config = config;
    this.chain = chain;
    this.runtime = runtime;
    this.#ownsRuntime = ownsRuntime;
    this.log = log;
    this.me = chain.account.address;
    this.store = new ValidatorStore(config.dataDir);
    this.profiles = new ProfileBook(this.store);
    this.checker = new LeafChecker(new Verifier(runtime), this.profiles, {
      retries: config.fetchRetries,
      retryDelayMs: 500,
      rescoreThreads: config.rescoreThreads,
    });
  }

  /** Connects, loads the models and checks (or, with --declare, sets up) stake and declarations. */
  static async create(config: ValidatorConfig, o: { runtime?: Runtime; log?: LogFn } = {}): Promise<Validator> {
    const log = o.log ?? jsonLogger();
    const chain = await connectChain(config.rpcUrl, config.key, config.deployments, config.pollMs);
    if (config.fault && chain.chainId !== 31337 && chain.chainId !== 1337)
      throw new ValidatorStartError(
        `--fault is refused on chain ${chain.chainId}: it is a test switch for dev chains 31337/1337 only.`,
      );
    if (config.fault)
      log("warning", {
        message: `FAULT INJECTION ON: ${config.fault.probability} of the leaves that pass will be challenged anyway`,
      });
    const runtime = o.runtime ?? (await Runtime.create());
    const v = new Validator(config, chain, runtime, o.runtime === undefined, log);
    try {
      for (const path of config.models) {
        const rec = await runtime.store.register(path, { trusted: true });
        v.modelIds.push(rec.id);
        v.profiles.add(runtime.profile({ model: rec.id, threads: 1 }));
      }
      const [sp, bond, responseWindow] = await Promise.all([
        chain.c.settlement.read.params(),
        chain.c.game.read.challengeBond(),
        chain.c.game.read.responseWindow(),
      ]);
      v.params = {
        challengeWindow: sp.challengeWindow,
        revealPeriod: sp.revealPeriod,
        responseWindow,
        bond,
      };
      await v.checkRegistration();
    } catch (e) {
      v.store.close();
      if (v.#ownsRuntime) await runtime.close();
      throw e;
    }
    return v;
  }

  /** Stake >= minValidatorStake and every local model declared; --declare fixes both on dev chains. */
  async checkRegistration(): Promise<void> {
    const c = this.chain.c;
    const min = await c.staking.read.minValidatorStake();
    let active = await c.staking.read.activeStakeOf([this.me]);
    let declared = (await c.staking.read.validatorModels([this.me])).map((m) => m.toLowerCase());
    let missing = this.modelIds.filter((m) => !declared.includes(m.toLowerCase()));
    if (this.config.declare && (active < min || missing.length > 0)) {
      const want = this.config.stake !== undefined ? parseUnits(String(this.config.stake), 18) : min;
      if (active < want) {
        const need = want - active;
        const balance = await c.token.read.balanceOf([this.me]);
        if (balance < need) {
          if (!this.chain.deployment.token.isTestToken)
            throw new ValidatorStartError(
              `--declare needs ${formatUnits(need, 18)} tokens to stake; this account holds ${formatUnits(balance, 18)}.`,
            );
          await this.send({
            address: c.token.address,
            abi: c.token.abi,
            functionName: "faucet",
            args: [this.me, need - balance],
          });
        }
        await this.send({
          address: c.token.address,
          abi: c.token.abi,
          functionName: "approve",
          args: [c.staking.address, need],
        });
        await this.send({ address: c.staking.address, abi: c.staking.abi, functionName: "stake", args: [need] });
        this.log("staked", { amount: formatUnits(need, 18) });
      }
      if (missing.length > 0) {
        await this.send({
          address: c.staking.address,
          abi: c.staking.abi,
          functionName: "declareValidator",
          args: [missing],
        });
        this.log("declared", { models: missing });
      }
      // Bonds: keep 20 challenge bonds on hand on a test-token chain.
      const bonds = (await c.game.read.challengeBond()) * 20n;
      const bal = await c.token.read.balanceOf([this.me]);
      if (bal < bonds && this.chain.deployment.token.isTestToken) {
        await this.send({
          address: c.token.address,
          abi: c.token.abi,
          functionName: "faucet",
          args: [this.me, bonds - bal],
        });
      }
      active = await c.staking.read.activeStakeOf([this.me]);
      declared = (await c.staking.read.validatorModels([this.me])).map((m) => m.toLowerCase());
      missing = this.modelIds.filter((m) => !declared.includes(m.toLowerCase()));
    }
    this.metrics.stake.set(Number(formatUnits(active, 18)));
    const problems: string[] = [];
    if (active < min)
      problems.push(
        `active stake is ${formatUnits(active, 18)} tokens, the minimum for a validator is ${formatUnits(min, 18)} (stake more, or pass --declare on a dev chain)`,
      );
    if (this.modelIds.length === 0) problems.push("no model to verify: pass --model PATH.gguf (repeatable)");
    if (problems.length > 0)
      throw new ValidatorStartError(`Validator ${this.me} cannot start: ${problems.join("; ")}.`);
    if (missing.length > 0)
      this.log("warning", {
        message: `models not declared on Staking (no committee seats for them; pass --declare): ${missing.join(", ")}`,
      });
    this.log("ready-check", {
      validator: this.me,
      activeStake: formatUnits(active, 18),
      minStake: formatUnits(min, 18),
      models: this.modelIds,
      committee: this.chain.committee?.address ?? null,
    });
  }

  async start(): Promise<void> {
    const { host, port } = this.config.listen;
    const s = await startValidatorServer(host, port, {
      health: async () => {
        try {
          const b = await this.chain.latest();
          return {
            ok: true,
            body: {
              status: "ok",
              validator: this.me,
              chainId: this.chain.chainId,
              block: b.number.toString(),
              lastScanned: this.store.getMeta("block") ?? null,
              pendingChallenges: this.store.activeChallenges().length,
            },
          };
        } catch (e) {
          return { ok: false, body: { status: "chain-unreachable", error: String(e) } };
        }
      },
      metrics: async () => ({
        contentType: this.metrics.registry.contentType,
        text: await this.metrics.registry.metrics(),
      }),
      submitReceipt: (r) => this.submitReceipt(r),
    });
    this.#server = s.server;
    this.port = s.port;
    this.log("started", { listen: `${host}:${s.port}`, validator: this.me });
    const loop = async (): Promise<void> => {
      if (this.#stopped) return;
      await this.tick();
      void this.#checkWorker();
      if (!this.#stopped) this.#timer = setTimeout(() => void loop(), this.config.pollMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    while (this.#ticking || this.#checking) await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    this.store.close();
    if (this.#ownsRuntime) await this.runtime.close();
  }

  async send(req: TxRequest): Promise<Hex> {
    try {
      return await this.chain.send(req);
    } catch (e) {
      this.metrics.txErrors.inc({ function: req.functionName });
      throw e;
    }
  }

  /** One pass: new events, challenges and votes advanced, credits withdrawn. Never throws. */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      await this.scanEvents();
      for (const ch of this.store.activeChallenges())
        await this.#guard(`challenge ${ch.batchId}/${ch.leafIndex}`, () => this.advanceChallenge(ch));
      for (const v of this.store.activeVotes())
        await this.#guard(`vote ${v.disputeId}/${v.round}`, () => this.advanceVote(v));
      if (Date.now() - this.#lastWithdraw > this.config.withdrawEverySeconds * 1000) {
        this.#lastWithdraw = Date.now();
        await this.#guard("withdraw", () => this.withdrawCredits());
      }
      this.metrics.pendingChallenges.set(this.store.activeChallenges().length);
      this.metrics.pendingChecks.set(this.store.pendingSamples().length);
    } catch (e) {
      this.log("tick-error", { error: String(e) });
    } finally {
      this.#ticking = false;
    }
  }

  async #guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.log("step-error", { what, error: e instanceof Error ? e.message : String(e) });
    }
  }

  // ------------------------------------------------------------------ events and sampling

  async scanEvents(): Promise<void> {
    const c = this.chain;
    const stored = this.store.getMeta("block");
    const from = stored !== undefined ? BigInt(stored) + 1n : BigInt(this.config.fromBlock ?? c.deployment.deployBlock);
    const latest = (await c.latest()).number;
    if (from > latest) return;
    const to = latest - from > MAX_LOG_RANGE ? from + MAX_LOG_RANGE : latest;
    const batches = await c.c.settlement.getEvents.BatchCommitted({}, { fromBlock: from, toBlock: to });
    for (const ev of batches) {
      const a = ev.args;
      const header: BatchHeader = {
        node: a.node!,
        leafCount: a.leafCount!,
        committedAt: a.committedAt!,
        payout: a.payout!,
        lock: a.lock!,
        root: a.root!,
      };
      this.onBatch(a.batchId!, header, ev.blockNumber);
    }
    if (c.committee) {
      const drawn = await c.committee.getEvents.CommitteeDrawn({}, { fromBlock: from, toBlock: to });
      for (const ev of drawn) {
        if (!(ev.args.members ?? []).some((m) => same(m, this.me))) continue;
        if (this.store.addSeat(ev.args.disputeId!, ev.args.round!)) {
          this.metrics.votes.inc({ step: "seated" });
          this.log("seated", { disputeId: ev.args.disputeId, round: ev.args.round });
        }
      }
    }
    if (c.rewards) {
      const canaries = await c.rewards.getEvents.CanaryRevealed({}, { fromBlock: from, toBlock: to });
      for (const ev of canaries) {
        const mine = ev.args.catcher !== undefined && same(ev.args.catcher, this.me);
        const checked = this.store.challengeOfLeaf(ev.args.batchId!, ev.args.leafIndex!) !== undefined;
        this.metrics.canaries.inc({ caught: mine ? "yes" : "no" });
        this.log("canary", {
          batchId: ev.args.batchId,
          leafIndex: ev.args.leafIndex,
          caughtByUs: mine,
          catcher: ev.args.catcher,
          weChallenged: checked,
        });
      }
    }
    this.store.setMeta("block", to.toString());
    this.metrics.lastBlock.set(Number(to));
  }

  /** Records a batch and draws its sample, once (idempotent across restarts). */
  onBatch(batchId: bigint, header: BatchHeader, block: bigint): void {
    if (same(header.node, this.me)) return;
    const params: SamplingParams = {
      base: this.config.sampleP,
      floor: this.config.sampleFloor,
      boost: this.config.newNodeBoost,
      halfLife: this.config.historyHalfLife,
    };
    this.store.db.exec("BEGIN IMMEDIATE");
    try {
      if (!this.store.addBatch(batchId, header, block)) {
        this.store.db.exec("COMMIT");
        return;
      }
      const p = sampleProbability(params, this.store.history(header.node).leavesSeen);
      const picks = sampleLeaves(header.leafCount, p);
      this.store.setBatchP(batchId, p);
      for (const i of picks) this.store.addSample(batchId, i, header.node);
      this.store.bumpHistory(header.node, { seen: header.leafCount });
      this.store.db.exec("COMMIT");
      this.metrics.batchesSeen.inc();
      this.metrics.leavesSampled.inc(picks.length);
      this.log("batch", {
        batchId,
        node: header.node,
        leafCount: header.leafCount,
        p: Number(p.toFixed(4)),
        sampled: picks,
      });
    } catch (e) {
      this.store.db.exec("ROLLBACK");
      throw e;
    }
  }

  async endpointOf(node: Address): Promise<string> {
    const hit = this.#endpoints.get(node.toLowerCase());
    if (hit && Date.now() - hit.at < 30_000) return hit.endpoint;
    const n = await this.chain.c.nodes.read.getNode([node]);
    this.#endpoints.set(node.toLowerCase(), { endpoint: n.endpoint, at: Date.now() });
    return n.endpoint;
  }

  async #checkWorker(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const s of this.store.pendingSamples()) {
        if (this.#stopped) break;
        await this.#guard(`check ${s.batchId}/${s.leafIndex}`, async () => {
          await this.checkSample(s.batchId, s.leafIndex);
        });
      }
    } finally {
      this.#checking = false;
    }
  }

  /** Checks one sampled leaf and challenges it if it fails. */
  async checkSample(batchId: bigint, leafIndex: number): Promise<CheckResult | null> {
    const header = this.store.batch(batchId);
    if (!header) return null;
    const windowEnd = header.committedAt + this.params.challengeWindow;
    if ((await this.chain.now()) > windowEnd) {
      this.store.finishSample(
        batchId,
        leafIndex,
        "window-closed",
        null,
        "the challenge window closed before the check",
      );
      return null;
    }
    if ((await this.chain.c.settlement.read.stateOf([batchId])).voided) {
      this.store.finishSample(batchId, leafIndex, "voided", null, "the batch was voided before the check");
      return null;
    }
    if ((await this.chain.c.settlement.read.leafStatusOf([batchId, leafIndex])) !== 0) {
      this.store.finishSample(batchId, leafIndex, "already-challenged", null, "another validator challenged it first");
      return null;
    }
    const started = Date.now();
    const client = new NodeClient(await this.endpointOf(header.node), this.config.fetchTimeoutMs);
    const r = await this.checker.check(client, batchId, header, leafIndex);
    this.metrics.checkSeconds.set((Date.now() - started) / 1000);
    this.metrics.checks.inc({ outcome: r.outcome, mode: r.mode ?? "none" });
    this.store.finishSample(batchId, leafIndex, r.outcome, r.mode, r.reason);
    const failed = r.outcome === "wrong-output" || r.outcome === "unavailable" || r.outcome === "bad-data";
    this.store.bumpHistory(header.node, { checked: 1, failures: failed ? 1 : 0 });
    this.log("checked", { batchId, leafIndex, node: header.node, outcome: r.outcome, mode: r.mode, reason: r.reason });
    if (r.outcome === "cannot-verify")
      this.log("cannot-verify", { batchId, leafIndex, reason: r.reason, action: "not challenged" });
    // Test-only dishonest challenger (--fault false-challenge:P, dev chains): challenges a leaf that passed.
    if (r.outcome === "pass" && this.config.fault && Math.random() < this.config.fault.probability) {
      this.log("fault", { batchId, leafIndex, node: header.node, action: "challenging a leaf that passed" });
      await this.openChallenge(
        batchId,
        header,
        leafIndex,
        CHALLENGE_WRONG_OUTPUT,
        `FAULT INJECTION (passed: ${r.reason})`,
      );
    }
    if (failed)
      await this.openChallenge(
        batchId,
        header,
        leafIndex,
        r.outcome === "wrong-output" ? CHALLENGE_WRONG_OUTPUT : CHALLENGE_DATA,
        r.reason,
      );
    return r;
  }

  // ------------------------------------------------------------------ challenges

  /** Stores the salt (durably) before anything is sent, then commits. */
  async openChallenge(
    batchId: bigint,
    header: BatchHeader,
    leafIndex: number,
    kind: number,
    reason: string,
  ): Promise<ChallengeRow> {
    const prior = this.store.challengeOfLeaf(batchId, leafIndex);
    if (prior) return prior;
    const salt = salt32();
    const commitment = challengeCommitment(batchId, leafIndex, kind, this.me, salt);
    this.store.addChallenge({ commitment, batchId, leafIndex, kind, salt, node: header.node, reason });
    this.metrics.challenges.inc({ kind: String(kind), state: "new" });
    this.log("challenge", { batchId, leafIndex, kind: kind === CHALLENGE_DATA ? "data" : "wrong-output", reason });
    const row = this.store.challenge(commitment)!;
    await this.#guard(`challenge ${batchId}/${leafIndex}`, () => this.advanceChallenge(row));
    return this.store.challenge(commitment)!;
  }

  /** Tops the challenge's slot up to one bond (a reveal takes the bond from the slot). */
  async #fundSlot(slot: number): Promise<void> {
    const c = this.chain.c;
    const id = challengeIdOf(this.me, BigInt(slot));
    const have = (await c.game.read.challengeOf([id])).balance;
    if (have >= this.params.bond) return;
    const need = this.params.bond - have;
    const balance = await c.token.read.balanceOf([this.me]);
    if (balance < need)
      throw new ValidatorStartError(
        `challenge bond is ${formatUnits(this.params.bond, 18)} tokens, this account holds ${formatUnits(balance, 18)}: fund ${this.me}`,
      );
    const allowance = await c.token.read.allowance([this.me, c.game.address]);
    if (allowance < need)
      await this.send({
        address: c.token.address,
        abi: c.token.abi,
        functionName: "approve",
        args: [c.game.address, this.params.bond * 100n],
      });
    await this.send({
      address: c.game.address,
      abi: c.game.abi as Abi,
      functionName: "fundSlot",
      args: [BigInt(slot), need],
    });
  }

  #set(ch: ChallengeRow, patch: Parameters<ValidatorStore["updateChallenge"]>[1]): void {
    this.store.updateChallenge(ch.commitment, patch);
    if (patch.state && patch.state !== ch.state) {
      this.metrics.challenges.inc({ kind: String(ch.kind), state: patch.state });
      this.log("challenge-state", {
        batchId: ch.batchId,
        leafIndex: ch.leafIndex,
        from: ch.state,
        to: patch.state,
        ...(patch.reason ? { reason: patch.reason } : {}),
      });
      ch.state = patch.state;
    }
    if (patch.committedAt !== undefined) ch.committedAt = patch.committedAt;
    if (patch.disputeId !== undefined) ch.disputeId = patch.disputeId;
  }

  /** Moves one challenge along: fund its slot, commit, reveal, slashSilent, follow the dispute. */
  async advanceChallenge(ch: ChallengeRow): Promise<void> {
    // One advance per challenge at a time (the check worker and the tick may both get here).
    if (this.#inFlight.has(ch.commitment)) return;
    this.#inFlight.add(ch.commitment);
    try {
      await this.#advanceChallenge(ch);
    } finally {
      this.#inFlight.delete(ch.commitment);
    }
  }

  async #advanceChallenge(ch: ChallengeRow): Promise<void> {
    const c = this.chain.c;
    const header = this.store.batch(ch.batchId);
    if (!header) return;
    const windowEnd = header.committedAt + this.params.challengeWindow;
    const revealEnd = windowEnd + this.params.revealPeriod;
    const id = challengeIdOf(this.me, BigInt(ch.slot));
    for (let step = 0; step < 4; step++) {
      const before = ch.state;
      // Our slot holds either this challenge's commitment, the challenge itself once revealed, or
      // (after it ended) the next one: only a slot naming this leaf speaks for this challenge.
      const onChain = await c.game.read.challengeOf([id]);
      const revealedHere =
        onChain.status !== STATUS.None &&
        onChain.status !== STATUS.Committed &&
        onChain.batchId === ch.batchId &&
        onChain.leafIndex === ch.leafIndex;
      const now = await this.chain.now();
      switch (ch.state) {
        case "new":
        case "committed": {
          if (revealedHere) {
            this.#set(ch, { state: "revealed" });
            break;
          }
          const voided = (await c.settlement.read.stateOf([ch.batchId])).voided;
          if (ch.state === "new") {
            // (Re)committing is idempotent: the slot is ours and the commitment the same. After a
            // crash between the commit and the state write the commit time moves forward, which
            // only matters if that was in the window's last seconds.
            if (now > windowEnd || voided) {
              this.#set(ch, {
                state: "expired",
                reason: voided
                  ? "the batch was voided (slashed) already"
                  : "the challenge window closed before the commit",
              });
              break;
            }
            await this.#fundSlot(ch.slot);
            await this.send({
              address: c.game.address,
              abi: c.game.abi as Abi,
              functionName: "commitChallenge",
              args: [BigInt(ch.slot), ch.commitment],
            });
            const after = await c.game.read.challengeOf([id]);
            if (after.status === STATUS.Committed) this.#set(ch, { state: "committed", committedAt: after.time });
            break;
          }
          // committed, not yet revealed
          if ((await c.settlement.read.leafStatusOf([ch.batchId, ch.leafIndex])) !== 0) {
            this.#set(ch, { state: "unrevealed", reason: "another validator challenged the leaf first" });
            break;
          }
          if (now > revealEnd || voided) {
            this.#set(ch, {
              state: "unrevealed",
              reason: voided ? "the batch was voided (slashed) already" : "the reveal period ended",
            });
            break;
          }
          if (now < (ch.committedAt ?? 0n) + BigInt(this.config.revealDelaySeconds)) return;
          await this.#fundSlot(ch.slot);
          await this.send({
            address: c.game.address,
            abi: c.game.abi as Abi,
            functionName: "revealChallenge",
            args: [BigInt(ch.slot), ch.batchId, header, ch.leafIndex, ch.kind, ch.salt],
          });
          this.#set(ch, { state: "revealed" });
          break;
        }
        case "revealed":
        case "disputed": {
          if (!revealedHere) return;
          if (onChain.status === STATUS.Upheld) this.#set(ch, { state: "won", reason: "the node was slashed" });
          else if (onChain.status === STATUS.Cleared)
            this.#set(ch, { state: "lost", reason: "the node answered or won the dispute" });
          else if (onChain.status === STATUS.Open && now > onChain.time) {
            await this.send({
              address: c.game.address,
              abi: c.game.abi as Abi,
              functionName: "slashSilent",
              args: [id, ch.batchId, header],
            });
            this.log("slash-silent", { batchId: ch.batchId, leafIndex: ch.leafIndex, node: header.node });
          } else if (onChain.status === STATUS.Disputed) {
            if (ch.state !== "disputed") this.#set(ch, { state: "disputed" });
            await this.#followDispute(ch, id);
            return;
          }
          break;
        }
        default:
          return;
      }
      if (ch.state === before) return;
    }
  }

  /** As a party to a dispute: find its id, call draw when the seed block is past, finalize when due. */
  async #followDispute(ch: ChallengeRow, challengeId: bigint): Promise<void> {
    const committee = this.chain.committee;
    if (!committee) return;
    if (ch.disputeId === null) {
      const evs = await this.chain.c.game.getEvents.DisputeOpened(
        { challengeId, batchId: ch.batchId },
        { fromBlock: BigInt(this.chain.deployment.deployBlock) },
      );
      const ev = evs.at(-1);
      if (!ev || !same(ev.args.resolver!, committee.address)) return;
      this.#set(ch, { disputeId: ev.args.disputeId! });
      this.log("dispute", { batchId: ch.batchId, leafIndex: ch.leafIndex, disputeId: ev.args.disputeId });
    }
    await this.#driveDispute(ch.disputeId!);
  }

  /** Calls the committee's permissionless steps that are due (draw, finalize). */
  async #driveDispute(disputeId: bigint): Promise<number> {
    const committee = this.chain.committee!;
    const phase = await committee.read.phase([disputeId]);
    if (phase === PHASE.Drawing) {
      const d = await committee.read.disputeOf([disputeId]);
      const rd = await committee.read.roundOf([disputeId, d.round]);
      if ((await this.chain.latest()).number > rd.targetBlock) {
        await this.send({
          address: committee.address,
          abi: committee.abi as Abi,
          functionName: "draw",
          args: [disputeId],
        });
        this.log("draw", { disputeId, round: d.round });
      }
    } else if (phase === PHASE.Finalizable) {
      await this.send({
        address: committee.address,
        abi: committee.abi as Abi,
        functionName: "finalize",
        args: [disputeId],
      });
      this.log("finalize", { disputeId });
    }
    return phase;
  }

  // ------------------------------------------------------------------ committee duty

  /** The disputed leaf's data from the respondToChallenge calldata, else from the node. */
  async disputedLeaf(
    batchId: bigint,
    leafIndex: number,
    node: Address,
  ): Promise<{ leaf: Leaf; data: LeafData; header: BatchHeader | undefined } | string> {
    const evs = await this.chain.c.game.getEvents.ChallengeAnswered(
      { batchId, leafIndex },
      { fromBlock: BigInt(this.chain.deployment.deployBlock) },
    );
    const ev = evs.at(-1);
    if (ev) {
      try {
        const tx = await this.chain.publicClient.getTransaction({ hash: ev.transactionHash });
        const call = decodeFunctionData({ abi: challengeGameAbi, data: tx.input });
        if (call.functionName === "respondToChallenge") {
          const [, , header, leaf, proof, data] = call.args;
          const l: Leaf = { ...leaf };
          const d: LeafData = {
            prompt: data.prompt,
            stop: [...data.stop],
            seed: data.seed,
            maxTokens: data.maxTokens,
            tokens: [...data.tokens],
          };
          const h: BatchHeader = { ...header };
          if (leafHash(l) === ev.args.leafHash && integrityProblem(h, leafIndex, l, [...proof], d) === null)
            return { leaf: l, data: d, header: h };
        }
      } catch {
        // Not a direct call (e.g. through a contract): fall back to the node's API.
      }
    }
    const header = this.store.batch(batchId);
    if (!header) return "the batch header is unknown here and the response calldata could not be read";
    const client = new NodeClient(await this.endpointOf(node), this.config.fetchTimeoutMs);
    const got = await this.checker.fetch(client, batchId, leafIndex);
    if (!got.ok) return got.reason;
    const problem = integrityProblem(header, leafIndex, got.leaf, got.proof, got.data);
    return problem ?? { leaf: got.leaf, data: got.data, header };
  }

  #setVote(v: VoteRow, patch: Parameters<ValidatorStore["updateVote"]>[2]): void {
    this.store.updateVote(v.disputeId, v.round, patch);
    this.metrics.votes.inc({ step: patch.state });
    this.log("vote-state", {
      disputeId: v.disputeId,
      round: v.round,
      from: v.state,
      to: patch.state,
      ...(patch.guilty !== undefined ? { guilty: patch.guilty } : {}),
      ...(patch.reason ? { reason: patch.reason } : {}),
    });
    v.state = patch.state;
    if (patch.guilty !== undefined) v.guilty = patch.guilty;
    if (patch.salt !== undefined) v.salt = patch.salt;
  }

  async advanceVote(v: VoteRow): Promise<void> {
    const committee = this.chain.committee;
    if (!committee) return;
    for (let step = 0; step < 4; step++) {
      const before = v.state;
      const phase = await committee.read.phase([v.disputeId]);
      const d = await committee.read.disputeOf([v.disputeId]);
      const seat = await committee.read.seatOf([v.disputeId, v.round, this.me]);
      const roundNow = d.round === v.round;
      switch (v.state) {
        case "seated": {
          if (!roundNow || phase !== PHASE.Commit) {
            this.#setVote(v, { state: "done", reason: "the commit phase passed before a verdict" });
            break;
          }
          const got = await this.disputedLeaf(d.batchId, d.leafIndex, d.node);
          if (typeof got === "string") {
            this.#setVote(v, { state: "abstain", reason: `no usable leaf data: ${got}` });
            break;
          }
          let client: NodeClient | null = null;
          try {
            client = new NodeClient(await this.endpointOf(d.node), this.config.fetchTimeoutMs);
          } catch {
            client = null;
          }
          const r = await this.checker.judge(got.leaf, got.data, client);
          if (r.outcome === "cannot-verify") {
            this.#setVote(v, { state: "abstain", reason: `cannot verify: ${r.reason}` });
            break;
          }
          this.#setVote(v, {
            state: "decided",
            guilty: r.outcome === "wrong-output",
            salt: salt32(),
            reason: `${r.mode}: ${r.reason}`,
          });
          break;
        }
        case "decided": {
          if (seat.commitment !== "0x0000000000000000000000000000000000000000000000000000000000000000") {
            this.#setVote(v, { state: "committed" });
            break;
          }
          if (!roundNow || phase !== PHASE.Commit) {
            this.#setVote(v, { state: "done", reason: "missed the commit phase" });
            break;
          }
          const commitment = voteCommitment(v.disputeId, this.me, v.guilty!, v.salt!);
          await this.send({
            address: committee.address,
            abi: committee.abi as Abi,
            functionName: "commitVote",
            args: [v.disputeId, commitment],
          });
          this.#setVote(v, { state: "committed" });
          break;
        }
        case "committed": {
          if (seat.vote !== 0) {
            this.#setVote(v, { state: "revealed" });
            break;
          }
          if (roundNow && phase === PHASE.Commit) return;
          if (!roundNow || phase !== PHASE.Reveal) {
            this.#setVote(v, { state: "done", reason: "missed the reveal phase" });
            break;
          }
          await this.send({
            address: committee.address,
            abi: committee.abi as Abi,
            functionName: "revealVote",
            args: [v.disputeId, v.guilty!, v.salt!],
          });
          this.#setVote(v, { state: "revealed" });
          break;
        }
        case "revealed": {
          if (phase !== PHASE.Resolved) {
            if (phase === PHASE.Finalizable) await this.#driveDispute(v.disputeId);
            return;
          }
          try {
            await this.send({
              address: committee.address,
              abi: committee.abi as Abi,
              functionName: "claimReward",
              args: [v.disputeId, v.round],
            });
            this.#setVote(v, { state: "done", reason: "reward claimed" });
          } catch (e) {
            if (
              e instanceof ChainTxError &&
              (e.errorName === "CommitteeNotCoherent" || e.errorName === "CommitteeAlreadyClaimed")
            )
              this.#setVote(v, { state: "done", reason: e.errorName });
            else throw e;
          }
          break;
        }
        default:
          return;
      }
      if (v.state === before) return;
    }
  }

  // ------------------------------------------------------------------ bonds and equivocation

  /** Withdraws credits (bonds returned or won, rewards) from the game, Staking and the committee. */
  async withdrawCredits(): Promise<void> {
    const c = this.chain.c;
    const sources = [
      {
        name: "ChallengeGame",
        address: c.game.address,
        abi: c.game.abi as Abi,
        credit: () => c.game.read.creditOf([this.me]),
      },
      {
        name: "Staking",
        address: c.staking.address,
        abi: c.staking.abi as Abi,
        credit: () => c.staking.read.creditOf([this.me]),
      },
      ...(this.chain.committee
        ? [
            {
              name: "Committee",
              address: this.chain.committee.address,
              abi: this.chain.committee.abi as Abi,
              credit: () => this.chain.committee!.read.creditOf([this.me]),
            },
          ]
        : []),
    ];
    for (const s of sources) {
      const amount = await s.credit();
      if (amount === 0n) continue;
      await this.send({ address: s.address, abi: s.abi, functionName: "withdrawCredits", args: [] });
      this.metrics.withdrawn.inc({ source: s.name }, Number(formatUnits(amount, 18)));
      this.log("withdrawn", { source: s.name, amount: formatUnits(amount, 18) });
    }
    this.metrics.stake.set(Number(formatUnits(await c.staking.read.activeStakeOf([this.me]), 18)));
  }

  /** Proves equivocation with a node-signed receipt that the committed leaf contradicts. */
  async submitReceipt(s: ReceiptSubmission): Promise<{ batchId: bigint; leafIndex: number; tx: Hex }> {
    const receipt: Receipt = s.receipt;
    const client = new NodeClient(await this.endpointOf(s.node), this.config.fetchTimeoutMs);
    const batches =
      s.batchId !== undefined
        ? [{ batchId: s.batchId, header: this.store.batch(s.batchId) }]
        : this.store.batchesOf(s.node, 50);
    let fetches = 0;
    for (const b of batches) {
      const header = b.header ?? (await this.#headerFromChain(b.batchId));
      if (!header || !same(header.node, s.node)) continue;
      const indices = s.leafIndex !== undefined ? [s.leafIndex] : Array.from({ length: header.leafCount }, (_, i) => i);
      for (const i of indices) {
        if (++fetches > 2_048)
          throw new LLMarketError(
            "No leaf for this receipt's ticket in the node's last batches: pass batchId and leafIndex.",
          );
        const got = await this.checker.fetch(client, b.batchId, i);
        if (!got.ok || got.leaf.ref.toLowerCase() !== receipt.ticket.toLowerCase()) continue;
        if (membershipProblem(header, i, got.leaf, got.proof) !== null) continue;
        if (got.leaf.output === receipt.output && got.leaf.tokens === receipt.tokens) {
          throw new LLMarketError(`The receipt agrees with leaf ${b.batchId}/${i}: no equivocation.`);
        }
        const tx = await this.send({
          address: this.chain.c.game.address,
          abi: this.chain.c.game.abi as Abi,
          functionName: "proveEquivocation",
          args: [b.batchId, header, got.leaf, got.proof, receipt, s.signature],
        });
        this.log("equivocation-proven", { batchId: b.batchId, leafIndex: i, node: s.node, tx });
        return { batchId: b.batchId, leafIndex: i, tx };
      }
    }
    throw new LLMarketError(
      "No committed leaf of this node carries the receipt's ticket (or the node does not serve it): pass batchId and leafIndex.",
    );
  }

  async #headerFromChain(batchId: bigint): Promise<BatchHeader | undefined> {
    const evs = await this.chain.c.settlement.getEvents.BatchCommitted(
      { batchId },
      { fromBlock: BigInt(this.chain.deployment.deployBlock) },
    );
    const a = evs[0]?.args;
    if (!a) return undefined;
    return {
      node: a.node!,
      leafCount: a.leafCount!,
      committedAt: a.committedAt!,
      payout: a.payout!,
      lock: a.lock!,
      root: a.root!,
    };
  }
}

export { ZERO_ADDRESS };
