/**
 * `llmarket node start [options]`: runs the provider node agent (agents/node/NodeAgent.ts) until
 * SIGTERM or SIGINT, then drains in-flight work and closes the store.
 */
import { LLMarketError } from "../../lib/errors.ts";
import type { NodeAgent } from "../../node/NodeAgent.ts";
import { NODE_HELP, loadNodeConfig } from "../../node/NodeConfig.ts";

export const summary = "run a provider node agent (llmarket node start --help)";
export const help = NODE_HELP;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || rest.includes("--help") || rest.includes("-h")) {
    console.log(NODE_HELP);
    return 0;
  }
  if (sub !== "start") {
    console.error(`llmarket node: unknown subcommand "${sub}" (try: start)`);
    return 2;
  }
  let agent: NodeAgent;
  try {
    const config = loadNodeConfig(rest);
    // Loaded only to run (node:sqlite prints an experimental warning when imported).
    const { NodeAgent: Agent } = await import("../../node/NodeAgent.ts");
    agent = await Agent.start(config);
  } catch (e) {
    if (e instanceof LLMarketError) {
      console.error(`llmarket node: ${e.message}`);
      return 1;
    }
    throw e;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      agent.log("info", `${signal}: draining`);
      agent.stop().then(
        () => resolve(0),
        (e: unknown) => {
          console.error(`llmarket node: stop failed: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
