/** `llmarket ask "prompt" --model …`: buy one completion, by direct request (default) or auction. */
import type { Hex } from "viem";
import { CONFIG_HELP, createMarket, parseTokens, resolveConfig } from "../../sdk/config.ts";
import { Auction } from "../../sdk/Auction.ts";
import { parseCommand, progress, runCommand, toJson, tokens } from "../../sdk/cliSupport.ts";

export const summary = "buy one completion: direct request or auction";
export const help = `Usage: llmarket ask "<prompt>" --model <id> [options]

Direct request (default): picks nodes (indexer rank + measured round trip), signs a ticket,
streams the answer as it comes, verifies output hash and receipt, then pays by voucher.
A node that fails is replaced by the next one. --auction posts a sealed-bid job instead and
waits for the verified delivery.

Options:
  --model <id>          model id (0x + 64 hex) or the name nodes list in /v1/models
  --max-tokens <n>      default 64
  --max-price <tok>     max price per token (direct) / reserve price (auction), e.g. 0.001 or 1000wei
  --min-reputation <f>  in [0, 1]
  --max-latency <ms>    latency SLA
  --system <text>       a system message
  --raw                 send the prompt as raw completion (no chat template)
  --stop <s>            stop string (repeatable)
  --seed <n>            sampler seed (default 0)
  --no-stream           print the answer once verified instead of streaming it (streaming,
                        --stream, is the default except with --json)
  --auction             post an auction job (--commit 30 --reveal 30 --delivery 300 seconds)
  --json                machine-readable result (receipt, cost, attempts)
  -h, --help            this help

${CONFIG_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand(help, argv, async () => {
    const { values, positionals } = parseCommand(argv, {
      model: { type: "string" },
      "max-tokens": { type: "string" },
      "max-price": { type: "string" },
      "min-reputation": { type: "string" },
      "max-latency": { type: "string" },
      system: { type: "string" },
      raw: { type: "boolean" },
      stop: { type: "string", multiple: true },
      seed: { type: "string" },
      stream: { type: "boolean" },
      "no-stream": { type: "boolean" },
      auction: { type: "boolean" },
      commit: { type: "string" },
      reveal: { type: "string" },
      delivery: { type: "string" },
    });
    const prompt = positionals.join(" ");
    if (!prompt) throw new Error('Give the prompt: llmarket ask "…" --model <id>.');
    if (!values.model) throw new Error("--model is required (llmarket nodes lists models).");
    const model = values.model as string;
    const maxTokens = Number(values["max-tokens"] ?? 64);
    if (!Number.isInteger(maxTokens) || maxTokens <= 0) throw new Error("--max-tokens must be a positive integer.");
    const maxPrice = values["max-price"] ? parseTokens(values["max-price"] as string, "--max-price") : undefined;
    const messages = values.raw
      ? undefined
      : [
          ...(values.system ? [{ role: "system" as const, content: values.system as string }] : []),
          { role: "user" as const, content: prompt },
        ];
    const stop = (values.stop as string[] | undefined) ?? [];
    const seed = BigInt((values.seed as string | undefined) ?? 0);
    const json = Boolean(values.json);
    const market = await createMarket(resolveConfig(values), { needDiscovery: !values.auction });

    if (values.auction) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(model)) throw new Error("--auction needs the model id (0x + 64 hex digits).");
      if (maxPrice === undefined) throw new Error("--auction needs --max-price (the reserve price per token).");
      const auction = new Auction(market);
      const posted = await auction.post({
        model: model as Hex,
        messages,
        prompt: messages ? undefined : prompt,
        maxTokens,
        stop,
        seed,
        reservePricePerToken: maxPrice,
        minReputation: values["min-reputation"] !== undefined ? Number(values["min-reputation"]) : undefined,
        commitSeconds: Number(values.commit ?? 30),
        revealSeconds: Number(values.reveal ?? 30),
        deliverySeconds: Number(values.delivery ?? 300),
      });
      if (!json) progress(`posted job ${posted.jobId} (escrow ${tokens(posted.escrow)}); waiting for bids…`);
      const result = await auction.awaitResult(posted.jobId, {
        onProgress: (j) => {
          if (!json) progress(`job ${j.jobId}: ${j.phase} (${j.status}), ${j.bidCount} bid(s)`);
        },
      });
      if (json) console.log(toJson(result));
      else {
        console.log(result.text);
        progress(
          `job ${result.jobId} delivered by ${result.winner} at ${tokens(result.pricePerToken)}/token; output verified against the chain`,
        );
      }
      return 0;
    }

    const req = {
      model,
      messages,
      prompt: messages ? undefined : prompt,
      maxTokens,
      stop,
      seed,
      constraints: {
        maxPricePerToken: maxPrice,
        minReputation: values["min-reputation"] !== undefined ? Number(values["min-reputation"]) : undefined,
        maxLatencyMs: values["max-latency"] !== undefined ? Number(values["max-latency"]) : undefined,
      },
    };
    if (!values["no-stream"] && !json) {
      const s = market.stream(req);
      for await (const e of s) {
        if (e.type === "node") progress(`→ node ${e.node} (${e.endpoint}), ticket #${e.sequence}`);
        else if (e.type === "text") process.stdout.write(e.text);
        else if (e.type === "failover") progress(`\n[node ${e.from} failed: ${e.reason}]`);
        else if (e.type === "reset") process.stdout.write(`\n[restarted by another node]\n${e.text}`);
      }
      const r = await s.result;
      process.stdout.write("\n");
      progress(
        `${r.tokens.length} tokens from ${r.node}, cost ${tokens(r.cost)}; receipt verified, voucher ${r.voucher.accepted ? "accepted" : `not delivered (${r.voucher.error})`}`,
      );
      return 0;
    }
    const r = await market.complete(req);
    if (json) console.log(toJson(r));
    else {
      console.log(r.text);
      progress(`${r.tokens.length} tokens from ${r.node}, cost ${tokens(r.cost)}; receipt verified`);
    }
    return 0;
  });
}
