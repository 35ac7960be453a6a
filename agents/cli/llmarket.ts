#!/usr/bin/env node
/**
 * `llmarket <command> [...]`: one entry point for every LLMarket command. Each command lives in
 * agents/cli/commands/<name>.ts and exports `summary`, `help` and `run(argv): Promise<number>`.
 */
const COMMANDS: Record<string, { module: string; summary: string }> = {
  node: { module: "./commands/node.ts", summary: "run a provider node agent (llmarket node start --help)" },
  validator: { module: "./commands/validator.ts", summary: "run a validator agent (llmarket validator start --help)" },
  ask: { module: "./commands/ask.ts", summary: "buy one completion: direct request or auction" },
  deposit: { module: "./commands/deposit.ts", summary: "reserve escrow for a node" },
  withdraw: { module: "./commands/withdraw.ts", summary: "start or complete an escrow withdrawal" },
  jobs: { module: "./commands/jobs.ts", summary: "list your auction jobs" },
  nodes: { module: "./commands/nodes.ts", summary: "list ranked nodes from the indexer" },
  gateway: { module: "./commands/gateway.ts", summary: "serve an OpenAI-compatible API that buys from the market" },
  model: { module: "./commands/model.ts", summary: "generate or inspect GGUF models (llmarket model make --help)" },
};

type CommandModule = { run: (argv: string[]) => Promise<number> };

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    "Usage: llmarket <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`),
    "",
    "Run `llmarket <command> --help` for a command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`llmarket: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = (await import(entry.module)) as CommandModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && String(err).includes(entry.module.slice(2))) {
      console.error(`llmarket: the "${name}" command is not available in this build.`);
      return 2;
    }
    throw err;
  }
  return mod.run(rest);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/llmarket")) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`llmarket: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
