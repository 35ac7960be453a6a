/**
 * Time from a bad commit to the slash on a local chain, with real agents (docs/detection.md),
 * written to bench/validator-e2e.json. The network of test/validator/validatorNetwork.ts: a
 * `hardhat node` mining a block a second (no time jumps: chain time runs with the wall clock),
 * the demo's windows (DEMO_PARAMS), the tiny model, node agents as child processes, validator
 * agents in process (A samples every leaf; B, C and D sit on committees).
 *
 *  - wrong output: a node with --fault wrong-output:1 answers a request, batches and commits; A
 *    re-executes, challenges, the node answers on chain, a committee is drawn, votes, and the
 *    dispute is finalized (BatchVoided). Runs against the same node, one after the other.
 *  - silent: a node commits a batch and is killed with SIGKILL; A (stopped while the node commits
 *    and dies, restarted right after, so no check fetches the leaf first) challenges the data and
 *    calls slashSilent after the response window. A fresh node per run.
 *
 *  - detection: a node with --fault wrong-output:0.5 committing 4-leaf batches, one validator
 *    sampling with p = 0.3 (A stopped): the measured per-batch catch rate against the closed form
 *    1 - (1 - f·p·d)^n, with the ground truth of every leaf re-generated here.
 *
 * Usage: node bench/validator-e2e.ts [--runs 3] [--detection-batches 30]
 */
import { rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseUnits } from "viem";
import { profileHash } from "../agents/lib/encodings.ts";
import { NodeClient } from "../agents/validator/NodeClient.ts";
import type { Validator } from "../agents/validator/Validator.ts";
import { ask, until, validatorNetwork, type NodeProcess } from "../test/validator/validatorNetwork.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "detection-batches": { type: "string", default: "30" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: node bench/validator-e2e.ts [--runs 3] [--detection-batches 30]\nWrites bench/validator-e2e.json (about 90 s per run, plus the detection run).",
  );
  process.exit(0);
}
const RUNS = Number(values.runs);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

const net = await validatorNetwork();
type Step = { event: string; at: number; fields: Record<string, unknown> };
const steps: Step[] = [];
const onEvent = (event: string, fields: Record<string, unknown>): void => {
  steps.push({ event, at: Date.now(), fields });
};
const first = (since: number, batchId: bigint, event: string, to?: string): number | undefined =>
  steps.find(
    (s) =>
      s.at >= since &&
      s.event === event &&
      String(s.fields.batchId) === String(batchId) &&
      (to === undefined || s.fields.to === to),
  )?.at;

try {
  const bigStake = ["--stake", String(parseUnits("5000", 18))]; // stays above the minimum after each slash
  const cheater = await net.startNode("cheater", 2, ["--fault", "wrong-output:1", ...bigStake]);
  let a: Validator = await net.startValidator("A", 4, { sampleP: "1", sampleFloor: "1" }, onEvent);
  const juror = { sampleP: "0", sampleFloor: "0", newNodeBoost: "0" };
  const jurors = await Promise.all([
    net.startValidator("B", 5, juror),
    net.startValidator("C", 6, juror),
    net.startValidator("D", 7, juror),
  ]);

  /** Waits for the node's next batch, observed every 100 ms; returns it with the wall time seen. */
  const nextBatch = async (node: NodeProcess, known: number) => {
    for (;;) {
      const bs = await net.batchesOf(node.address);
      if (bs.length > known) return { batch: bs[known]!, seenAt: Date.now() };
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const blockTime = async (block: bigint): Promise<bigint> =>
    (await net.publicClient.getBlock({ blockNumber: block })).timestamp;
  const voidBlock = async (batchId: bigint): Promise<bigint> => {
    const evs = await net.c.settlement.getEvents.BatchVoided({ batchId }, { fromBlock: 0n });
    return evs[0]!.blockNumber;
  };

  const drawnBlockTime = async (disputeId: bigint): Promise<bigint> => {
    const evs = await net.c.committee.getEvents.CommitteeDrawn({ disputeId }, { fromBlock: 0n });
    return blockTime(evs[0]!.blockNumber);
  };

  // ---- wrong output
  const wrong = [];
  const market = await net.requester(9, cheater);
  for (let run = 0; run < RUNS; run++) {
    const known = (await net.batchesOf(cheater.address)).length;
    await ask(market, net.model, `Run ${run}: once upon a time`);
    const { batch, seenAt } = await nextBatch(cheater, known);
    await until("batch voided", async () => (await net.batchesOf(cheater.address))[known]?.voided, 300_000);
    const slashedSeenAt = Date.now();
    const committedAt = await blockTime(batch.block);
    const voidedAt = await blockTime(await voidBlock(batch.batchId));
    const rel = (t: number | undefined): number | null => (t === undefined ? null : r1((t - seenAt) / 1000));
    const dispute = a.store.challenges().find((c) => c.batchId === batch.batchId)?.disputeId ?? null;
    wrong.push({
      batchId: Number(batch.batchId),
      commitToSlashChainSeconds: Number(voidedAt - committedAt),
      commitToSlashWallSeconds: r1((slashedSeenAt - seenAt) / 1000),
      wallSecondsAfterCommitSeen: {
        leafChecked: rel(first(seenAt - 5_000, batch.batchId, "checked")),
        challengeCommitted: rel(first(seenAt - 5_000, batch.batchId, "challenge-state", "committed")),
        challengeRevealed: rel(first(seenAt - 5_000, batch.batchId, "challenge-state", "revealed")),
        disputeOpened: rel(first(seenAt - 5_000, batch.batchId, "challenge-state", "disputed")),
        slashSeen: rel(slashedSeenAt),
      },
      chainSecondsAfterCommit: {
        committeeDrawn: dispute === null ? null : Number((await drawnBlockTime(dispute)) - committedAt),
        slashed: Number(voidedAt - committedAt),
      },
    });
    console.error(`wrong output run ${run + 1}: ${JSON.stringify(wrong.at(-1))}`);
  }

  // ---- silent
  const silent = [];
  for (let run = 0; run < RUNS; run++) {
    const node = await net.startNode(`silent-${run}`, 10 + run);
    const m = await net.requester(9, node);
    await net.stopValidator(a);
    await ask(m, net.model, `Run ${run}: a validator checks`);
    const { batch, seenAt } = await nextBatch(node, 0);
    await net.kill9(node.child);
    const killedAt = Date.now();
    a = await net.startValidator("A", 4, { sampleP: "1", sampleFloor: "1" }, onEvent);
    const validatorBackAt = Date.now();
    await until("batch voided", async () => (await net.batchesOf(node.address))[0]?.voided, 300_000);
    const slashedSeenAt = Date.now();
    const committedAt = await blockTime(batch.block);
    const voidedAt = await blockTime(await voidBlock(batch.batchId));
    const rel = (t: number | undefined): number | null => (t === undefined ? null : r1((t - seenAt) / 1000));
    silent.push({
      batchId: Number(batch.batchId),
      commitToSlashChainSeconds: Number(voidedAt - committedAt),
      commitToSlashWallSeconds: r1((slashedSeenAt - seenAt) / 1000),
      wallSecondsAfterCommitSeen: {
        nodeKilled: rel(killedAt),
        validatorRestarted: rel(validatorBackAt),
        leafCheckedUnavailable: rel(first(seenAt, batch.batchId, "checked")),
        challengeRevealed: rel(first(seenAt, batch.batchId, "challenge-state", "revealed")),
        slashSilentSent: rel(first(seenAt, batch.batchId, "slash-silent")),
        slashSeen: rel(slashedSeenAt),
      },
    });
    console.error(`silent run ${run + 1}: ${JSON.stringify(silent.at(-1))}`);
  }

  // ---- detection with real agents: a node cheating on a share F of its leaves, one validator sampling with P
  const DET = { f: 0.5, p: 0.3, n: 4, batches: Number(values["detection-batches"]) };
  // S alone samples (a leaf another validator challenged first is skipped). The jurors stop too:
  // fewer transactions keep the chain clock close to the wall clock (a block per transaction, each
  // at least 1 s after the last), so tickets and challenge windows are not overtaken by it.
  await net.stopValidator(a);
  for (const j of jurors) await net.stopValidator(j);
  const detNode = await net.startNode("cheater-f", 13, [
    "--fault",
    `wrong-output:${DET.f}`,
    "--batch-max-leaves",
    String(DET.n),
    "--batch-max-age",
    "600",
    ...bigStake,
  ]);
  const sampler = await net.startValidator("S", 8, {
    sampleP: String(DET.p),
    sampleFloor: String(DET.p),
    newNodeBoost: "0",
  });
  const dm = await net.requester(9, detNode);
  const detStarted = Date.now();
  for (let b = 0; b < DET.batches; b++) {
    const t0 = Date.now();
    for (let l = 0; l < DET.n; l++) await ask(dm, net.model, `Detection batch ${b} leaf ${l}: the market`);
    await until(`detection batch ${b + 1}`, async () => (await net.batchesOf(detNode.address)).length > b);
    await new Promise((r) => setTimeout(r, Math.max(0, 4_000 - (Date.now() - t0)))); // a batch every ~4 s
  }
  const detBatches = await net.batchesOf(detNode.address);
  await until("S checked every sampled leaf", async () => {
    const ids = new Set(detBatches.map((x) => x.batchId));
    const mine = sampler.store.samples().filter((x) => ids.has(x.batchId));
    return (
      mine.every((x) => x.state === "done") && sampler.store.history(detNode.address).leavesSeen >= DET.n * DET.batches
    );
  });
  // Ground truth per leaf: the node's own served data, re-generated here (exact) under its profile.
  const client = new NodeClient(detNode.url, 10_000);
  const profiles = await client.profiles();
  let cheated = 0;
  let sampled = 0;
  let cheatedSampled = 0;
  let detected = 0;
  let falseAlarms = 0;
  let batchesCaught = 0;
  for (const b of detBatches) {
    let caught = false;
    for (let i = 0; i < DET.n; i++) {
      const got = await client.leaf(b.batchId, i);
      const profile = profiles.find((x) => profileHash(x).toLowerCase() === got.leaf.profile.toLowerCase())!;
      const regen = await net.runtime.generate(profile, {
        prompt: got.data.prompt,
        stop: got.data.stop,
        seed: got.data.seed,
        maxTokens: got.data.maxTokens,
      });
      const bad = regen.tokens.join() !== got.data.tokens.join();
      if (bad) cheated++;
      const sample = sampler.store.samples().find((x) => x.batchId === b.batchId && x.leafIndex === i);
      if (!sample) continue;
      sampled++;
      const flagged = sample.outcome === "wrong-output";
      if (flagged) caught = true;
      if (bad) {
        cheatedSampled++;
        if (flagged) detected++;
      } else if (flagged) falseAlarms++;
    }
    if (caught) batchesCaught++;
  }
  const leaves = DET.n * detBatches.length;
  const fReal = cheated / leaves;
  const pReal = sampled / leaves;
  const dReal = cheatedSampled === 0 ? 0 : detected / cheatedSampled;
  const closedPerBatch = (f: number, p: number, d: number): number => 1 - (1 - f * p * d) ** DET.n;
  const detection = {
    node: `--fault wrong-output:${DET.f}, batches of ${DET.n} leaves (16-token direct requests through the SDK)`,
    validator: `one validator, --sample-p ${DET.p} --sample-floor ${DET.p} --new-node-boost 0`,
    batches: detBatches.length,
    leaves,
    cheatedLeaves: cheated,
    fRealized: +fReal.toFixed(4),
    sampledLeaves: sampled,
    pRealized: +pReal.toFixed(4),
    cheatedSampled,
    detected,
    dRealized: +dReal.toFixed(4),
    falseAlarms,
    perBatchCatchRateMeasured: +(batchesCaught / detBatches.length).toFixed(4),
    perBatchCatchRateClosedFormNominal: +closedPerBatch(DET.f, DET.p, 1).toFixed(4),
    perBatchCatchRateClosedFormRealized: +closedPerBatch(fReal, pReal, dReal).toFixed(4),
    seconds: Math.round((Date.now() - detStarted) / 1000),
  };
  console.error(`detection: ${JSON.stringify(detection)}`);

  const p = net.params;
  const windows = {
    challengeWindowSeconds: Number(p.challengeWindowSeconds),
    revealPeriodSeconds: Number(p.revealPeriodSeconds),
    responseWindowSeconds: Number(p.responseWindowSeconds),
    drawDelayBlocks: Number(p.drawDelayBlocks),
    voteCommitSeconds: Number(p.voteCommitSeconds),
    voteRevealSeconds: Number(p.voteRevealSeconds),
    appealSeconds: Number(p.appealSeconds),
    blockIntervalSeconds: 1,
  };
  const wrongMedian = median(wrong.map((w) => w.commitToSlashChainSeconds));
  const silentMedian = median(silent.map((w) => w.commitToSlashChainSeconds));
  const wrongWall = median(wrong.map((w) => w.commitToSlashWallSeconds));
  const silentWall = median(silent.map((w) => w.commitToSlashWallSeconds));
  const revealed = median(wrong.map((w) => w.wallSecondsAfterCommitSeen.challengeRevealed ?? NaN));
  const conditions = `hardhat node, a block per second and per transaction (no time jumps; each block at least 1 s after the last, so chain time runs ahead of wall time), DEMO_PARAMS windows (response ${windows.responseWindowSeconds} s, vote commit/reveal/appeal ${windows.voteCommitSeconds}/${windows.voteRevealSeconds}/${windows.appealSeconds} s, committee of 3), tiny q8_0, real node and validator agents, 2 shared cores; median of ${RUNS}`;
  const out = {
    generatedBy: "node bench/validator-e2e.ts",
    date: new Date().toISOString(),
    windows,
    wrongOutput: {
      runs: wrong,
      medianCommitToSlashChainSeconds: wrongMedian,
      medianCommitToSlashWallSeconds: wrongWall,
    },
    detection,
    silent: { runs: silent, medianCommitToSlashChainSeconds: silentMedian, medianCommitToSlashWallSeconds: silentWall },
    results: [
      {
        name: "validator_bad_commit_to_slash_s_wrong_output",
        value: wrongMedian,
        unit: "s",
        lowerIsBetter: true,
        conditions: `chain time from the cheating node's commitBatch to BatchVoided (committee verdict); ${conditions}`,
      },
      {
        name: "validator_bad_commit_to_slash_s_silent",
        value: silentMedian,
        unit: "s",
        lowerIsBetter: true,
        conditions: `chain time from commitBatch of a node killed right after it to slashSilent; the validator was restarted after the kill; ${conditions}`,
      },
      {
        name: "validator_bad_commit_to_slash_wall_s_wrong_output",
        value: wrongWall,
        unit: "s",
        lowerIsBetter: true,
        conditions: `wall time from the cheating node's commit seen (100 ms polling) to the batch seen voided (the chain clock runs ahead of the wall clock: a block per transaction, each at least 1 s later); ${conditions}`,
      },
      {
        name: "validator_bad_commit_to_slash_wall_s_silent",
        value: silentWall,
        unit: "s",
        lowerIsBetter: true,
        conditions: `wall time from the commit seen to the batch seen voided by slashSilent; ${conditions}`,
      },
      {
        name: "validator_real_catch_rate_per_batch",
        value: detection.perBatchCatchRateMeasured,
        unit: "share",
        lowerIsBetter: false,
        conditions: `real node agent cheating on f=${DET.f} of its leaves, one real validator agent sampling p=${DET.p}, ${DET.n}-leaf batches, ${detection.batches} batches; closed form 1-(1-f·p·d)^n = ${detection.perBatchCatchRateClosedFormNominal} (nominal), ${detection.perBatchCatchRateClosedFormRealized} (realized f, p, d); docs/detection.md`,
      },
      {
        name: "validator_commit_to_challenge_revealed_s",
        value: revealed,
        unit: "s",
        lowerIsBetter: true,
        conditions: `wall time from the commit seen (100 ms polling) to the validator's challenge revealed (fetch, exact re-generation, commit, reveal); ${conditions}`,
      },
    ],
  };
  writeFileSync(new URL("./validator-e2e.json", import.meta.url).pathname, JSON.stringify(out, null, 2) + "\n");
  console.log(JSON.stringify(out.results, null, 2));
} finally {
  await net.stopAll();
  rmSync(net.dir, { recursive: true, force: true });
}
process.exit(0);
