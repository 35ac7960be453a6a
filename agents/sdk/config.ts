/**
 * Requester configuration for the CLI and the gateway: flags, then environment, then a JSON file
 * (`--config`, LLMARKET_CONFIG, or ~/.llmarket/config.json), then defaults. `createMarket` turns it
 * into a Market (viem clients over HTTP, the deployments file, discovery, state and evidence files).
 *
 * | flag           | environment            | file key     |
 * | -------------- | ---------------------- | ------------ |
 * | --rpc          | LLMARKET_RPC_URL       | rpcUrl       |
 * | --deployment   | LLMARKET_DEPLOYMENT    | deployment   |
 * | --key          | LLMARKET_KEY           | key          |
 * | --indexer      | LLMARKET_INDEXER_URL   | indexerUrl   |
 * | --node (many)  | LLMARKET_NODES (comma) | nodes        |
 * | --state-dir    | LLMARKET_STATE_DIR     | stateDir     |
 * | --max-request  | LLMARKET_MAX_REQUEST   | maxRequest   |
 * | --max-session  | LLMARKET_MAX_SESSION   | maxSession   |
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseUnits,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { ConfigError } from "../lib/errors.ts";
import { readDeployment } from "../lib/deployments.ts";
import { Discovery } from "./Discovery.ts";
import { Market } from "./Market.ts";

export type SdkConfig = {
  rpcUrl?: string;
  deployment?: string;
  key?: Hex;
  indexerUrl?: string;
  nodes: string[];
  stateDir: string;
  maxRequest?: bigint;
  maxSession?: bigint;
};

const fileSchema = z
  .object({
    rpcUrl: z.string().url().optional(),
    deployment: z.string().optional(),
    key: z.string().optional(),
    indexerUrl: z.string().url().optional(),
    nodes: z.array(z.string().url()).optional(),
    stateDir: z.string().optional(),
    maxRequest: z.string().optional(),
    maxSession: z.string().optional(),
  })
  .strict();

/** Shared help text for the configuration flags. */
export const CONFIG_HELP = `Configuration (flag > environment > config file > default):
  --rpc <url>            LLMARKET_RPC_URL       JSON-RPC endpoint of the chain
  --deployment <file>    LLMARKET_DEPLOYMENT    deployments/<chainId>.json (default: deployments/<chainId of --rpc>.json)
  --key <0x…>            LLMARKET_KEY           requester private key
  --indexer <url>        LLMARKET_INDEXER_URL   indexer base URL (ranked node list)
  --node <url>           LLMARKET_NODES         node endpoint(s) to use without an indexer (repeat / comma-separated)
  --state-dir <dir>      LLMARKET_STATE_DIR     where sequences, vouchers and receipts are kept (default ~/.llmarket)
  --max-request <tok>    LLMARKET_MAX_REQUEST   budget cap per request, in tokens (e.g. 0.5)
  --max-session <tok>    LLMARKET_MAX_SESSION   budget cap per session, in tokens
  --config <file>        LLMARKET_CONFIG        JSON file with the keys rpcUrl, deployment, key, indexerUrl, nodes, stateDir, maxRequest, maxSession`;

/** The config-related option specs for node:util parseArgs. */
export const CONFIG_OPTIONS = {
  rpc: { type: "string" },
  deployment: { type: "string" },
  key: { type: "string" },
  indexer: { type: "string" },
  node: { type: "string", multiple: true },
  "state-dir": { type: "string" },
  "max-request": { type: "string" },
  "max-session": { type: "string" },
  config: { type: "string" },
} as const;

/** Parses a token amount with 18 decimals ("1.5" -> 1.5e18 wei); "123wei" is taken as wei. */
export function parseTokens(value: string, what: string): bigint {
  const v = value.trim();
  try {
    if (/^\d+wei$/.test(v)) return BigInt(v.slice(0, -3));
    if (!/^\d+(\.\d+)?$/.test(v)) throw new Error("format");
    return parseUnits(v, 18);
  } catch {
    throw new ConfigError(`${what} must be a token amount like 1.5 (18 decimals) or 1500wei, got "${value}".`);
  }
}

export function resolveConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SdkConfig {
  const str = (k: string): string | undefined => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  const configPath = str("config") ?? env.LLMARKET_CONFIG ?? join(homedir(), ".llmarket", "config.json");
  let file: z.infer<typeof fileSchema> = {};
  if (existsSync(configPath)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(configPath, "utf8"));
    } catch (cause) {
      throw new ConfigError(`Config file ${configPath} is not valid JSON.`, { cause });
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(
        `Config file ${configPath} is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    }
    file = parsed.data;
  } else if (str("config") ?? env.LLMARKET_CONFIG) {
    throw new ConfigError(`Config file ${configPath} does not exist.`);
  }
  const flagNodes = Array.isArray(flags.node) ? (flags.node as string[]).flatMap((n) => n.split(",")) : [];
  const envNodes = env.LLMARKET_NODES ? env.LLMARKET_NODES.split(",") : [];
  const key = str("key") ?? env.LLMARKET_KEY ?? file.key;
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ConfigError("The key must be a 32-byte hex private key (0x + 64 hex digits).");
  const maxRequest = str("max-request") ?? env.LLMARKET_MAX_REQUEST ?? file.maxRequest;
  const maxSession = str("max-session") ?? env.LLMARKET_MAX_SESSION ?? file.maxSession;
  return {
    rpcUrl: str("rpc") ?? env.LLMARKET_RPC_URL ?? file.rpcUrl,
    deployment: str("deployment") ?? env.LLMARKET_DEPLOYMENT ?? file.deployment,
    key: key as Hex | undefined,
    indexerUrl: str("indexer") ?? env.LLMARKET_INDEXER_URL ?? file.indexerUrl,
    nodes: (flagNodes.length ? flagNodes : envNodes.length ? envNodes : (file.nodes ?? []))
      .map((n) => n.trim())
      .filter(Boolean),
    stateDir: str("state-dir") ?? env.LLMARKET_STATE_DIR ?? file.stateDir ?? join(homedir(), ".llmarket"),
    maxRequest: maxRequest !== undefined ? parseTokens(maxRequest, "--max-request") : undefined,
    maxSession: maxSession !== undefined ? parseTokens(maxSession, "--max-session") : undefined,
  };
}

/** A public client for the configured RPC. */
export function publicClientFor(cfg: SdkConfig): PublicClient {
  if (!cfg.rpcUrl) throw new ConfigError("No RPC URL: pass --rpc or set LLMARKET_RPC_URL.");
  return createPublicClient({ transport: http(cfg.rpcUrl, { retryCount: 1 }) });
}

/** Builds a Market from the configuration (needs rpc, key and an indexer or nodes). */
export async function createMarket(cfg: SdkConfig, options: { needDiscovery?: boolean } = {}): Promise<Market> {
  if (!cfg.key) throw new ConfigError("No requester key: pass --key or set LLMARKET_KEY.");
  const pub = publicClientFor(cfg);
  let chainId: number;
  try {
    chainId = await pub.getChainId();
  } catch (cause) {
    throw new ConfigError(`The chain at ${cfg.rpcUrl} does not answer: start it or fix --rpc.`, { cause });
  }
  const deployment = readDeployment(cfg.deployment ?? chainId);
  if (deployment.chainId !== chainId) {
    throw new ConfigError(
      `The deployment is for chain ${deployment.chainId} but ${cfg.rpcUrl} is chain ${chainId}: pass the matching --deployment.`,
    );
  }
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpcUrl!] } },
  });
  const account = privateKeyToAccount(cfg.key);
  const wallet = createWalletClient({ account, chain, transport: http(cfg.rpcUrl, { retryCount: 1 }) });
  const publicClient = createPublicClient({ chain, transport: http(cfg.rpcUrl, { retryCount: 1 }) }) as PublicClient;
  const haveDiscovery = cfg.indexerUrl !== undefined || cfg.nodes.length > 0;
  if (options.needDiscovery && !haveDiscovery) {
    throw new ConfigError(
      "No way to find nodes: pass --indexer (LLMARKET_INDEXER_URL) or --node <url> (LLMARKET_NODES).",
    );
  }
  const discovery = new Discovery(
    haveDiscovery
      ? { indexerUrl: cfg.indexerUrl, nodes: cfg.nodes.map((endpoint) => ({ endpoint })) }
      : { nodes: [{ endpoint: "http://127.0.0.1:1" }] },
  );
  const escrow = deployment.contracts.PairEscrow?.address ?? "none";
  const base = join(cfg.stateDir, `${chainId}-${escrow.toLowerCase()}-${account.address.toLowerCase()}`);
  return new Market({
    wallet,
    publicClient,
    deployment,
    discovery,
    statePath: `${base}.state.json`,
    evidencePath: `${base}.receipts.jsonl`,
    budget: { perRequest: cfg.maxRequest, perSession: cfg.maxSession },
  });
}
