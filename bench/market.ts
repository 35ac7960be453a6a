/**
 * Auction and voucher gas (issue 3): post a job, five bidders commit and reveal, finalize, and a
 * steady-state voucher redemption. Figures are gasUsed minus the 21,000 base (calldata included)
 * on Hardhat's in-process chain at its default hardfork (Osaka).
 *
 *   node bench/market.ts [--out bench/market.json]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import os from "node:os";
import { keccak256, parseEventLogs, parseUnits, toHex, type Hex } from "viem";
import { network } from "hardhat";
import { bidCommitment, type Voucher } from "../agents/lib/encodings.ts";
import { signVoucher } from "../agents/lib/tickets.ts";
import { protocolFixture, MODEL, PRICE, Q8_0 } from "../test/utils/protocolFixture.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: new URL("./market.json", import.meta.url).pathname },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("Usage: node bench/market.ts [--out bench/market.json]");
  process.exit(0);
}

const f = await protocolFixture({ connection: await network.create(), requesters: 1, validators: 0 });
const c = f.c;
const gas = async (hash: Hex): Promise<number> => Number((await f.wait(hash)).gasUsed) - 21_000;
const bidders = f.wallets.slice(2, 7);
const stake = parseUnits("5000", 18);
for (const b of bidders) {
  await f.wait(await c.token.write.faucet([b.account.address, stake]));
  await f.wait(await c.token.write.approve([f.deployed.addresses.Staking, stake], { account: b.account }));
  await f.wait(await c.staking.write.stake([stake], { account: b.account }));
  await f.wait(
    await c.nodes.write.register(
      [
        "http://127.0.0.1:1",
        b.account.address,
        [{ modelId: MODEL, quantization: Q8_0, maxBatch: 1, maxTokens: 4096, latencySlaMs: 100, pricePerToken: PRICE }],
      ],
      { account: b.account },
    ),
  );
  await f.wait(await c.market.write.reserveBondStake([parseUnits("100", 18)], { account: b.account }));
}
const requester = f.requesters[0]!;
const post = async () => {
  const t0 = await f.now();
  const params = {
    modelId: MODEL,
    maxTokens: 128,
    reservePricePerToken: PRICE,
    minReputation: 0n,
    commitDuration: 60,
    revealDuration: 60,
    deliveryDeadline: Number(t0 + 900n),
  };
  const hash = await c.market.write.postJob([params, "a benchmark prompt of modest length", [], 0n], {
    account: requester.account,
  });
  const r = await f.wait(hash);
  const [ev] = parseEventLogs({ abi: c.market.abi, logs: r.logs, eventName: "JobPosted" });
  return { jobId: ev!.args.jobId, gas: Number(r.gasUsed) - 21_000 };
};
// A first job warms the requester's and the market's storage; the second is measured.
await post();
const { jobId, gas: postGas } = await post();
const commits: number[] = [];
const reveals: number[] = [];
for (const [i, b] of bidders.entries()) {
  const price = PRICE - BigInt(i + 1) * 10n ** 12n;
  const salt = keccak256(toHex(`salt ${i}`));
  commits.push(
    await gas(
      await c.market.write.commitBid([jobId, bidCommitment(jobId, b.account.address, price, salt)], {
        account: b.account,
      }),
    ),
  );
}
await f.advance(61);
for (const [i, b] of bidders.entries()) {
  const price = PRICE - BigInt(i + 1) * 10n ** 12n;
  reveals.push(
    await gas(await c.market.write.revealBid([jobId, price, keccak256(toHex(`salt ${i}`))], { account: b.account })),
  );
}
await f.advance(61);
const finalizeGas = await gas(await c.market.write.finalize([jobId]));

// Voucher redemption on a standalone escrow where nodes redeem their own vouchers.
await f.wait(await c.escrow.write.setNodeRedeemEnabled([true]));
const dom = { chainId: f.chainId, verifyingContract: f.deployed.addresses.PairEscrow };
const v1: Voucher = {
  requester: requester.account.address,
  node: f.node.account.address,
  cumulativeAmount: PRICE * 10n,
  throughSequence: 1n,
};
await f.wait(
  await c.escrow.write.redeemVoucher([v1, await signVoucher(requester, v1, dom)], { account: f.node.account }),
);
const v2: Voucher = { ...v1, cumulativeAmount: PRICE * 25n, throughSequence: 3n };
const redeemGas = await gas(
  await c.escrow.write.redeemVoucher([v2, await signVoucher(requester, v2, dom)], { account: f.node.account }),
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cond = (s: string) =>
  `Hardhat in-process chain, Osaka, optimizer 200 runs; gasUsed minus 21,000 (calldata included); ${s}`;
const results = [
  {
    name: "post_job_gas",
    value: postGas,
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond("postJob with a 34-byte prompt as calldata, the requester's second job"),
  },
  {
    name: "auction_commit_gas",
    value: median(commits),
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond("commitBid, bond from reserved stake, median of 5 bidders"),
  },
  {
    name: "auction_reveal_gas",
    value: median(reveals),
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond("revealBid, median of 5 bidders revealing in price order"),
  },
  {
    name: "auction_finalize_gas_5_bidders",
    value: finalizeGas,
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond("finalize after 5 revealed bids (no loop over bidders)"),
  },
  {
    name: "voucher_redeem_gas",
    value: redeemGas,
    unit: "gas",
    lowerIsBetter: true,
    conditions: cond("redeemVoucher, steady state (the pair and the node's credit already written)"),
  },
];
for (const r of results) console.log(`${r.name}: ${r.value}`);
writeFileSync(
  values.out,
  JSON.stringify(
    { generatedAt: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, results },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${values.out}`);
