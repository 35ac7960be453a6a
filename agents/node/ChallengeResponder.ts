/**
 * Answers challenges against this node's batches: records each ChallengeRevealed event for one of
 * its batches, then posts the leaf, its proof and the input and output data with
 * `respondToChallenge` inside the response window (data challenges clear at once; wrong-output
 * challenges go to a dispute with the data on chain).
 */
import { shortReason, type NodeChain } from "./NodeChain.ts";
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

export type ChallengeResponderOptions = {
  chain: NodeChain;
  store: NodeStore;
  metrics: NodeMetrics;
  batcher: Batcher;
  log: Log;
};

export class ChallengeResponder {
  readonly o: ChallengeResponderOptions;

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
      const challenger =
        a.challengeId === undefined ? "?" : `0x${(a.challengeId >> 96n).toString(16).padStart(40, "0")}`;
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
      } catch (e) {
        this.o.metrics.errors.inc({ task: "challenge" });
        this.o.log("warn", `respondToChallenge ${c.chainBatchId}/${c.leafIndex} failed, will retry: ${shortReason(e)}`);
      }
    }
  }
}
