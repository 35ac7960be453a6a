/**
 * `npm run deploy -- [--network <name>] [--rpc <url>] [--deployments <dir>] [--force]`: deploys
 * the protocol and writes deployments/<chainId>.json. Re-running against a chain that already has
 * a deployment whose contracts all have code does nothing (idempotent); --force deploys anew.
 */
import { parseArgs } from "node:util";
import { writeDeployment } from "../agents/lib/deployments.ts";
import { DEMO_PARAMS, deployProtocol } from "./lib/deployProtocol.ts";
import { NETWORK_HELP, NETWORK_OPTIONS, connect, deploymentFor, runScript } from "./lib/scriptNetwork.ts";

const { values } = parseArgs({
  options: {
    ...NETWORK_OPTIONS,
    force: { type: "boolean", default: false },
    demo: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run deploy -- [options]

Deploys the protocol (11 contracts, roles wired) with the launch parameters of
scripts/lib/deployProtocol.ts and writes <deployments>/<chainId>.json. Idempotent: when that file
exists and every contract in it has code on the chain, nothing is deployed.

${NETWORK_HELP}
  --force              deploy again even if a deployment exists
  --demo               short demo windows (seconds) instead of the launch defaults (dev chains)`);
  process.exit(0);
}

runScript(async () => {
  const c = await connect(values);
  if (!values.force) {
    try {
      const existing = deploymentFor(c, values.deployments);
      const pub = await c.viem.getPublicClient();
      const codes = await Promise.all(
        Object.values(existing.contracts).map((x) => pub.getCode({ address: x.address })),
      );
      if (codes.every((code) => code !== undefined && code !== "0x")) {
        console.log(
          `chain ${c.chainId} already has a deployment (${values.deployments}/${c.chainId}.json); nothing to do (--force deploys again)`,
        );
        return;
      }
      console.log(
        `the deployment file for chain ${c.chainId} names contracts without code (a reset chain?): deploying again`,
      );
    } catch {
      // no deployment yet
    }
  }
  if (values.demo && c.chainId !== 31337 && c.chainId !== 1337) {
    throw new Error(`--demo windows are for development chains only (this is chain ${c.chainId}).`);
  }
  const { deployment } = await deployProtocol(c.viem, {
    log: (l) => console.log(l),
    ...(values.demo ? { params: DEMO_PARAMS } : {}),
  });
  const path = writeDeployment(deployment, values.deployments);
  console.log(`chain ${deployment.chainId}: wrote ${path}`);
  for (const [name, x] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(16)} ${x.address}`);
});
