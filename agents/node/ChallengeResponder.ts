/**
 * Answers challenges against this node's batches: records each ChallengeRevealed event for one of
 * its batches, then posts the leaf, its proof and the input and output data with
 * `respondToChallenge` inside the response window (data challenges clear at once; wrong-output
 * challenges go to a committee dispute with the data on chain). Then follows each dispute to its
 * end: draws the committee and finalizes when nobody else has (anyone may; the node's held leaf
 * and bond wait for it), appeals a guilty round when re-running the leaf reproduces the committed
 * output, and records the verdict with the bond credited or the stake slashed.
 * The Batcher pays a cleared leaf and withdraws the credits.
 */
import { parseEventLogs } from "viem";
import { challengerOf } from "../lib/encodings.ts";
import { shortReason, type NodeChain } from "./NodeChain.ts";
import type { ChallengeRow } from "./NodeStore.ts";
import type { NodeMetrics } from "./NodeMetrics.ts";
import type { NodeStore } from "./NodeStore.ts";
import type { Batcher } from "./Batcher.ts";

type Log = (level: "debug" | "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;

export type ChallengeRevealedArgs = {
  batchId?: bigint;
  leafIndex?: number;
  /** `challenger << 96 | slot`: what respondToChallenge names the challenge by. */
  challengeId?: bigint;
  kind?: number;
  deadline?: bigint;
};

/** ChallengeGame.ChallengeStatus and Committee.Phase / Outcome. */
const CHALLENGE = { None: 0, Open: 1, Disputed: 2, Cleared: 3, Upheld: 4 } as const;
const PHASE = { None: 0, Drawing: 1, Commit: 2, Reveal: 3, Appealable: 4, Finalizable: 5, Resolved: 6 } as const;
const GUILTY = 2;
const OUTCOME = ["pending", "not guilty", "guilty", "neutral (no committee formed: not guilty)"] as const;

export type ChallengeResponderOptions = {
  chain: NodeChain;
  store: NodeStore;
  metrics: NodeMetrics;
  batcher: Batcher;
  /**
   * Re-executes a committed leaf and says whether it reproduces the committed output: the node
   * appeals a guilty round only then (a leaf it cannot reproduce, or a fault-injected one, is not
   * appealed).
   */
  reproduces?: (chainBatchId: bigint, leafIndex: number) => Promise<boolean>;
  log: Log;
};

export class ChallengeResponder {
  readonly o: ChallengeResponderOptions;
  /** Re-execution verdicts per dispute round (`id:round`), so a leaf is re-run once per round. */
  readonly #reproduced = new Map<string, boolean>();

  /** Challenge ids by `batchId/leafIndex`, from the reveal events (re-read from the chain after a restart). */
  private readonly ids = new Map<string, bigint>();

  constructor(o: ChallengeResponderOptions) {
    this.o = o;
  }

  /** The id of the challenge on a leaf: from the reveal seen, else from the chain's reveal logs. */
  private async challengeIdOf(batchId: bigint, leafIndex: number): Promise<bigint | undefined> {
    const key = `${batchId}/${leafIndex}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const evs = await this.o.chain.c.game.getEvents.ChallengeRevealed(
      { batchId, leafIndex },
      { fromBlock: BigInt(this.o.chain.deployment.deployBlock), toBlock: "latest" },
    );
    const id = evs.at(-1)?.args.challengeId;
    if (id !== undefined) this.ids.set(key, id);
    return id;
  }

  /** Records a revealed challenge if it targets one of this node's batches. */
  onRevealed(a: ChallengeRevealedArgs): void {
    if (a.batchId === undefined || a.leafIndex === undefined) return;
    const b = this.o.store.batchByChainId(a.batchId);
    if (!b) return;
    if (a.challengeId !== undefined) this.ids.set(`${a.batchId}/${a.leafIndex}`, a.challengeId);
    const added = this.o.store.addChallenge({
      chainBatchId: a.batchId,
      leafIndex: a.leafIndex,
      kind: a.kind ?? 0,
      deadline: a.deadline ?? 0n,
    });
    if (added) {
      this.o.metrics.challenges.inc({ event: "seen" });
      const challenger = a.challengeId === undefined ? "?" : challengerOf(a.challengeId);
      this.o.log("warn", `challenge on leaf ${a.batchId}/${a.leafIndex} (kind ${a.kind}) by ${challenger}`);
    }
  }

  /** Answers every open challenge whose window has not passed. */
  async respondAll(): Promise<void> {
    for (const c of this.o.store.challenges("open")) {
      const now = this.o.chain.now();
      if (c.deadline !== 0n && now > c.deadline) {
        this.o.store.setChallengeStatus(c.chainBatchId, c.leafIndex, "failed");
        this.o.metrics.challenges.inc({ event: "missed" });
        this.o.log("error", `missed the response window of challenge ${c.chainBatchId}/${c.leafIndex}`);
        continue;
      }
      const l = this.o.batcher.leaf(c.chainBatchId, c.leafIndex);
      if (!l) {
        this.o.log("error", `no stored data for challenged leaf ${c.chainBatchId}/${c.leafIndex}`);
        continue;
      }
      const challengeId = await this.challengeIdOf(c.chainBatchId, c.leafIndex);
      if (challengeId === undefined) {
        this.o.log("warn", `no reveal found yet for challenge ${c.chainBatchId}/${c.leafIndex}`);
        continue;
      }
      const onChain = await this.o.chain.c.game.read.challengeOf([challengeId]);
      const sameLeaf = onChain.batchId === c.chainBatchId && onChain.leafIndex === c.leafIndex;
      if (!sameLeaf || onChain.status !== 1) {
        // Not Open any more (answered before a restart, or closed).
        this.o.store.setChallengeStatus(
          c.chainBatchId,
          c.leafIndex,
          sameLeaf && onChain.status === 4 ? "failed" : "answered",
        );
        continue;
      }
      try {
        const receipt = await this.o.chain.send("respondToChallenge", () =>
          this.o.chain.c.game.write.respondToChallenge([
            challengeId,
            c.chainBatchId,
            l.header,
            l.leaf,
            l.proof,
            {
              prompt: l.data.prompt,
              stop: l.data.stop,
              seed: l.data.seed,
              maxTokens: l.data.maxTokens,
              tokens: l.data.tokens,
            },
          ]),
        );
        this.o.store.setChallengeStatus(c.chainBatchId, c.leafIndex, "answered", receipt.transactionHash);
        this.o.metrics.challenges.inc({ event: "answered" });
        this.o.log("info", `answered challenge ${c.chainBatchId}/${c.leafIndex}`);
        const [opened] = parseEventLogs({
          abi: this.o.chain.c.game.abi,
          logs: receipt.logs,
          eventName: "DisputeOpened",
        });
        if (opened) this.#disputeOpened(c, opened.args.disputeId);
      } catch (e) {
        this.o.metrics.errors.inc({ task: "challenge" });
        this.o.log("warn", `respondToChallenge ${c.chainBatchId}/${c.leafIndex} failed, will retry: ${shortReason(e)}`);
      }
    }
  }

  #disputeOpened(c: ChallengeRow, disputeId: bigint): void {
    this.o.store.setChallengeDispute(c.chainBatchId, c.leafIndex, disputeId);
    this.o.metrics.challenges.inc({ event: "disputed" });
    this.o.log(
      "warn",
      `wrong-output challenge ${c.chainBatchId}/${c.leafIndex} went to committee dispute ${disputeId}`,
    );
  }

  /**
   * Follows every answered challenge to its end on chain: finds the dispute of a wrong-output
   * answer (also after a crash between the answer and the store), draws and finalizes it when
   * due, and records the outcome (bond credited or stake slashed) in the store, logs and metrics.
   */
  async trackDisputes(): Promise<void> {
    const game = this.o.chain.c.game;
    const committee = this.o.chain.c.committee;
    let open = 0;
    for (const c of this.o.store.challenges()) {
      if (c.outcome !== null || c.status === "open") continue;
      const challengeId = await this.challengeIdOf(c.chainBatchId, c.leafIndex);
      if (challengeId === undefined) continue;
      const onChain = await game.read.challengeOf([challengeId]);
      // The challenger's slot may hold a later challenge by now: then this one ended long ago.
      if (onChain.batchId !== c.chainBatchId || onChain.leafIndex !== c.leafIndex) continue;
      if (onChain.status === CHALLENGE.Cleared || onChain.status === CHALLENGE.Upheld) {
        await this.#recordOutcome(c, onChain.status === CHALLENGE.Cleared);
        continue;
      }
      if (onChain.status !== CHALLENGE.Disputed) continue;
      open++;
      let disputeId = c.disputeId;
      if (disputeId === null) {
        const evs = await game.getEvents.DisputeOpened(
          { challengeId, batchId: c.chainBatchId },
          { fromBlock: BigInt(this.o.chain.deployment.deployBlock), toBlock: "latest" },
        );
        const id = evs.at(-1)?.args.disputeId;
        if (id === undefined) continue;
        this.#disputeOpened(c, id);
        disputeId = id;
      }
      const phase = await committee.read.phase([disputeId]);
      try {
        if (phase === PHASE.Drawing) {
          const d = await committee.read.disputeOf([disputeId]);
          const round = await committee.read.roundOf([disputeId, d.round]);
          if ((await this.o.chain.publicClient.getBlockNumber()) > round.targetBlock) {
            await this.o.chain.send("committee.draw", () => committee.write.draw([disputeId]));
            this.o.log("info", `drew the committee of dispute ${disputeId} (round ${d.round})`);
          }
        } else if (phase === PHASE.Appealable) {
          await this.#maybeAppeal(c, disputeId);
        } else if (phase === PHASE.Finalizable) {
          await this.o.chain.send("committee.finalize", () => committee.write.finalize([disputeId]));
          this.o.log("info", `finalized dispute ${disputeId}`);
        }
      } catch (e) {
        // Another party may have drawn or finalized first: the next tick reads the new phase.
        this.o.log("debug", `dispute ${disputeId} step: ${shortReason(e)}`);
      }
    }
    this.o.metrics.disputesOpen.set(open);
  }

  async #recordOutcome(c: ChallengeRow, cleared: boolean): Promise<void> {
    const evs = await this.o.chain.c.game.getEvents.ChallengeClosed(
      { batchId: c.chainBatchId, leafIndex: c.leafIndex },
      { fromBlock: BigInt(this.o.chain.deployment.deployBlock), toBlock: "latest" },
    );
    const ev = evs.at(-1)?.args;
    const me = this.o.chain.address.toLowerCase();
    // After a dispute the committee keeps its share of the bond (ChallengeGame._payBond).
    const share = c.disputeId !== null ? await this.o.chain.c.game.read.committeeShareBps() : 0n;
    const bond = ev?.bond ?? 0n;
    const bondCredit = cleared && ev?.bondTo?.toLowerCase() === me ? bond - (bond * share) / 10_000n : 0n;
    const slashed = cleared ? 0n : (ev?.slashed ?? 0n);
    let verdict = "";
    if (c.disputeId !== null) {
      const d = await this.o.chain.c.committee.read.disputeOf([c.disputeId]);
      verdict = ` (dispute ${c.disputeId}: ${OUTCOME[d.outcome] ?? d.outcome})`;
      this.o.metrics.challenges.inc({ event: cleared ? "dispute_won" : "dispute_lost" });
    }
    this.o.store.setChallengeOutcome(c.chainBatchId, c.leafIndex, cleared ? "cleared" : "upheld", bondCredit, slashed);
    if (cleared) {
      this.o.metrics.bondsWon.inc(Number(bondCredit));
      this.o.log("info", `challenge ${c.chainBatchId}/${c.leafIndex} cleared${verdict}: bond ${bondCredit} credited`);
    } else {
      this.o.metrics.slashed.inc(Number(slashed));
      this.o.log("error", `challenge ${c.chainBatchId}/${c.leafIndex} upheld${verdict}: slashed ${slashed}`);
      // A batch still committed is counted when settlement finds it voided (Batcher.settleDue);
      // one whose chunks were settled around this held leaf loses only the leaf: count it here.
      if (this.o.store.batchByChainId(c.chainBatchId)?.status === "settled") {
        this.o.metrics.unclaimed.inc(1);
        this.o.log("error", `leaf ${c.chainBatchId}/${c.leafIndex} will not be paid (challenge upheld)`);
      }
    }
  }

  /**
   * A round found the node guilty: if another round is allowed, nobody appealed yet and the
   * node's re-execution reproduces the committed output, pay the appeal fee and appeal.
   */
  async #maybeAppeal(c: ChallengeRow, disputeId: bigint): Promise<void> {
    const committee = this.o.chain.c.committee;
    const d = await committee.read.disputeOf([disputeId]);
    if (d.round >= d.maxRound) return;
    if ((await committee.read.roundOutcome([disputeId, d.round])) !== GUILTY) return;
    const key = `${disputeId}:${d.round}`;
    let honest = this.#reproduced.get(key);
    if (honest === undefined) {
      honest = this.o.reproduces ? await this.o.reproduces(c.chainBatchId, c.leafIndex) : false;
      this.#reproduced.set(key, honest);
      this.o.log(
        honest ? "warn" : "error",
        `dispute ${disputeId} round ${d.round} found leaf ${c.chainBatchId}/${c.leafIndex} guilty; re-execution ${honest ? "reproduces the committed output: appealing" : "does not reproduce it: not appealing"}`,
      );
    }
    if (!honest) return;
    const fee = (await committee.read.params()).appealFee << BigInt(d.round);
    const token = this.o.chain.c.token;
    const me = this.o.chain.address;
    const balance = await token.read.balanceOf([me]);
    if (balance < fee) {
      this.o.log("error", `cannot appeal dispute ${disputeId}: the appeal fee is ${fee}, the node holds ${balance}`);
      return;
    }
    if ((await token.read.allowance([me, committee.address])) < fee)
      await this.o.chain.send("approve", () => token.write.approve([committee.address, fee]));
    await this.o.chain.send("committee.appeal", () => committee.write.appeal([disputeId]));
    this.o.metrics.challenges.inc({ event: "appealed" });
    this.o.log("warn", `appealed dispute ${disputeId} (round ${d.round}, fee ${fee})`);
  }
}
