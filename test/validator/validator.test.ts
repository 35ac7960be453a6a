/**
 * The validator agent end to end on a real `hardhat node` chain with real llama.cpp (tiny
 * generated model): a cheating node is caught and slashed through a committee the second
 * validator agent sits on; an honest node keeps its stake against a dishonest challenger; a
 * silent node is slashed; a validator killed with SIGKILL mid-dispute recovers from its store.
 *
 * The node side is driven directly with the contracts, and its leaf routes are served by
 * test/validator/fakeNode.ts (the node agent was not available when this was written).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { parseEventLogs, parseUnits, keccak256, toHex, type Address, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBatch, type BatchHeader, type BuiltBatch, type PendingLeaf } from "../../agents/lib/batch.ts";
import { writeDeployment } from "../../agents/lib/deployments.ts";
import {
  CHALLENGE_WRONG_OUTPUT,
  LEAF_TICKET,
  ZERO32,
  challengeCommitment,
  inputHash,
  outputHash,
  type Profile,
} from "../../agents/lib/encodings.ts";
import { makeModel } from "../../agents/runtime/modelMaker.ts";
import { Runtime } from "../../agents/runtime/Runtime.ts";
import { loadValidatorConfig } from "../../agents/validator/ValidatorConfig.ts";
import { Validator, jsonLogger } from "../../agents/validator/Validator.ts";
import type { LeafData } from "../../agents/validator/NodeClient.ts";
import { startLocalChain, stopProcess, type LocalChain } from "../../scripts/lib/localChain.ts";
import { protocolFixture, Q8_0, type ProtocolFixture } from "../utils/protocolFixture.ts";
import { FakeNode } from "./fakeNode.ts";

// Hardhat's well-known development keys (accounts #3..#6); #0 admin, #1 node, #2 requester.
const KEY_A: Hex = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const KEY_B: Hex = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const KEY_A2: Hex = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
const CLI = new URL("../../agents/cli/llmarket.ts", import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), "llmarket-validator-"));
let chain: LocalChain;
let f: ProtocolFixture;
let rt: Runtime;
let profile: Profile;
let modelId: Hex;
let modelPath: string;
let fake: FakeNode;
let deploymentsPath: string;
const getCommittee = (address: Address) => f.viem.getContractAt("Committee", address);
let committee: Awaited<ReturnType<typeof getCommittee>>;
let a: Validator;
let b: Validator;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function config(key: Hex, name: string, extra: Record<string, unknown> = {}) {
  return loadValidatorConfig(
    {
      rpcUrl: chain.url,
      deployments: deploymentsPath,
      models: [modelPath],
      dataDir: join(dir, name),
      listen: "127.0.0.1:0",
      declare: true,
      stake: "2000",
      pollMs: "200",
      fetchRetries: "1",
      fetchTimeoutMs: "2000",
      withdrawEverySeconds: "1",
      ...extra,
    },
    { LLMARKET_VALIDATOR_KEY: key },
  );
}

const prompts = ["The market opens at", "A validator checks", "Once upon a time", "Tokens are", "The node answered"];
let promptN = 0;

/** A leaf for the node: honest tokens from the tiny model, or tampered ones. */
async function makeLeaf(cheat: boolean): Promise<{ leaf: PendingLeaf; data: LeafData }> {
  const prompt = `${prompts[promptN % prompts.length]} ${promptN++}`;
  const data0 = { prompt, maxTokens: 32, stop: [] as string[], seed: 0n };
  const honest = (await rt.generate(profile, data0)).tokens;
  const tokens = cheat ? honest.map((t, i) => (i % 4 === 1 ? 3 + ((t - 3 + 97) % 256) : t)) : honest;
  const data: LeafData = { ...data0, tokens };
  const leaf: PendingLeaf = {
    kind: LEAF_TICKET,
    ref: keccak256(toHex(`ticket ${prompt}`)),
    requester: f.requesters[0]!.account.address,
    model: modelId,
    adapter: ZERO32,
    input: inputHash(data0),
    output: outputHash(profileHashOf(), tokens),
    tokens: tokens.length,
    amount: BigInt(tokens.length) * parseUnits("0.001", 18),
    expiry: (await f.now()) + 3_000n,
    profile: profileHashOf(),
  };
  return { leaf, data };
}
let pHash: Hex;
const profileHashOf = (): Hex => pHash;

/** Commits leaves as the node and serves them from the fake node (in batch order). */
async function commit(made: Array<{ leaf: PendingLeaf; data: LeafData }>, silent = false) {
  const batch: BuiltBatch = buildBatch(made.map((m) => m.leaf));
  const data = batch.leaves.map((l) => made.find((m) => m.leaf.input === l.input && m.leaf.output === l.output)!.data);
  const r = await f.wait(
    await f.c.settlement.write.commitBatch([batch.root, batch.leaves.length, batch.payout], {
      account: f.node.account,
    }),
  );
  const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: r.logs, eventName: "BatchCommitted" });
  const header: BatchHeader = {
    node: f.node.account.address,
    leafCount: batch.leaves.length,
    committedAt: ev!.args.committedAt,
    payout: batch.payout,
    lock: ev!.args.lock,
    root: batch.root,
  };
  fake.batches.set(ev!.args.batchId.toString(), { header, batch, data, silent });
  return { batchId: ev!.args.batchId, header, batch, data };
}

/** What the node agent's ChallengeResponder does: post the leaf's data. */
async function respond(batchId: bigint, header: BatchHeader, batch: BuiltBatch, data: LeafData[], i: number) {
  const d = data[i]!;
  await f.wait(
    await f.c.game.write.respondToChallenge(
      [
        batchId,
        header,
        batch.leaves[i]!,
        batch.tree.proof(i),
        { prompt: d.prompt, stop: d.stop, seed: d.seed, maxTokens: d.maxTokens, tokens: d.tokens },
      ],
      { account: f.node.account },
    ),
  );
}

async function advance(seconds: number) {
  await f.testClient.increaseTime({ seconds });
  await f.testClient.mine({ blocks: 1 });
}

const status = async (batchId: bigint, i: number) => (await f.c.game.read.challengeOf([batchId, i])).status;
const nodeStake = async () =>
  (await f.c.staking.read.stakeOf([f.node.account.address]))[0] +
  (await f.c.staking.read.stakeOf([f.node.account.address]))[1];

/** Waits through a wrong-output dispute: the node answers, blocks pass for the draw, the votes run. */
async function runDispute(
  batchId: bigint,
  header: BatchHeader,
  batch: BuiltBatch,
  data: LeafData[],
  i: number,
): Promise<bigint> {
  await respond(batchId, header, batch, data, i);
  const disputeId = (await committee.read.disputeCount()) as bigint;
  await f.testClient.mine({ blocks: 2 });
  // Drawn by a party's validator agent; when the challenger is not one, the node (a party) draws.
  const drawn = async () => ((await committee.read.phase([disputeId])) as number) >= 2;
  await sleep(3_000);
  if (!(await drawn())) await f.wait(await committee.write.draw([disputeId], { account: f.node.account }));
  await until("committee drawn", async () => (await drawn()) || undefined);
  await until("votes committed", async () => {
    const d = (await committee.read.disputeOf([disputeId])) as { round: number };
    const rd = (await committee.read.roundOf([disputeId, d.round])) as { committed: number; size: number };
    return rd.committed === rd.size || undefined;
  });
  await advance(31); // commit window over: reveal phase
  await until("votes revealed", async () => {
    const d = (await committee.read.disputeOf([disputeId])) as { round: number };
    const rd = (await committee.read.roundOf([disputeId, d.round])) as {
      guiltyVotes: number;
      notGuiltyVotes: number;
      size: number;
    };
    return rd.guiltyVotes + rd.notGuiltyVotes === rd.size || undefined;
  });
  await advance(31); // reveal window over: finalizable (no appeals)
  await until("dispute resolved", async () => (await status(batchId, i)) >= 3 || undefined);
  return disputeId;
}

beforeAll(async () => {
  chain = await startLocalChain();
  const conn = await network.create({ network: "localhost", override: { url: chain.url } });
  f = await protocolFixture({
    connection: conn,
    validators: 0,
    requesters: 1,
    params: {
      challengeWindowSeconds: 600n,
      revealPeriodSeconds: 300n,
      responseWindowSeconds: 120n,
      reclaimDelaySeconds: 1_200n,
    },
  });
  const admin = f.admin.account.address;
  const deployedCommittee = await f.viem.deployContract("Committee", [
    admin,
    f.deployed.addresses.TestToken,
    f.deployed.addresses.ChallengeGame,
    f.deployed.addresses.Staking,
    admin,
    {
      committeeSize: 1n,
      minCommitteeSize: 1n,
      maxAppeals: 0n,
      drawDelayBlocks: 1n,
      maxRedraws: 2n,
      commitSeconds: 30n,
      revealSeconds: 30n,
      appealSeconds: 5n,
      voteBond: parseUnits("10", 18),
      nonVoterPenaltyBps: 1_000n,
      penaltyToPotBps: 5_000n,
      appealFee: parseUnits("1", 18),
    },
  ]);
  committee = await getCommittee(deployedCommittee.address);
  await f.wait(await f.c.game.write.setResolver([committee.address]));
  await f.wait(await f.c.game.write.grantRole([await f.c.game.read.RESOLVER_ROLE(), committee.address]));
  await f.wait(await f.c.staking.write.grantRole([await f.c.staking.read.LOCKER_ROLE(), committee.address]));
  await f.wait(await f.c.staking.write.grantRole([await f.c.staking.read.SLASHER_ROLE(), committee.address]));
  const d = {
    ...f.deployed.deployment,
    contracts: { ...f.deployed.deployment.contracts, Committee: { address: committee.address as Address, block: 0 } },
  };
  deploymentsPath = writeDeployment(d, join(dir, "deployments"));

  const made = await makeModel({ preset: "tiny", quant: "q8_0", seed: 1n, out: join(dir, "tiny.gguf") });
  modelPath = made.path;
  rt = await Runtime.create();
  modelId = (await rt.store.register(modelPath, { trusted: true })).id;
  profile = rt.profile({ model: modelId, threads: 1, contextSize: 256 });
  const { profileHash } = await import("../../agents/lib/encodings.ts");
  pHash = profileHash(profile);
  await f.wait(
    await f.c.models.write.registerModel([
      modelId,
      "file://tiny.gguf",
      {
        family: "llama",
        parameterCount: 870_000n,
        quantization: Q8_0,
        contextLength: 1024,
        minMemoryMb: 16,
        defaultProfileHash: pHash,
      },
      0n,
    ]),
  );
  fake = new FakeNode([profile]);
  await f.wait(await f.c.nodes.write.updateEndpoint([await fake.start()], { account: f.node.account }));

  const logFile = join(dir, "agents.log");
  const quiet = (name: string) => jsonLogger((l) => appendFileSync(logFile, `${name} ${l}\n`));
  a = await Validator.create(config(KEY_A, "a", { sampleP: "1", sampleFloor: "1" }), { runtime: rt, log: quiet("A") });
  b = await Validator.create(config(KEY_B, "b", { sampleP: "0", sampleFloor: "0", newNodeBoost: "0" }), {
    runtime: rt,
    log: quiet("B"),
  });
  await a.start();
  await b.start();
}, 240_000);

afterAll(async () => {
  try {
    copyFileSync(join(dir, "agents.log"), join(tmpdir(), "llmarket-validator-test-agents.log"));
  } catch {
    // no log
  }
  await a?.stop().catch(() => {});
  await b?.stop().catch(() => {});
  await fake?.stop();
  await rt?.close();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("validator agent", () => {
  it("starts only with stake and declared models, and says what is missing", async () => {
    const { Validator: V } = await import("../../agents/validator/Validator.ts");
    await expect(
      V.create(config(KEY_A2, "nostake", { declare: false }), { runtime: rt, log: () => {} }),
    ).rejects.toThrow(/active stake is 0/);
    expect(await f.c.staking.read.isValidatorFor([a.me, modelId])).toBe(true);
    const health = await fetch(`http://127.0.0.1:${a.port}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    expect(metrics).toContain("llmarket_validator_checks_total");
  });

  it("catches a node that commits a wrong output and gets it slashed by the committee", async () => {
    const { batchId, header, batch, data } = await commit([await makeLeaf(false), await makeLeaf(true)]);
    // Which leaf is the tampered one: the one whose exact re-generation differs.
    let cheated = -1;
    for (let i = 0; i < data.length; i++) {
      const regen = (await rt.generate(profile, { prompt: data[i]!.prompt, maxTokens: 32, stop: [], seed: 0n })).tokens;
      if (regen.join() !== data[i]!.tokens.join()) cheated = i;
    }
    expect(cheated).toBeGreaterThanOrEqual(0);
    await until("wrong-output challenge revealed", async () => (await status(batchId, cheated)) === 1 || undefined);
    const ch = await f.c.game.read.challengeOf([batchId, cheated]);
    expect(ch.kind).toBe(CHALLENGE_WRONG_OUTPUT);
    expect(ch.challenger.toLowerCase()).toBe(a.me.toLowerCase());
    expect(await status(batchId, 1 - cheated)).toBe(0); // the honest leaf passed
    const before = await nodeStake();
    const disputeId = await runDispute(batchId, header, batch, data, cheated);
    expect(await status(batchId, cheated)).toBe(4); // Upheld
    expect(await nodeStake()).toBeLessThan(before);
    expect((await committee.read.membersOf([disputeId, 0]))[0]!.toLowerCase()).toBe(b.me.toLowerCase());
    await until(
      "challenger store says won",
      async () => a.store.challenges().find((c) => c.batchId === batchId)?.state === "won" || undefined,
    );
    await until("juror claimed its reward", async () => b.store.vote(disputeId, 0)?.state === "done" || undefined);
    expect(b.store.vote(disputeId, 0)?.guilty).toBe(true);
  });

  it("keeps an honest node's stake against a dishonest challenger, who loses its bond", async () => {
    const liar = (await f.viem.getWalletClients())[5]!;
    const stakeAmt = parseUnits("2000", 18);
    await f.wait(await f.c.token.write.faucet([liar.account.address, stakeAmt * 2n]));
    await f.wait(await f.c.token.write.approve([f.deployed.addresses.Staking, stakeAmt], { account: liar.account }));
    await f.wait(await f.c.staking.write.stake([stakeAmt], { account: liar.account }));
    await f.wait(
      await f.c.token.write.approve([f.deployed.addresses.ChallengeGame, stakeAmt], { account: liar.account }),
    );
    const { batchId, header, batch, data } = await commit([await makeLeaf(false)]);
    await until(
      "validator A checked the honest leaf",
      async () => a.store.samples().find((s) => s.batchId === batchId && s.state === "done") ?? undefined,
    );
    expect(a.store.samples().find((s) => s.batchId === batchId)?.outcome).toBe("pass");
    const salt = keccak256(toHex("liar"));
    await f.wait(
      await f.c.game.write.commitChallenge(
        [challengeCommitment(batchId, 0, CHALLENGE_WRONG_OUTPUT, liar.account.address, salt)],
        { account: liar.account },
      ),
    );
    await f.wait(
      await f.c.game.write.revealChallenge([batchId, header, 0, CHALLENGE_WRONG_OUTPUT, salt], {
        account: liar.account,
      }),
    );
    const liarBalance = await f.c.token.read.balanceOf([liar.account.address]);
    const before = await nodeStake();
    const disputeId = await runDispute(batchId, header, batch, data, 0);
    expect(await status(batchId, 0)).toBe(3); // Cleared
    expect(await nodeStake()).toBe(before);
    expect(await f.c.game.read.creditOf([liar.account.address])).toBe(0n);
    expect(await f.c.token.read.balanceOf([liar.account.address])).toBe(liarBalance);
    expect(await f.c.game.read.creditOf([f.node.account.address])).toBeGreaterThan(0n); // the bond, less the committee share
    const member = (await committee.read.membersOf([disputeId, 0]))[0]!.toLowerCase();
    const juror = member === a.me.toLowerCase() ? a : b;
    await until("juror voted not guilty", async () =>
      juror.store.vote(disputeId, 0)?.state === "done" ? true : undefined,
    );
    expect(juror.store.vote(disputeId, 0)?.guilty).toBe(false);
  }, 240_000);

  it("slashes a silent node (data challenge, no response)", async () => {
    const { batchId } = await commit([await makeLeaf(false), await makeLeaf(false)], true);
    const leaf = await until("data challenge revealed", async () => {
      for (const i of [0, 1]) if ((await status(batchId, i)) === 1) return i + 1;
      return undefined;
    });
    const i = leaf - 1;
    expect((await f.c.game.read.challengeOf([batchId, i])).kind).toBe(0);
    const before = await nodeStake();
    await advance(121);
    await until("slashSilent", async () => (await status(batchId, i)) === 4 || undefined);
    expect(await nodeStake()).toBeLessThan(before);
    await until("bond withdrawn", async () => (await f.c.game.read.creditOf([a.me])) === 0n || undefined);
  });

  it("recovers from SIGKILL between commit and reveal and still slashes the silent node", async () => {
    await a.stop();
    const dataDir = join(dir, "a2");
    const args = [
      CLI,
      "validator",
      "start",
      "--rpc-url",
      chain.url,
      "--deployments",
      deploymentsPath,
      "--model",
      modelPath,
      "--data-dir",
      dataDir,
      "--listen",
      "127.0.0.1:0",
      "--declare",
      "--stake",
      "2000",
      "--sample-p",
      "1",
      "--sample-floor",
      "1",
      "--poll-ms",
      "200",
      "--fetch-retries",
      "0",
      "--reveal-delay-seconds",
      "60",
    ];
    const spawnAgent = (): ChildProcess =>
      spawn(process.execPath, args, {
        env: { ...process.env, LLMARKET_VALIDATOR_KEY: KEY_A2 },
        stdio: ["ignore", "pipe", "pipe"],
      });
    let child = spawnAgent();
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    await until("agent started", async () => out.includes('"event":"started"') || undefined, 120_000);
    const a2 = (await f.viem.getWalletClients())[6]!.account.address;
    const { batchId } = await commit([await makeLeaf(false)], true);
    await until("challenge committed by the child", async () => {
      const evs = await f.c.game.getEvents.ChallengeCommitted({ challenger: a2 }, { fromBlock: 0n });
      return evs.length > 0 || undefined;
    });
    expect(await status(batchId, 0)).toBe(0); // committed, not revealed (reveal delay)
    process.kill(child.pid!, "SIGKILL");
    await new Promise((r) => child.once("exit", r));
    await advance(61);
    child = spawnAgent();
    out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await until("revealed after restart", async () => (await status(batchId, 0)) === 1 || undefined);
      expect((await f.c.game.read.challengeOf([batchId, 0])).challenger.toLowerCase()).toBe(a2.toLowerCase());
      await advance(121);
      await until("slashSilent after restart", async () => (await status(batchId, 0)) === 4 || undefined);
    } finally {
      await stopProcess(child);
    }
  }, 240_000);
});
