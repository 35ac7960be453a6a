/**
 * Shared by the deployer scripts: connects to a Hardhat network (optionally at another URL) with
 * clear errors for an unknown network, an unreachable RPC or a missing key, and loads the
 * deployment of the chain it reaches.
 */
import { network } from "hardhat";
import type { Address } from "viem";
import { ConfigError } from "../../agents/lib/errors.ts";
import { DEFAULT_DEPLOYMENTS_DIR, readDeployment, type Deployment } from "../../agents/lib/deployments.ts";

export const NETWORK_OPTIONS = {
  network: { type: "string" },
  rpc: { type: "string" },
  deployments: { type: "string", default: DEFAULT_DEPLOYMENTS_DIR },
  help: { type: "boolean", short: "h", default: false },
} as const;

export const NETWORK_HELP = `  --network <name>     a network of hardhat.config.ts (default: the in-process simulator;
                       "localhost" for \`npx hardhat node\`)
  --rpc <url>          use this JSON-RPC URL for the network (e.g. another local port)
  --deployments <dir>  where deployments/<chainId>.json files live (default: deployments/)`;

export type Connected = Awaited<ReturnType<typeof network.create>> & { chainId: number; account: Address };

export async function connect(opts: { network?: string; rpc?: string }): Promise<Connected> {
  let conn;
  try {
    conn = await network.create(
      opts.rpc ? { network: opts.network ?? "localhost", override: { url: opts.rpc } } : opts.network,
    );
  } catch (cause) {
    throw new ConfigError(
      `Cannot use network "${opts.network ?? "default"}": ${(cause as Error).message.split("\n")[0]} Networks are defined in hardhat.config.ts.`,
      { cause },
    );
  }
  let chainId: number;
  try {
    const pub = await conn.viem.getPublicClient();
    chainId = await pub.getChainId();
  } catch (cause) {
    throw new ConfigError(
      `The chain of network "${opts.network ?? "default"}" does not answer${opts.rpc ? ` at ${opts.rpc}` : ""}: start it or fix --rpc.`,
      { cause },
    );
  }
  const [wallet] = await conn.viem.getWalletClients();
  if (!wallet) {
    throw new ConfigError(
      `No account is configured for network "${opts.network}": add its key to hardhat.config.ts with configVariable (keystore or environment), never to the repository.`,
    );
  }
  return Object.assign(conn, { chainId, account: wallet.account.address });
}

export function deploymentFor(c: Connected, dir: string): Deployment {
  return readDeployment(c.chainId, dir);
}

/** Runs `main`, printing a ConfigError's message (exit 2) or any other error (exit 1). */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}
