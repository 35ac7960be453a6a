/** `llmarket nodes --model 0x…`: the indexer's ranked nodes for a model, probed for round-trip time. */
import { CONFIG_HELP, parseTokens, resolveConfig } from "../../sdk/config.ts";
import { Discovery, IndexerClient } from "../../sdk/Discovery.ts";
import { parseCommand, runCommand, toJson, tokens } from "../../sdk/cliSupport.ts";

export const summary = "list ranked nodes from the indexer";
export const help = `Usage: llmarket nodes [--model <0x…id>] [options]

Without --model: the models the indexer knows, with how many nodes offer each.
With --model: the nodes offering it, ranked by the indexer and refined by measured round trip.

Options:
  --model <id>          model id (0x + 64 hex digits)
  --max-price <tok>     max price per token, in tokens (e.g. 0.002) or wei (1500wei)
  --min-reputation <f>  min reputation in [0, 1] (0.5 = neutral)
  --max-latency <ms>    latency SLA (advertised and measured)
  --json                machine-readable output
  -h, --help            this help

${CONFIG_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand(help, argv, async () => {
    const { values } = parseCommand(argv, {
      model: { type: "string" },
      "max-price": { type: "string" },
      "min-reputation": { type: "string" },
      "max-latency": { type: "string" },
    });
    const cfg = resolveConfig(values);
    if (!values.model) {
      if (!cfg.indexerUrl)
        throw new Error("Listing models needs the indexer: pass --indexer or set LLMARKET_INDEXER_URL.");
      const models = await new IndexerClient(cfg.indexerUrl).models();
      if (values.json) console.log(toJson({ models }));
      else for (const m of models) console.log(`${m.id}  nodes=${m.nodes ?? 0}  ${m.uri ?? ""}`);
      return 0;
    }
    const discovery = new Discovery({ indexerUrl: cfg.indexerUrl, nodes: cfg.nodes.map((endpoint) => ({ endpoint })) });
    const cands = await discovery.candidates(values.model as string, {
      maxPricePerToken: values["max-price"] ? parseTokens(values["max-price"] as string, "--max-price") : undefined,
      minReputation: values["min-reputation"] !== undefined ? Number(values["min-reputation"]) : undefined,
      maxLatencyMs: values["max-latency"] !== undefined ? Number(values["max-latency"]) : undefined,
    });
    if (values.json) console.log(toJson({ nodes: cands }));
    else {
      console.log("rank  node                                        price/token  score   rtt ms  endpoint");
      cands.forEach((c, i) =>
        console.log(
          `${String(i + 1).padEnd(4)}  ${c.address}  ${tokens(c.pricePerToken).padEnd(11)}  ${c.score.toFixed(3)}  ${c.rttMs.toFixed(1).padStart(6)}  ${c.endpoint}`,
        ),
      );
    }
    return 0;
  });
}
