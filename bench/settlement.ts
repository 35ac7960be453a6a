/**
 * Settlement gas per leaf, amortized over a batch (issue 4): batches of 16, 256, 1,024 and 4,096
 * ticket leaves from 32 requesters, each paid by one voucher per requester per chunk. Also the
 * gas of commitBatch, challenge commit + reveal, and voucher collection per pair.
 *
 *   node bench/settlement.ts [--sizes 16,256,1024,4096] [--out bench/settlement.json]
 *
 * Figures are measured on Hardhat's in-process chain (default hardfork Osaka: EIP-7623 calldata
 * floor, EIP-7825 16,777,216 gas cap per transaction). "all-in" counts each transaction's whole
 * gasUsed (21,000 base and calldata included); "execution" subtracts base and calldata cost.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import os from "node:os";
import { createWalletClient, custom, keccak256, parseEventLogs, parseUnits, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { network } from "hardhat";
import {
  LEAF_TICKET,
  ZERO32,
  challengeCommitment,
  inputHash,
  outputHash,
  type Voucher,
} from "../agents/lib/encodings.ts";
import { buildTicket, signVoucher, ticketId } from "../agents/lib/tickets.ts";
import {
  buildBatch,
  chunkCount,
  chunkGroups,
  chunkLeafGroups,
  chunkLeaves,
  chunkProof,
  type PendingLeaf,
} from "../agents/lib/batch.ts";
import { protocolFixture, MODEL, PRICE } from "../test/utils/protocolFixture.ts";
import { calldataGas } from "../scripts/lib/gas.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "16,256,1024,4096" },
    requesters: { type: "string", default: "32" },
    out: { type: "string", default: new URL("./settlement.json", import.meta.url).pathname },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: node bench/settlement.ts [--sizes 16,256,1024,4096] [--requesters 32] [--out bench/settlement.json]",
  );
  process.exit(0);
}

const sizes = values.sizes.split(",").map(Number);
const nRequesters = Number(values.requesters);
const PROFILE = keccak256(toHex("bench profile"));
const conn = await network.create();
const f = await protocolFixture({ connection: conn, requesters: 1, validators: 1 });
const escrowDomain = { chainId: f.chainId, verifyingContract: f.deployed.addresses.PairEscrow };

async function gasOf(hash: Hex): Promise<{ all: number; exec: number }> {
  const r = await f.wait(hash);
  const tx = await f.publicClient.getTransaction({ hash });
  return { all: Number(r.gasUsed), exec: Number(r.gasUsed) - 21_000 - calldataGas(tx.input) };
}

// 32 requesters with escrow for the node (local keys, funded by the faucet).
console.log(`funding ${nRequesters} requesters...`);
const requesters: PrivateKeyAccount[] = [];
for (let i = 0; i < nRequesters; i++) {
  const acct = privateKeyToAccount(keccak256(toHex(`bench requester ${i}`)));
  requesters.push(acct);
  await f.testClient.setBalance({ address: acct.address, value: parseUnits("10", 18) });
  await f.wait(await f.c.token.write.faucet([acct.address, parseUnits("1000000", 18)]));
  const w = createWalletClient({ account: acct, transport: custom(conn.provider), chain: f.publicClient.chain });
  await f.wait(
    await w.writeContract({
      address: f.deployed.addresses.TestToken,
      abi: f.c.token.abi,
      functionName: "approve",
      args: [f.deployed.addresses.PairEscrow, 2n ** 255n],
    }),
  );
  await f.wait(
    await w.writeContract({
      address: f.deployed.addresses.PairEscrow,
      abi: f.c.escrow.abi,
      functionName: "deposit",
      args: [f.node.account.address, parseUnits("500000", 18)],
    }),
  );
}
// The node needs enough stake to lock 2 × payout of the largest batch.
await f.wait(await f.c.token.write.faucet([f.node.account.address, parseUnits("1000000", 18)]));
await f.wait(await f.c.token.write.approve([f.deployed.addresses.Staking, 2n ** 255n], { account: f.node.account }));
for (let i = 0; i < 4; i++)
  await f.wait(await f.c.staking.write.stake([parseUnits("250000", 18)], { account: f.node.account }));

const owed = new Map<Address, { total: bigint; sequence: bigint }>();
type Row = { name: string; value: number; unit: string; lowerIsBetter: boolean; conditions: string };
const results: Row[] = [];
const cond = (s: string) =>
  `Hardhat in-process chain, Osaka (EIP-7623 floor, 16,777,216 gas cap), optimizer 200 runs; ${s}`;

for (const size of sizes) {
  const t0 = Date.now();
  const pending: PendingLeaf[] = [];
  const now = await f.now();
  for (let i = 0; i < size; i++) {
    const r = requesters[i % nRequesters]!;
    const st = owed.get(r.address) ?? { total: 0n, sequence: 0n };
    st.sequence += 1n;
    const prompt = `b${size} leaf ${i}`;
    const input = inputHash({ prompt, maxTokens: 64, stop: [], seed: 0n });
    const ticket = buildTicket(
      {
        requester: r.address,
        node: f.node.account.address,
        model: MODEL,
        input,
        maxTokens: 64,
        pricePerToken: PRICE,
        sequence: st.sequence,
        profile: PROFILE,
      },
      { nowSeconds: now, lifetimeSeconds: 500n },
    );
    const n = 16 + (i % 17);
    const tokens = Array.from({ length: n }, (_, k) => 259 + ((i * 13 + k * 7) % 250));
    const amount = BigInt(n) * PRICE;
    st.total += amount;
    owed.set(r.address, st);
    pending.push({
      kind: LEAF_TICKET,
      ref: ticketId(ticket, escrowDomain),
      requester: r.address,
      model: MODEL,
      adapter: ZERO32,
      input,
      output: outputHash(PROFILE, tokens),
      tokens: n,
      amount,
      expiry: ticket.expiry,
      profile: PROFILE,
    });
  }
  const batch = buildBatch(pending);
  const commitHash = await f.c.settlement.write.commitBatch([batch.root, batch.leaves.length, batch.payout], {
    account: f.node.account,
  });
  const commitGas = await gasOf(commitHash);
  const [ev] = parseEventLogs({
    abi: f.c.settlement.abi,
    logs: (await f.wait(commitHash)).logs,
    eventName: "BatchCommitted",
  });
  const header = {
    node: f.node.account.address,
    leafCount: batch.leaves.length,
    committedAt: ev!.args.committedAt,
    payout: batch.payout,
    lock: ev!.args.lock,
    root: batch.root,
  };
  const p = f.deployed.params;
  await f.advance(p.challengeWindowSeconds + p.revealPeriodSeconds + 1n);
  const vouchers = new Map<Address, { voucher: Voucher; signature: Hex }>();
  for (const r of requesters) {
    const st = owed.get(r.address);
    if (!st) continue;
    const voucher: Voucher = {
      requester: r.address,
      node: f.node.account.address,
      cumulativeAmount: st.total,
      throughSequence: st.sequence,
    };
    vouchers.set(r.address, { voucher, signature: await signVoucher(r, voucher, escrowDomain) });
  }
  let settleAll = 0;
  let settleExec = 0;
  let maxTx = 0;
  for (let c = 0; c < chunkCount(size); c++) {
    const leaves = chunkLeaves(batch, c);
    const payments = chunkGroups(leaves).map((a) => vouchers.get(a)!);
    const hash = await f.c.settlement.write.settleChunk(
      [
        BigInt(ev!.args.batchId),
        header,
        { index: c, groups: chunkLeafGroups(leaves), proof: chunkProof(batch.tree, c), payments, tickets: [] },
      ],
      { account: f.node.account },
    );
    const g = await gasOf(hash);
    settleAll += g.all;
    settleExec += g.exec;
    maxTx = Math.max(maxTx, g.all);
  }
  const state = await f.c.settlement.read.stateOf([ev!.args.batchId]);
  if (state.paid !== batch.payout) throw new Error(`batch of ${size} paid ${state.paid}, expected ${batch.payout}`);
  const perLeaf = (commitGas.all + settleAll) / size;
  const perLeafExec = (commitGas.exec + settleExec) / size;
  console.log(
    `b${size}: ${perLeaf.toFixed(0)} gas/leaf all-in (${perLeafExec.toFixed(0)} execution), largest tx ${maxTx}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const tag = size === 256 ? "b256" : `b${size}`;
  results.push({
    name: `settle_gas_per_leaf_${tag}`,
    value: Math.round(perLeaf),
    unit: "gas/leaf",
    lowerIsBetter: true,
    conditions: cond(
      `${size} ticket leaves from ${Math.min(nRequesters, size)} requesters, one voucher per requester per 256-leaf chunk, commit + settle, all-in gasUsed / leaves`,
    ),
  });
  results.push({
    name: `settle_exec_gas_per_leaf_${tag}`,
    value: Math.round(perLeafExec),
    unit: "gas/leaf",
    lowerIsBetter: true,
    conditions: cond(`as settle_gas_per_leaf_${tag}, minus the 21,000 base and calldata of each transaction`),
  });
  results.push({
    name: `settle_max_tx_gas_${tag}`,
    value: maxTx,
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond(`largest single settleChunk transaction of the ${size}-leaf batch; must stay under 16,777,216`),
  });
  console.log(`  commitBatch: ${commitGas.all - 21_000} gas (gasUsed minus 21,000)`);
  if (size === sizes[sizes.length - 1])
    results.push({
      name: "commit_batch_gas",
      value: commitGas.all - 21_000,
      unit: "gas",
      lowerIsBetter: true,
      conditions: cond(
        "commitBatch, gasUsed minus the 21,000 base (calldata included), steady state (not the chain's first batch)",
      ),
    });
}

// Challenge commit + reveal.
{
  const v = f.validators[0]!;
  const made: PendingLeaf[] = [
    {
      kind: LEAF_TICKET,
      ref: keccak256(toHex("c")),
      requester: requesters[0]!.address,
      model: MODEL,
      adapter: ZERO32,
      input: ZERO32,
      output: ZERO32,
      tokens: 1,
      amount: PRICE,
      expiry: (await f.now()) + 600n,
      profile: PROFILE,
    },
  ];
  const batch = buildBatch(made);
  const h = await f.c.settlement.write.commitBatch([batch.root, 1, batch.payout], { account: f.node.account });
  const [ev] = parseEventLogs({ abi: f.c.settlement.abi, logs: (await f.wait(h)).logs, eventName: "BatchCommitted" });
  const header = {
    node: f.node.account.address,
    leafCount: 1,
    committedAt: ev!.args.committedAt,
    payout: batch.payout,
    lock: ev!.args.lock,
    root: batch.root,
  };
  // The validator prepays a bond into two slots (a running validator keeps its slots funded). A
  // first challenge from slot 1 warms the settlement's counters; the second, from slot 2, is
  // measured: the steady state of a validator whose slot word already exists.
  const bond = await f.c.game.read.challengeBond();
  for (const slot of [1n, 2n]) await f.wait(await f.c.game.write.fundSlot([slot, bond], { account: v.account }));
  {
    const s0 = keccak256(toHex("bench warm-up salt"));
    const h0 = await f.c.settlement.write.commitBatch([batch.root, 1, batch.payout], { account: f.node.account });
    const [e0] = parseEventLogs({
      abi: f.c.settlement.abi,
      logs: (await f.wait(h0)).logs,
      eventName: "BatchCommitted",
    });
    const hd0 = { ...header, committedAt: e0!.args.committedAt, lock: e0!.args.lock };
    await f.wait(
      await f.c.game.write.commitChallenge([1n, challengeCommitment(e0!.args.batchId, 0, 0, v.account.address, s0)], {
        account: v.account,
      }),
    );
    await f.wait(await f.c.game.write.revealChallenge([1n, e0!.args.batchId, hd0, 0, 0, s0], { account: v.account }));
  }
  const salt = keccak256(toHex("bench salt"));
  const commit = await gasOf(
    await f.c.game.write.commitChallenge([2n, challengeCommitment(ev!.args.batchId, 0, 0, v.account.address, salt)], {
      account: v.account,
    }),
  );
  const reveal = await gasOf(
    await f.c.game.write.revealChallenge([2n, ev!.args.batchId, header, 0, 0, salt], { account: v.account }),
  );
  results.push({
    name: "challenge_commit_reveal_gas",
    parts: { commit: commit.all, reveal: reveal.all },
    value: commit.all + reveal.all,
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond(
      "commitChallenge + revealChallenge from a funded slot (bond prepaid), gasUsed all-in: both 21,000 bases and calldata included",
    ),
  });
}

const out = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version },
  results,
};
writeFileSync(values.out, JSON.stringify(out, null, 2) + "\n");
console.log(`wrote ${values.out}`);
