/**
 * `npm run deploy -- [--network <name>] [--out <dir>]`: deploys the protocol to a Hardhat network
 * and writes deployments/<chainId>.json.
 */
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { writeDeployment, DEFAULT_DEPLOYMENTS_DIR } from "../agents/lib/deployments.ts";
import { deployProtocol } from "./lib/deployProtocol.ts";

const { values } = parseArgs({
  options: {
    network: { type: "string" },
    out: { type: "string", default: DEFAULT_DEPLOYMENTS_DIR },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run deploy -- [--network <name>] [--out <dir>]

Deploys TestToken, ModelRegistry, Staking and NodeRegistry with the launch parameters of
scripts/lib/deployProtocol.ts and writes <dir>/<chainId>.json (default dir: deployments/).

  --network <name>  a network from hardhat.config.ts (default: the in-process simulator, whose
                    chain disappears when the command exits; use "localhost" with \`npx hardhat node\`)
  --out <dir>       where to write the deployments file`);
  process.exit(0);
}

const conn = await network.create(values.network);
const { deployment } = await deployProtocol(conn.viem, { log: (l) => console.log(l) });
const path = writeDeployment(deployment, values.out);
console.log(`chain ${deployment.chainId}: wrote ${path}`);
for (const [name, c] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(14)} ${c.address}`);
