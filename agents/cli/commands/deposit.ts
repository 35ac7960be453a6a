/** `llmarket deposit`: reserve escrow for a node, or for the top candidates of a model. */
import type { Address } from "viem";
import { CONFIG_HELP, createMarket, parseTokens, resolveConfig } from "../../sdk/config.ts";
import { parseCommand, progress, runCommand, toJson, tokens } from "../../sdk/cliSupport.ts";

export const summary = "reserve escrow for a node";
export const help = `Usage: llmarket deposit --amount <tok> (--node-address <0x…> | --model <0x…id> [--count 3])

Deposits escrow into the (you, node) pair. With --model, tops up the top --count candidates
to --amount each (pre-reserving, so fail-over needs no transaction).

Options:
  --amount <tok>     amount in tokens (e.g. 10) or wei (1000wei); per node with --model
  --node-address <a> the node's address (alias: --to)
  --to <a>           same as --node-address
  --model <id>       reserve with the top candidates for this model (needs --indexer or --node)
  --count <n>        how many candidates with --model (default 3)
  --json             machine-readable output
  -h, --help         this help

${CONFIG_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand(help, argv, async () => {
    const { values } = parseCommand(argv, {
      amount: { type: "string" },
      "node-address": { type: "string" },
      to: { type: "string" },
      model: { type: "string" },
      count: { type: "string" },
    });
    if (!values.amount) throw new Error("--amount is required (see --help).");
    const amount = parseTokens(values.amount as string, "--amount");
    const target = (values["node-address"] ?? values.to) as Address | undefined;
    const market = await createMarket(resolveConfig(values), { needDiscovery: !target });
    if (target) {
      if (!values.json) progress(`depositing ${tokens(amount)} for ${target}…`);
      const hash = await market.deposit(target, amount);
      const pair = await market.pair(target);
      if (values.json) console.log(toJson({ node: target, deposited: amount, hash, pair }));
      else
        console.log(
          `deposited ${tokens(amount)} for ${target} (tx ${hash}); pair balance ${tokens(pair.balance)}, available ${tokens(pair.available)}`,
        );
      return 0;
    }
    if (!values.model) throw new Error("Give --node-address <address> or --model <id>.");
    if (!values.json) progress(`reserving ${tokens(amount)} with the top candidates for ${values.model}…`);
    const out = await market.reserve(values.model as string, amount, { count: Number(values.count ?? 3) });
    if (values.json) console.log(toJson({ reserved: out }));
    else for (const r of out) console.log(`${r.node}  deposited ${tokens(r.deposited)}  ${r.endpoint}`);
    return 0;
  });
}
