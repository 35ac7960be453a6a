/**
 * The node agent's configuration: flags > environment (LLMARKET_NODE_*) > JSON file (`--config`),
 * validated with zod. `NODE_HELP` documents every option with its default. The private key is
 * never part of the config object that gets logged: it is loaded separately (NodeKey.ts).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../lib/errors.ts";

const bigintString = z.union([z.string().regex(/^\d+$/, "must be a non-negative integer"), z.number().int().min(0)]);

/** One served model: a local GGUF path or a registered model id (fetched from its URI) and its price. */
export const modelSpecSchema = z.object({
  /** Local GGUF path, or a 0x bytes32 model id to fetch from the ModelRegistry URI. */
  source: z.string().min(1),
  pricePerToken: bigintString.transform((v) => BigInt(v)),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

export const faultSchema = z.object({ kind: z.literal("wrong-output"), probability: z.number().min(0).max(1) });
export type FaultSpec = z.infer<typeof faultSchema>;

export const nodeConfigSchema = z.object({
  rpcUrl: z.string().url(),
  deployments: z.string().optional(),
  keyFile: z.string().optional(),
  keyPasswordFile: z.string().optional(),
  models: z.array(modelSpecSchema).min(1, "at least one --model path.gguf:pricePerTokenWei is required"),
  threads: z.number().int().min(1).max(256),
  contextSize: z
    .number()
    .int()
    .min(64)
    .max(1 << 20),
  batchSize: z
    .number()
    .int()
    .min(1)
    .max(1 << 16),
  parallel: z.number().int().min(1).max(64),
  queueCapacity: z.number().int().min(0).max(100_000),
  maxTokens: z
    .number()
    .int()
    .min(1)
    .max(1 << 20),
  maxBodyBytes: z.number().int().min(1024),
  marginBps: z.number().int().min(0).max(1_000_000),
  costPerToken: bigintString.transform((v) => BigInt(v)),
  auctions: z.boolean(),
  batchMaxLeaves: z.number().int().min(1).max(65_536),
  batchMaxAgeSeconds: z.number().min(0),
  dataDir: z.string().min(1),
  listen: z.string().regex(/^[^:]+:\d+$/, "must be host:port"),
  publicUrl: z.string().url().optional(),
  pollMs: z.number().int().min(20).max(60_000),
  fault: faultSchema.optional(),
  register: z.boolean(),
  registerModel: z.boolean(),
  stake: bigintString.transform((v) => BigInt(v)).optional(),
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  durability: z.enum(["process", "full"]),
});
export type NodeConfig = z.infer<typeof nodeConfigSchema>;

export const DEFAULTS = {
  rpcUrl: "http://127.0.0.1:8545",
  threads: 1,
  contextSize: 1024,
  batchSize: 512,
  parallel: 1,
  queueCapacity: 16,
  maxTokens: 512,
  maxBodyBytes: 256 * 1024,
  marginBps: 2000,
  costPerToken: "0",
  auctions: true,
  batchMaxLeaves: 64,
  batchMaxAgeSeconds: 30,
  dataDir: "./data/node",
  listen: "127.0.0.1:8700",
  pollMs: 500,
  register: false,
  registerModel: false,
  logLevel: "info",
  durability: "process",
} as const;

export const NODE_HELP = `Usage: llmarket node start [options]

Runs a provider node: serves the HTTP API of docs/node-api.md, batches and settles results,
answers challenges and follows their disputes to the verdict (appealing a guilty round when it
reproduces its own output), bids in auctions (a hash-only job's input is fetched from its
http(s)/file URI and checked against its inputHash before any bid) and withdraws its credits. Precedence: flags > environment > --config JSON file.

Options (environment variable in brackets, default after "="):
  --config <file.json>          JSON file with any of the keys below in camelCase
  --rpc-url <url>               JSON-RPC endpoint [LLMARKET_RPC_URL] = ${DEFAULTS.rpcUrl}
  --deployments <file>          deployments JSON [LLMARKET_DEPLOYMENTS] = deployments/<chainId>.json
  --key-file <file>             raw 0x hex key file or a scrypt/pbkdf2 keystore v3 JSON [LLMARKET_NODE_KEY_FILE]
  --key-password-file <file>    keystore password file [LLMARKET_NODE_KEY_PASSWORD_FILE]
                                (or the raw key in LLMARKET_NODE_KEY; the key is never logged)
  --model <src>:<priceWei>      repeatable; src = path.gguf, or a registered 0x model id fetched from its
                                ModelRegistry URI (http(s):// or file://) into <data-dir>/models and
                                checked against the id (sha256) [LLMARKET_NODE_MODELS, comma-separated]
  --threads <n>                 llama.cpp threads, pinned in the profile [LLMARKET_NODE_THREADS] = ${DEFAULTS.threads}
  --context-size <n>            tokens per sequence [LLMARKET_NODE_CONTEXT_SIZE] = ${DEFAULTS.contextSize}
  --batch-size <n>              llama.cpp batch size [LLMARKET_NODE_BATCH_SIZE] = ${DEFAULTS.batchSize}
  --parallel <n>                sequences run at once per model [LLMARKET_NODE_PARALLEL] = ${DEFAULTS.parallel}
  --queue <n>                   requests that may wait (then 429) [LLMARKET_NODE_QUEUE] = ${DEFAULTS.queueCapacity}
  --max-tokens <n>              largest max_tokens accepted [LLMARKET_NODE_MAX_TOKENS] = ${DEFAULTS.maxTokens}
  --max-body-bytes <n>          largest request body (then 413) [LLMARKET_NODE_MAX_BODY_BYTES] = ${DEFAULTS.maxBodyBytes}
  --margin-bps <n>              auction bid margin over cost [LLMARKET_NODE_MARGIN_BPS] = ${DEFAULTS.marginBps}
  --cost-per-token <wei>        own cost per generated token [LLMARKET_NODE_COST_PER_TOKEN] = ${DEFAULTS.costPerToken}
  --no-auctions                 do not bid in auctions [LLMARKET_NODE_AUCTIONS=false]
  --batch-max-leaves <n>        commit a batch at this many leaves [LLMARKET_NODE_BATCH_MAX_LEAVES] = ${DEFAULTS.batchMaxLeaves}
  --batch-max-age <s>           ... or when the oldest leaf is this old [LLMARKET_NODE_BATCH_MAX_AGE] = ${DEFAULTS.batchMaxAgeSeconds}
  --data-dir <dir>              sqlite store, fetched models [LLMARKET_NODE_DATA_DIR] = ${DEFAULTS.dataDir}
  --listen <host:port>          HTTP listen address [LLMARKET_NODE_LISTEN] = ${DEFAULTS.listen}
  --public-url <url>            endpoint registered on-chain [LLMARKET_NODE_PUBLIC_URL] = http://<listen>
  --poll-ms <ms>                chain polling interval [LLMARKET_NODE_POLL_MS] = ${DEFAULTS.pollMs}
  --register                    stake (--stake or the required minimum) and register if not yet [LLMARKET_NODE_REGISTER]
  --stake <wei>                 amount to stake with --register [LLMARKET_NODE_STAKE]
  --register-model              register missing models in ModelRegistry (dev chains 31337/1337 only)
  --fault wrong-output:<p>      demo cheating node: a share p of outputs is wrong (dev chains only) [LLMARKET_NODE_FAULT]
  --durability process|full     sqlite commits survive a process crash (WAL, synchronous NORMAL), or also
                                an OS crash/power loss (fsync per commit) [LLMARKET_NODE_DURABILITY] = ${DEFAULTS.durability}
  --log-level <level>           debug|info|warn|error [LLMARKET_NODE_LOG_LEVEL] = ${DEFAULTS.logLevel}
  -h, --help                    this text
`;

type Raw = Record<string, unknown>;

const FLAG_KEYS: Record<string, { key: string; kind: "string" | "int" | "number" | "bool" | "list" }> = {
  "--rpc-url": { key: "rpcUrl", kind: "string" },
  "--deployments": { key: "deployments", kind: "string" },
  "--key-file": { key: "keyFile", kind: "string" },
  "--key-password-file": { key: "keyPasswordFile", kind: "string" },
  "--model": { key: "models", kind: "list" },
  "--threads": { key: "threads", kind: "int" },
  "--context-size": { key: "contextSize", kind: "int" },
  "--batch-size": { key: "batchSize", kind: "int" },
  "--parallel": { key: "parallel", kind: "int" },
  "--queue": { key: "queueCapacity", kind: "int" },
  "--max-tokens": { key: "maxTokens", kind: "int" },
  "--max-body-bytes": { key: "maxBodyBytes", kind: "int" },
  "--margin-bps": { key: "marginBps", kind: "int" },
  "--cost-per-token": { key: "costPerToken", kind: "string" },
  "--batch-max-leaves": { key: "batchMaxLeaves", kind: "int" },
  "--batch-max-age": { key: "batchMaxAgeSeconds", kind: "number" },
  "--data-dir": { key: "dataDir", kind: "string" },
  "--listen": { key: "listen", kind: "string" },
  "--public-url": { key: "publicUrl", kind: "string" },
  "--poll-ms": { key: "pollMs", kind: "int" },
  "--fault": { key: "fault", kind: "string" },
  "--stake": { key: "stake", kind: "string" },
  "--log-level": { key: "logLevel", kind: "string" },
  "--durability": { key: "durability", kind: "string" },
  "--config": { key: "config", kind: "string" },
};
const BOOL_FLAGS: Record<string, [string, boolean]> = {
  "--register": ["register", true],
  "--register-model": ["registerModel", true],
  "--no-auctions": ["auctions", false],
  "--auctions": ["auctions", true],
};

const ENV_KEYS: Record<string, { key: string; kind: "string" | "int" | "number" | "bool" | "list" }> = {
  LLMARKET_RPC_URL: { key: "rpcUrl", kind: "string" },
  LLMARKET_DEPLOYMENTS: { key: "deployments", kind: "string" },
  LLMARKET_NODE_KEY_FILE: { key: "keyFile", kind: "string" },
  LLMARKET_NODE_KEY_PASSWORD_FILE: { key: "keyPasswordFile", kind: "string" },
  LLMARKET_NODE_MODELS: { key: "models", kind: "list" },
  LLMARKET_NODE_THREADS: { key: "threads", kind: "int" },
  LLMARKET_NODE_CONTEXT_SIZE: { key: "contextSize", kind: "int" },
  LLMARKET_NODE_BATCH_SIZE: { key: "batchSize", kind: "int" },
  LLMARKET_NODE_PARALLEL: { key: "parallel", kind: "int" },
  LLMARKET_NODE_QUEUE: { key: "queueCapacity", kind: "int" },
  LLMARKET_NODE_MAX_TOKENS: { key: "maxTokens", kind: "int" },
  LLMARKET_NODE_MAX_BODY_BYTES: { key: "maxBodyBytes", kind: "int" },
  LLMARKET_NODE_MARGIN_BPS: { key: "marginBps", kind: "int" },
  LLMARKET_NODE_COST_PER_TOKEN: { key: "costPerToken", kind: "string" },
  LLMARKET_NODE_AUCTIONS: { key: "auctions", kind: "bool" },
  LLMARKET_NODE_BATCH_MAX_LEAVES: { key: "batchMaxLeaves", kind: "int" },
  LLMARKET_NODE_BATCH_MAX_AGE: { key: "batchMaxAgeSeconds", kind: "number" },
  LLMARKET_NODE_DATA_DIR: { key: "dataDir", kind: "string" },
  LLMARKET_NODE_LISTEN: { key: "listen", kind: "string" },
  LLMARKET_NODE_PUBLIC_URL: { key: "publicUrl", kind: "string" },
  LLMARKET_NODE_POLL_MS: { key: "pollMs", kind: "int" },
  LLMARKET_NODE_FAULT: { key: "fault", kind: "string" },
  LLMARKET_NODE_REGISTER: { key: "register", kind: "bool" },
  LLMARKET_NODE_STAKE: { key: "stake", kind: "string" },
  LLMARKET_NODE_LOG_LEVEL: { key: "logLevel", kind: "string" },
  LLMARKET_NODE_DURABILITY: { key: "durability", kind: "string" },
};

function convert(flag: string, kind: string, value: string): unknown {
  if (kind === "int" || kind === "number") {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new ConfigError(`${flag} must be a number, got "${value}".`);
    return n;
  }
  if (kind === "bool") return /^(1|true|yes|on)$/i.test(value);
  return value;
}

/** `path.gguf:123` → {source, pricePerToken}; the price is after the last colon. */
export function parseModelArg(arg: string): { source: string; pricePerToken: string } {
  const i = arg.lastIndexOf(":");
  if (i <= 0 || !/^\d+$/.test(arg.slice(i + 1))) {
    throw new ConfigError(`--model "${arg}" must be <path.gguf or 0xModelId>:<pricePerTokenWei>, e.g. tiny.gguf:1000.`);
  }
  return { source: arg.slice(0, i), pricePerToken: arg.slice(i + 1) };
}

/** `wrong-output:0.2` → {kind, probability}. */
export function parseFault(arg: string): FaultSpec {
  const m = /^wrong-output:(\d*\.?\d+)$/.exec(arg);
  if (!m) throw new ConfigError(`--fault "${arg}" must be wrong-output:<probability 0..1>.`);
  return { kind: "wrong-output", probability: Number(m[1]) };
}

/** Parses argv (after `node start`), the environment and the config file into a validated config. */
export function loadNodeConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const flags: Raw = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const bool = BOOL_FLAGS[name];
    if (bool) {
      flags[bool[0]] = bool[1];
      continue;
    }
    const spec = FLAG_KEYS[name];
    if (!spec) throw new ConfigError(`Unknown option "${a}": see llmarket node start --help.`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value.`);
    if (spec.kind === "list") ((flags[spec.key] ??= []) as string[]).push(value);
    else flags[spec.key] = convert(name, spec.kind, value);
  }
  const fromEnv: Raw = {};
  for (const [k, spec] of Object.entries(ENV_KEYS)) {
    const v = env[k];
    if (v === undefined || v === "") continue;
    fromEnv[spec.key] = spec.kind === "list" ? v.split(",").filter(Boolean) : convert(k, spec.kind, v);
  }
  let fromFile: Raw = {};
  const configPath = (flags.config ?? env.LLMARKET_NODE_CONFIG) as string | undefined;
  if (configPath) {
    try {
      fromFile = JSON.parse(readFileSync(configPath, "utf8")) as Raw;
    } catch (cause) {
      throw new ConfigError(`Cannot read the config file ${configPath}: it must exist and be JSON.`, { cause });
    }
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile))
      throw new ConfigError(`Config file ${configPath} must hold a JSON object.`);
  }
  delete flags.config;
  const merged: Raw = { ...DEFAULTS, ...fromFile, ...fromEnv, ...flags };
  // Normalise models ("path:price" strings or objects) and the fault switch.
  if (Array.isArray(merged.models)) {
    merged.models = (merged.models as unknown[]).map((m) => (typeof m === "string" ? parseModelArg(m) : m));
  } else if (merged.models === undefined) merged.models = [];
  if (typeof merged.fault === "string") merged.fault = parseFault(merged.fault);
  const parsed = nodeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid node configuration: ${parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ")}. See --help.`,
    );
  }
  return parsed.data;
}

/** The config as safe to log (no secrets are in it; paths only). */
export function describeConfig(c: NodeConfig): Record<string, unknown> {
  return {
    ...c,
    models: c.models.map((m) => ({ source: m.source, pricePerToken: String(m.pricePerToken) })),
    costPerToken: String(c.costPerToken),
    stake: c.stake === undefined ? undefined : String(c.stake),
  };
}
