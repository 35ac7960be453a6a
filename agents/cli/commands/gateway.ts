/** `llmarket gateway`: an OpenAI-compatible server on 127.0.0.1 that buys each request from the market. */
import { CONFIG_HELP, createMarket, parseTokens, resolveConfig } from "../../sdk/config.ts";
import { startGateway } from "../../sdk/gateway.ts";
import { parseCommand, runCommand, toJson } from "../../sdk/cliSupport.ts";

export const summary = "serve an OpenAI-compatible API that buys from the market";
export const help = `Usage: llmarket gateway [--port 8080] [options]

Serves /v1/models, /v1/chat/completions and /v1/completions (streaming and not) on 127.0.0.1.
Point any OpenAI client at http://127.0.0.1:<port>/v1 (any API key unless --api-key is set).

Options:
  --port <n>             default 8080 (0 = any free port)
  --api-key <key>        require "Authorization: Bearer <key>"   (env LLMARKET_GATEWAY_KEY)
  --max-tokens <n>       default and cap for max_tokens (default 256)
  --max-price <tok>      max price per token
  --min-reputation <f>   in [0, 1]
  --max-latency <ms>     latency SLA
  --model <id>           a model to list in /v1/models (repeatable)
  --json                 print the listening URL as JSON
  -h, --help             this help

${CONFIG_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand(help, argv, async () => {
    const { values } = parseCommand(argv, {
      port: { type: "string" },
      "api-key": { type: "string" },
      "max-tokens": { type: "string" },
      "max-price": { type: "string" },
      "min-reputation": { type: "string" },
      "max-latency": { type: "string" },
      model: { type: "string", multiple: true },
    });
    const market = await createMarket(resolveConfig(values), { needDiscovery: true });
    const gw = await startGateway({
      market,
      port: Number(values.port ?? 8080),
      apiKey: (values["api-key"] as string | undefined) ?? process.env.LLMARKET_GATEWAY_KEY,
      defaultMaxTokens: values["max-tokens"] ? Number(values["max-tokens"]) : undefined,
      models: values.model as string[] | undefined,
      constraints: {
        maxPricePerToken: values["max-price"] ? parseTokens(values["max-price"] as string, "--max-price") : undefined,
        minReputation: values["min-reputation"] !== undefined ? Number(values["min-reputation"]) : undefined,
        maxLatencyMs: values["max-latency"] !== undefined ? Number(values["max-latency"]) : undefined,
      },
    });
    if (values.json) console.log(toJson({ url: gw.url, port: gw.port, requester: gw.requester }));
    else console.log(`gateway listening on ${gw.url}/v1 (requester ${gw.requester}); Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = (): void => void gw.close().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return 0;
  });
}
