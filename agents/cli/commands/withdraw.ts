/** `llmarket withdraw`: start a withdrawal thaw, show it, or complete it after the thaw period. */
import type { Address } from "viem";
import { CONFIG_HELP, createMarket, parseTokens, resolveConfig } from "../../sdk/config.ts";
import { parseCommand, runCommand, toJson, tokens } from "../../sdk/cliSupport.ts";

export const summary = "start or complete an escrow withdrawal";
export const help = `Usage: llmarket withdraw --node-address <0x…> [--amount <tok>] | --complete | --status

Escrow leaves a pair in two steps: a thaw (no cancel; longer than a ticket lives plus the
settlement stages), then completion.

Options:
  --node-address <a>  the node of the pair (alias: --from)
  --amount <tok>      amount to thaw (default: the whole non-thawing balance)
  --complete          complete the thawed withdrawal
  --status            show the pair and its thaw
  --json              machine-readable output
  -h, --help          this help

${CONFIG_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand(help, argv, async () => {
    const { values } = parseCommand(argv, {
      "node-address": { type: "string" },
      from: { type: "string" },
      amount: { type: "string" },
      complete: { type: "boolean" },
      status: { type: "boolean" },
    });
    const node = (values["node-address"] ?? values.from) as Address | undefined;
    if (!node) throw new Error("--node-address is required (see --help).");
    const market = await createMarket(resolveConfig(values));
    if (values.status) {
      const p = await market.pair(node);
      if (values.json) console.log(toJson(p));
      else
        console.log(
          `pair with ${node}: balance ${tokens(p.balance)}, thawing ${tokens(p.thawing)}${p.thawing ? ` until ${new Date(Number(p.thawEndsAt) * 1000).toISOString()}` : ""}, paid ${tokens(p.paid)}, owed ${tokens(p.owed)}`,
        );
      return 0;
    }
    if (values.complete) {
      const r = await market.completeWithdraw(node);
      if (values.json) console.log(toJson(r));
      else console.log(`withdrew ${tokens(r.amount)} from the pair with ${node} (tx ${r.hash})`);
      return 0;
    }
    const r = await market.requestWithdraw(
      node,
      values.amount ? parseTokens(values.amount as string, "--amount") : undefined,
    );
    if (values.json) console.log(toJson(r));
    else
      console.log(
        `thawing ${tokens(r.amount)} until ${new Date(Number(r.endsAt) * 1000).toISOString()}; then run: llmarket withdraw --node-address ${node} --complete`,
      );
    return 0;
  });
}
