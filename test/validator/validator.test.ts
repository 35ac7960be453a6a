/**
 * The validator agent against real node agents (test/validator/validatorNetwork.ts): a `hardhat
 * node` chain mining a block a second, the protocol with the demo's short windows, real llama.cpp
 * on the tiny generated model, node agents as child processes, validators in process and one as a
 * child process. Shared by every case, in order:
 *  a. a node with --fault wrong-output:1 is caught by validator A and slashed by a committee of
 *     B, C and J; (d) J, a child process, is killed with SIGKILL after committing its vote and
 *     before revealing it, restarts from its store and still reveals its vote in time;
 *  b. an honest node challenged by a dishonest validator (L, --fault false-challenge:1) keeps its
 *     stake and L loses its bond;
 *  c. a node killed with SIGKILL after committing a batch cannot answer the data challenge and is
 *     slashed after the response window (slashSilent); (d) its challenger K, a child process, is
 *     killed with SIGKILL between its challenge commit and reveal and reveals after a restart;
 *  e. a node-signed receipt contradicting a committed leaf, posted to a validator, gets the node
 *     slashed for equivocation (the agreeing receipt is refused).
 */
import { copyFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signReceipt } from "../../agents/lib/tickets.ts";
import { Validator } from "../../agents/validator/Validator.ts";
import { loadValidatorConfig } from "../../agents/validator/ValidatorConfig.ts";
import {
  ask,
  devKey,
  metric,
  until,
  validatorNetwork,
  type NodeProcess,
  type ValidatorNetwork,
  type ValidatorProcess,
} from "./validatorNetwork.ts";

const VOTE_GUILTY = 1;
const VOTE_NOT_GUILTY = 2;
// Accounts: 1 honest node, 2 cheating node, 3 node that goes silent, 4-6 validators A B C,
// 7 validator J (child process), 8 dishonest validator L, 9 requester, 10 an account with no stake,
// 11 validator K (child process).
let net: ValidatorNetwork;
let honest: NodeProcess;
let cheater: NodeProcess;
let silent: NodeProcess;
let a: Validator;
let b: Validator;
let c: Validator;
let j: ValidatorProcess;
const juror = { sampleP: "0", sampleFloor: "0", newNodeBoost: "0" };

beforeAll(async () => {
  net = await validatorNetwork();
  [honest, cheater, silent] = await Promise.all([
    net.startNode("honest", 1),
    net.startNode("cheater", 2, ["--fault", "wrong-output:1"]),
    net.startNode("silent", 3),
  ]);
  // A samples every leaf; B, C and J sample nothing and only sit on committees.
  [a, b, c, j] = await Promise.all([
    net.startValidator("A", 4, { sampleP: "1", sampleFloor: "1" }),
    net.startValidator("B", 5, juror),
    net.startValidator("C", 6, juror),
    net.spawnValidator("J", 7, juror),
  ]);
}, 600_000);

afterAll(async () => {
  // Keep the agents' logs of the last run for debugging.
  try {
    for (const f of readdirSync(net.logDir))
      copyFileSync(join(net.logDir, f), join(tmpdir(), `llmarket-validator-test-${f}`));
  } catch {
    // no logs
  }
  await net?.stopAll();
  if (net) rmSync(net.dir, { recursive: true, force: true });
}, 60_000);

describe("validator agent with real node agents", () => {
  it("starts only with stake, rejects a malformed fault switch, serves health and metrics", async () => {
    const cfg = loadValidatorConfig(
      { rpcUrl: net.chain.url, deployments: net.deploymentsFile, models: [net.modelPath], dataDir: join(net.dir, "x") },
      { LLMARKET_VALIDATOR_KEY: devKey(10) },
    );
    await expect(Validator.create(cfg, { runtime: net.runtime, log: () => {} })).rejects.toThrow(/active stake is 0/);
    expect(() => loadValidatorConfig({ fault: "lie-always" }, { LLMARKET_VALIDATOR_KEY: devKey(10) })).toThrow(
      /false-challenge/,
    );
    expect(await net.c.staking.read.isValidatorFor([j.address, net.model])).toBe(true);
    const health = await fetch(`${j.url}/health`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text()).toContain(
      "llmarket_validator_checks_total",
    );
  });

  it("catches a node with the fault switch on; the committee slashes it; a juror killed between its vote commit and reveal restarts and still votes", async () => {
    const market = await net.requester(9, cheater);
    const stakeBefore = await net.stakeOf(cheater.address);
    await ask(market, net.model, "Once upon a time");
    const challenge = await until("A challenges the cheater's leaf (wrong output)", async () =>
      a.store.challenges().find((ch) => ch.node.toLowerCase() === cheater.address.toLowerCase()),
    );
    expect(challenge.kind).toBe(1); // wrong output
    expect(a.store.samples().find((s) => s.batchId === challenge.batchId)?.mode).toBe("exact");
    // The node answers with its data on chain; the dispute opens and a committee is drawn.
    const disputeId = await until("dispute opened", async () => a.store.challenge(challenge.commitment)?.disputeId);
    const members = await until("committee drawn", async () => {
      const m = await net.membersOf(disputeId, 0);
      return m.length > 0 ? m : undefined;
    });
    // A is the challenger (excluded); B, C and J are the only other validators of the model.
    expect(members.map((m) => m.toLowerCase()).sort()).toEqual(
      [b.me, c.me, j.address].map((m) => m.toLowerCase()).sort(),
    );
    await until(
      "J committed its vote",
      async () => (await net.seatOf(disputeId, 0, j.address)).commitment !== `0x${"0".repeat(64)}`,
    );
    await net.kill9(j.child);
    expect((await net.seatOf(disputeId, 0, j.address)).vote).toBe(0); // not revealed yet
    j = await net.spawnValidator("J", 7, juror); // same data dir: its store holds the vote and salt
    await until(
      "J revealed its vote after the restart",
      async () => (await net.seatOf(disputeId, 0, j.address)).vote !== 0,
      120_000,
    );
    expect((await net.seatOf(disputeId, 0, j.address)).vote).toBe(VOTE_GUILTY);
    for (const m of [b.me, c.me])
      expect(await until(`${m} revealed`, async () => (await net.seatOf(disputeId, 0, m)).vote || undefined)).toBe(
        VOTE_GUILTY,
      );
    await until("the cheater's batch voided", async () =>
      (await net.batchesOf(cheater.address)).find((x) => x.batchId === challenge.batchId && x.voided),
    );
    expect(await net.stakeOf(cheater.address)).toBeLessThan(stakeBefore);
    await until("A's store says won", async () => a.store.challenge(challenge.commitment)?.state === "won");
    await until("B claimed its juror reward", async () => b.store.vote(disputeId, 0)?.state === "done");
    expect(b.store.vote(disputeId, 0)?.guilty).toBe(true);
  }, 420_000);

  it("keeps an honest node's stake against a dishonest challenger, who loses its bond", async () => {
    const liar = await net.startValidator("L", 8, { sampleP: "1", sampleFloor: "1", fault: "false-challenge:1" });
    try {
      const market = await net.requester(9, honest);
      const stakeBefore = await net.stakeOf(honest.address);
      const liarBefore = await net.wealthOf(liar.me);
      await ask(market, net.model, "The market opens at");
      const challenge = await until("L challenges the honest leaf", async () =>
        liar.store.challenges().find((ch) => ch.node.toLowerCase() === honest.address.toLowerCase()),
      );
      // The leaf is honest: L's own check passed it. A either checked and passed it too, or found
      // it already held by L's reveal (it skips leaves another validator challenged first).
      expect(liar.store.samples().find((s) => s.batchId === challenge.batchId)?.outcome).toBe("pass");
      await until("A checked the honest leaf", async () =>
        a.store.samples().find((s) => s.batchId === challenge.batchId && s.state === "done"),
      );
      expect(["pass", "already-challenged"]).toContain(
        a.store.samples().find((s) => s.batchId === challenge.batchId)?.outcome,
      );
      expect(a.store.challenges().some((ch) => ch.batchId === challenge.batchId)).toBe(false);
      const disputeId = await until(
        "dispute opened",
        async () => liar.store.challenge(challenge.commitment)?.disputeId,
      );
      await until(
        "L's challenge lost",
        async () => liar.store.challenge(challenge.commitment)?.state === "lost",
        180_000,
      );
      const members = await net.membersOf(disputeId, 0);
      expect(members.length).toBe(3);
      for (const m of members) expect((await net.seatOf(disputeId, 0, m)).vote).toBe(VOTE_NOT_GUILTY);
      expect((await net.batchesOf(honest.address)).find((x) => x.batchId === challenge.batchId)?.voided).toBe(false);
      expect(await net.stakeOf(honest.address)).toBe(stakeBefore);
      // L paid the bond and gets nothing back (it withdraws its credits every second).
      await until("L's credits withdrawn", async () => (await net.c.game.read.creditOf([liar.me])) === 0n);
      expect(liarBefore - (await net.wealthOf(liar.me))).toBe(net.params.challengeBond);
    } finally {
      await net.stopValidator(liar);
    }
  }, 420_000);

  it("slashes a node killed with SIGKILL after committing a batch; its challenger, killed between its challenge commit and reveal, reveals after a restart", async () => {
    // Only K samples here: A stops (gracefully) so no check fetches the leaf before the node dies.
    await net.stopValidator(a);
    const sampler = { sampleP: "1", sampleFloor: "1", revealDelaySeconds: "6" };
    let k = await net.spawnValidator("K", 11, juror); // staked and declared before the clock matters
    await net.stopChild(k.child);
    const market = await net.requester(9, silent);
    const stakeBefore = await net.stakeOf(silent.address);
    await ask(market, net.model, "A validator checks");
    const batch = await until("the node committed its batch", async () => (await net.batchesOf(silent.address))[0]);
    await net.kill9(silent.child);
    k = await net.spawnValidator("K", 11, sampler);
    const sample = (state: string) => `llmarket_validator_challenges_total{kind="0",state="${state}"}`; // kind 0: data
    await until("K committed a data challenge", async () => (await metric(k.url, sample("committed"))) >= 1, 60_000);
    expect(await metric(k.url, `llmarket_validator_checks_total{outcome="unavailable",mode="none"}`)).toBe(1);
    await net.kill9(k.child); // within --reveal-delay-seconds: committed, not revealed
    k = await net.spawnValidator("K", 11, sampler); // same data dir: the store holds the salt
    await until("K revealed after the restart", async () => (await metric(k.url, sample("revealed"))) >= 1, 60_000);
    await until("slashSilent after the response window", async () =>
      (await net.batchesOf(silent.address)).find((x) => x.batchId === batch.batchId && x.voided),
    );
    expect(await net.stakeOf(silent.address)).toBeLessThan(stakeBefore);
    await until("K's challenge won", async () => (await metric(k.url, sample("won"))) >= 1);
  }, 300_000);
  it("proves equivocation from a node-signed receipt that contradicts the committed leaf", async () => {
    // A real node agent never signs a receipt it does not commit; the contradicting receipt is
    // signed here with the honest node's development key to stand in for a node that did.
    const market = await net.requester(9, honest);
    const r = await ask(market, net.model, "The node answered");
    const post = (body: unknown) =>
      fetch(`http://127.0.0.1:${b.port}/v1/receipts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const stakeBefore = await net.stakeOf(honest.address);
    const genuine = { receipt: r.llmarket.receipt, signature: r.llmarket.receiptSignature, node: honest.address };
    // The node's own receipt agrees with its leaf: refused (once the batch is committed and seen).
    const refused = await until("the genuine receipt checked against the committed leaf", async () => {
      const res = await post(genuine);
      const text = await res.text();
      return res.status === 422 && /agrees with leaf/.test(text) ? text : undefined;
    });
    expect(refused).toContain("no equivocation");
    const forged = { ...r.llmarket.receipt, output: keccak256(toHex("another output")) };
    const signature = await signReceipt(privateKeyToAccount(devKey(1)), forged, {
      chainId: net.d.deployment.chainId,
      verifyingContract: net.d.addresses.ChallengeGame,
    });
    const res = await post({ receipt: forged, signature, node: honest.address });
    expect(res.status).toBe(200);
    const proven = (await res.json()) as { batchId: string; leafIndex: number };
    const voided = await until("the batch voided for equivocation", async () =>
      (await net.batchesOf(honest.address)).find((x) => x.batchId === BigInt(proven.batchId) && x.voided),
    );
    expect(voided.voided).toBe(true);
    expect(await net.stakeOf(honest.address)).toBeLessThan(stakeBefore);
  }, 180_000);
});
