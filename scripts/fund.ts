/**
 * `npm run fund -- --to <address> [--amount <tokens>] [--eth <ether>]`: funds an account on a
 * development chain from the test token's faucet (and with ETH for gas). Refused elsewhere.
 */
import { parseArgs } from "node:util";
import { isAddress, parseEther, parseUnits, type Address } from "viem";
import { ConfigError } from "../agents/lib/errors.ts";
import { NETWORK_HELP, NETWORK_OPTIONS, connect, deploymentFor, runScript } from "./lib/scriptNetwork.ts";

const { values } = parseArgs({
  options: {
    ...NETWORK_OPTIONS,
    to: { type: "string", multiple: true },
    amount: { type: "string", default: "10000" },
    eth: { type: "string", default: "10" },
  },
});
if (values.help || !values.to?.length) {
  console.log(`Usage: npm run fund -- --to <address> [--to ...] [options]

Development chains only (31337, 1337): mints test tokens from the faucet and sets an ETH balance.

  --to <address>       account to fund (repeatable, required)
  --amount <tokens>    test tokens per account (default 10000)
  --eth <ether>        ETH balance to set for gas (default 10; 0 leaves it)
${NETWORK_HELP}`);
  process.exit(values.help ? 0 : 2);
}

runScript(async () => {
  for (const a of values.to!) if (!isAddress(a)) throw new ConfigError(`--to ${a} is not an address`);
  const c = await connect(values);
  if (c.chainId !== 31337 && c.chainId !== 1337)
    throw new ConfigError(`fund works on development chains only; this is chain ${c.chainId}.`);
  const d = deploymentFor(c, values.deployments);
  if (!d.token.isTestToken) throw new ConfigError("This deployment's token is not the test token: there is no faucet.");
  const token = await c.viem.getContractAt("TestToken", d.token.address);
  const pub = await c.viem.getPublicClient();
  const test = await c.viem.getTestClient();
  const amount = parseUnits(values.amount, 18);
  for (const to of values.to! as Address[]) {
    let left = amount;
    while (left > 0n) {
      const drip = left > parseUnits("1000000", 18) ? parseUnits("1000000", 18) : left;
      await pub.waitForTransactionReceipt({ hash: await token.write.faucet([to, drip]) });
      left -= drip;
    }
    if (values.eth !== "0") await test.setBalance({ address: to, value: parseEther(values.eth) });
    console.log(`funded ${to}: ${values.amount} LLMT${values.eth !== "0" ? `, ${values.eth} ETH` : ""}`);
  }
});
