/**
 * Shared plumbing of the requester CLI commands (agents/cli/commands/{ask,deposit,withdraw,jobs,
 * nodes,gateway}.ts): argument parsing with the configuration flags, `--json` output, amounts in
 * tokens, and errors printed as one line saying what to do (exit 1; 2 for usage errors).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { formatUnits } from "viem";
import { LLMarketError } from "../lib/errors.ts";
import { CONFIG_OPTIONS } from "./config.ts";

export type Parsed = { values: Record<string, unknown>; positionals: string[] };

/** Parses argv with the command's options plus the configuration flags, --json and --help. */
export function parseCommand(argv: string[], options: ParseArgsConfig["options"]): Parsed {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CONFIG_OPTIONS, ...options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  return { values: values as Record<string, unknown>, positionals };
}

/** Formats token wei with 18 decimals. */
export const tokens = (wei: bigint): string => formatUnits(wei, 18);

/** JSON with bigints as decimal strings. */
export const toJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2);

/** Runs a command body, printing errors the way every command does. */
export async function runCommand(help: string, argv: string[], body: () => Promise<number>): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(help);
    return 0;
  }
  try {
    return await body();
  } catch (err) {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${err.message}\n\n${help}`);
      return 2;
    }
    const json = argv.includes("--json");
    if (json) {
      const e = err as LLMarketError;
      console.log(
        toJson({ error: { name: e.name, message: e.message, details: e instanceof LLMarketError ? e.details : {} } }),
      );
    } else console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/** Progress on stderr (never in --json's stdout). */
export const progress = (msg: string): void => void process.stderr.write(`${msg}\n`);
