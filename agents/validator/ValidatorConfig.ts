/**
 * Validator configuration: flags > environment (LLMARKET_VALIDATOR_*) > JSON config file > defaults,
 * validated with zod. The private key comes from `--key-file` or LLMARKET_VALIDATOR_KEY and is
 * never logged (`redactedConfig`).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import type { Hex } from "viem";
import { ConfigError } from "../lib/errors.ts";

const hexKey = z
  .string()
  .trim()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be a 32-byte hex private key")
  .transform((k) => (k.startsWith("0x") ? k : `0x${k}`) as Hex);
const probability = z.coerce.number().min(0).max(1);
const listen = z
  .string()
  .regex(/^[^:]+:\d{1,5}$/, "must be host:port (port 0 picks a free one)")
  .transform((s) => {
    const i = s.lastIndexOf(":");
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });

/** Test-only dishonesty (`--fault false-challenge:P`): dev chains 31337/1337 only (checked at start). */
export const faultSchema = z
  .string()
  .regex(/^false-challenge:(0(\.\d+)?|1(\.0+)?)$/, "must be false-challenge:<probability 0..1>")
  .transform((s) => ({ kind: "false-challenge" as const, probability: Number(s.slice(s.indexOf(":") + 1)) }));
export type ValidatorFault = z.infer<typeof faultSchema>;

export const validatorConfigSchema = z
  .object({
    rpcUrl: z.string().url().default("http://127.0.0.1:8545"),
    deployments: z.string().optional(),
    key: hexKey,
    models: z.array(z.string().min(1)).default([]),
    sampleP: probability.default(0.05),
    sampleFloor: probability.default(0.02),
    newNodeBoost: probability.default(0.5),
    historyHalfLife: z.coerce.number().positive().default(200),
    dataDir: z.string().default(".llmarket/validator"),
    listen: listen.default("127.0.0.1:9464"),
    declare: z.coerce.boolean().default(false),
    stake: z.coerce.number().positive().optional(),
    pollMs: z.coerce.number().int().min(50).max(60_000).default(500),
    fetchRetries: z.coerce.number().int().min(0).max(20).default(3),
    fetchTimeoutMs: z.coerce.number().int().min(100).max(120_000).default(5_000),
    revealDelaySeconds: z.coerce.number().int().min(0).max(86_400).default(0),
    withdrawEverySeconds: z.coerce.number().int().min(1).default(60),
    rescoreThreads: z.coerce.number().int().min(1).max(256).default(1),
    fromBlock: z.coerce.number().int().nonnegative().optional(),
    fault: faultSchema.optional(),
  })
  .refine((c) => c.sampleP >= c.sampleFloor, {
    message: "sampleP must be at least sampleFloor",
    path: ["sampleP"],
  });
export type ValidatorConfig = z.infer<typeof validatorConfigSchema>;

type FlagSpec = {
  key: keyof ValidatorConfig | "keyFile" | "config";
  kind: "string" | "number" | "bool" | "list";
  env: string;
  help: string;
  def?: string;
};

/** Every flag, its environment variable and its meaning; `--help` prints this table. */
export const FLAGS: Record<string, FlagSpec> = {
  "--config": {
    key: "config",
    kind: "string",
    env: "LLMARKET_VALIDATOR_CONFIG",
    help: "JSON config file (same keys as the camelCase flag names)",
  },
  "--rpc-url": {
    key: "rpcUrl",
    kind: "string",
    env: "LLMARKET_RPC_URL",
    help: "JSON-RPC endpoint of the chain",
    def: "http://127.0.0.1:8545",
  },
  "--deployments": {
    key: "deployments",
    kind: "string",
    env: "LLMARKET_DEPLOYMENTS",
    help: "deployments file",
    def: "deployments/<chainId>.json",
  },
  "--key-file": {
    key: "keyFile",
    kind: "string",
    env: "LLMARKET_VALIDATOR_KEY_FILE",
    help: "file holding the validator's private key (or set LLMARKET_VALIDATOR_KEY; never logged)",
  },
  "--model": {
    key: "models",
    kind: "list",
    env: "LLMARKET_VALIDATOR_MODELS",
    help: "GGUF file this validator can verify (repeatable; env: comma-separated)",
  },
  "--sample-p": {
    key: "sampleP",
    kind: "number",
    env: "LLMARKET_VALIDATOR_SAMPLE_P",
    help: "base probability of checking a committed leaf",
    def: "0.05",
  },
  "--sample-floor": {
    key: "sampleFloor",
    kind: "number",
    env: "LLMARKET_VALIDATOR_SAMPLE_FLOOR",
    help: "probability never undercut, whatever the node's history or reputation",
    def: "0.02",
  },
  "--new-node-boost": {
    key: "newNodeBoost",
    kind: "number",
    env: "LLMARKET_VALIDATOR_NEW_NODE_BOOST",
    help: "extra probability for a node with no history (halves every --history-half-life leaves)",
    def: "0.5",
  },
  "--history-half-life": {
    key: "historyHalfLife",
    kind: "number",
    env: "LLMARKET_VALIDATOR_HISTORY_HALF_LIFE",
    help: "leaves of a node seen before its boost halves",
    def: "200",
  },
  "--data-dir": {
    key: "dataDir",
    kind: "string",
    env: "LLMARKET_VALIDATOR_DATA_DIR",
    help: "directory of the durable store (validator.sqlite)",
    def: ".llmarket/validator",
  },
  "--listen": {
    key: "listen",
    kind: "string",
    env: "LLMARKET_VALIDATOR_LISTEN",
    help: "host:port of /health, /metrics and POST /v1/receipts",
    def: "127.0.0.1:9464",
  },
  "--declare": {
    key: "declare",
    kind: "bool",
    env: "LLMARKET_VALIDATOR_DECLARE",
    help: "dev chains: top up stake (test-token faucet) and declare the models at start",
  },
  "--stake": {
    key: "stake",
    kind: "number",
    env: "LLMARKET_VALIDATOR_STAKE",
    help: "with --declare: stake up to this many tokens",
    def: "minValidatorStake",
  },
  "--poll-ms": {
    key: "pollMs",
    kind: "number",
    env: "LLMARKET_VALIDATOR_POLL_MS",
    help: "chain polling interval",
    def: "500",
  },
  "--fetch-retries": {
    key: "fetchRetries",
    kind: "number",
    env: "LLMARKET_VALIDATOR_FETCH_RETRIES",
    help: "retries of a leaf fetch before a data challenge",
    def: "3",
  },
  "--fetch-timeout-ms": {
    key: "fetchTimeoutMs",
    kind: "number",
    env: "LLMARKET_VALIDATOR_FETCH_TIMEOUT_MS",
    help: "timeout of one request to a node",
    def: "5000",
  },
  "--reveal-delay-seconds": {
    key: "revealDelaySeconds",
    kind: "number",
    env: "LLMARKET_VALIDATOR_REVEAL_DELAY_SECONDS",
    help: "chain seconds between a challenge commit and its reveal (stays inside the reveal period)",
    def: "0",
  },
  "--withdraw-every-seconds": {
    key: "withdrawEverySeconds",
    kind: "number",
    env: "LLMARKET_VALIDATOR_WITHDRAW_EVERY_SECONDS",
    help: "how often bond credits are withdrawn",
    def: "60",
  },
  "--rescore-threads": {
    key: "rescoreThreads",
    kind: "number",
    env: "LLMARKET_VALIDATOR_RESCORE_THREADS",
    help: "llama.cpp threads for teacher-forced re-scoring",
    def: "1",
  },
  "--from-block": {
    key: "fromBlock",
    kind: "number",
    env: "LLMARKET_VALIDATOR_FROM_BLOCK",
    help: "first block to scan on a fresh store",
    def: "deployment block",
  },
  "--fault": {
    key: "fault",
    kind: "string",
    env: "LLMARKET_VALIDATOR_FAULT",
    help: "false-challenge:P = test-only dishonest challenger: a share P of leaves that pass are challenged anyway (refused except on dev chains 31337/1337)",
  },
};

export function helpText(): string {
  const rows = Object.entries(FLAGS).map(([flag, s]) => {
    const arg = s.kind === "bool" ? "" : s.kind === "list" ? " PATH" : " VALUE";
    return `  ${(flag + arg).padEnd(30)} ${s.help}${s.def ? ` (default ${s.def})` : ""}\n  ${"".padEnd(30)} env ${s.env}`;
  });
  return [
    "Usage: llmarket validator start [options]",
    "",
    "Samples committed leaves, re-executes them with llama.cpp, challenges bad ones, sits on",
    "dispute committees. Precedence: flags > environment > --config file > defaults.",
    "",
    ...rows,
    "  --help                         this text",
    "",
    "Other subcommands:",
    "  llmarket validator receipt --file RECEIPT.json [start options]",
    "      submit a node-signed receipt that contradicts a committed leaf (proveEquivocation).",
    "      File: { receipt: {ticket, output, tokens}, signature, node, batchId?, leafIndex? }",
  ].join("\n");
}

/** Parses argv into raw values (no defaults). Unknown flags are an error. */
export function parseFlags(argv: readonly string[]): { values: Record<string, unknown>; rest: string[] } {
  const values: Record<string, unknown> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      rest.push(a);
      continue;
    }
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const spec = FLAGS[name];
    if (!spec) {
      rest.push(a);
      if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) rest.push(argv[++i]!);
      continue;
    }
    if (spec.kind === "bool") {
      values[spec.key] = inline === undefined ? true : inline !== "false";
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new ConfigError(`${name} needs a value (see --help).`);
    if (spec.kind === "list") values[spec.key] = [...((values[spec.key] as string[] | undefined) ?? []), v];
    else values[spec.key] = v;
  }
  return { values, rest };
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of Object.values(FLAGS)) {
    const v = env[s.env];
    if (v === undefined || v === "") continue;
    out[s.key] =
      s.kind === "list"
        ? v
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
        : s.kind === "bool"
          ? v !== "false" && v !== "0"
          : v;
  }
  if (env.LLMARKET_VALIDATOR_KEY) out.key = env.LLMARKET_VALIDATOR_KEY;
  return out;
}

/** Builds the validated configuration from flags, environment and the config file. */
export function loadValidatorConfig(
  flagValues: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): ValidatorConfig {
  const envValues = fromEnv(env);
  const configPath = (flagValues.config ?? envValues.config) as string | undefined;
  let fileValues: Record<string, unknown> = {};
  if (configPath !== undefined) {
    if (!existsSync(configPath)) throw new ConfigError(`Config file ${configPath} does not exist.`);
    try {
      fileValues = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigError(`Config file ${configPath} is not valid JSON.`, { cause });
    }
    if (typeof fileValues.listen === "object" && fileValues.listen !== null) {
      const l = fileValues.listen as { host?: string; port?: number };
      fileValues.listen = `${l.host ?? "127.0.0.1"}:${l.port ?? 9464}`;
    }
  }
  const merged: Record<string, unknown> = { ...fileValues, ...envValues, ...flagValues };
  const readKey = (path: string): string => {
    if (!existsSync(path)) throw new ConfigError(`Key file ${path} does not exist.`);
    return readFileSync(path, "utf8").trim();
  };
  // Key precedence: --key-file, LLMARKET_VALIDATOR_KEY, LLMARKET_VALIDATOR_KEY_FILE, the file's key or keyFile.
  const key =
    flagValues.keyFile !== undefined
      ? readKey(flagValues.keyFile as string)
      : envValues.key !== undefined
        ? (envValues.key as string)
        : envValues.keyFile !== undefined
          ? readKey(envValues.keyFile as string)
          : fileValues.key !== undefined
            ? (fileValues.key as string)
            : fileValues.keyFile !== undefined
              ? readKey(fileValues.keyFile as string)
              : undefined;
  merged.key = key;
  delete merged.keyFile;
  delete merged.config;
  if (merged.key === undefined) {
    throw new ConfigError("No validator key: pass --key-file FILE or set LLMARKET_VALIDATOR_KEY.");
  }
  const parsed = validatorConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ");
    throw new ConfigError(`Invalid validator configuration: ${issues} (see llmarket validator start --help).`);
  }
  const c = parsed.data;
  return { ...c, models: c.models.map((m) => resolve(m)), dataDir: resolve(c.dataDir) };
}

/** The configuration without secrets, for logs and /health. */
export function redactedConfig(c: ValidatorConfig): Record<string, unknown> {
  const { key: _key, ...rest } = c;
  return { ...rest, key: "<redacted>" };
}
