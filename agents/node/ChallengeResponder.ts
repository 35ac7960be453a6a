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
  challenger?: `0x${string}`;
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

  constructor(o: ChallengeResponderOptions) {
    this.o = o;
  }

  /** Records a revealed challenge if it targets one of this node's batches. */
  onRevealed(a: ChallengeRevealedArgs): void {
    if (a.batchId === undefined || a.leafIndex === undefined) return;
    const b = this.o.store.batchByChainId(a.batchId);
    if (!b) return;
    const added = this.o.store.addChallenge({
      chainBatchId: a.batchId,
      leafIndex: a.leafIndex,
      kind: a.kind ?? 0,
      deadline: a.deadline ?? 0n,
    });
    if (added) {
      this.o.metrics.challenges.inc({ event: "seen" });
      this.o.log("warn", `challenge on leaf ${a.batchId}/${a.leafIndex} (kind ${a.kind}) by ${a.challenger}`);
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
      const onChain = await this.o.chain.c.game.read.challengeOf([c.chainBatchId, c.leafIndex]);
      if (onChain.status !== 1) {
        // Not Open any more (answered before a restart, or closed).
        this.o.store.setChallengeStatus(c.chainBatchId, c.leafIndex, onChain.status === 4 ? "failed" : "answered");
        continue;
      }
      try {
        const receipt = await this.o.chain.send("respondToChallenge", () =>
          this.o.chain.c.game.write.respondToChallenge([
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
