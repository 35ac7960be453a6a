/**
 * `llmarket validator start [...]`: runs the validator agent until SIGINT/SIGTERM.
 * `llmarket validator receipt --file F [...]`: submits an equivocation proof from a node receipt.
 */
import { readFileSync } from "node:fs";
import { ConfigError, LLMarketError } from "../../lib/errors.ts";
import { helpText, loadValidatorConfig, parseFlags, redactedConfig } from "../../validator/ValidatorConfig.ts";
import { Validator, jsonLogger } from "../../validator/Validator.ts";
import { receiptSubmissionSchema } from "../../validator/ValidatorServer.ts";

export const summary = "run a validator agent (llmarket validator start --help)";
export const help = helpText();

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || rest.includes("--help") || rest.includes("-h")) {
    console.log(help);
    return 0;
  }
  if (sub !== "start" && sub !== "receipt") {
    console.error(`llmarket validator: unknown subcommand "${sub}" (try: start, receipt)`);
    return 2;
  }
  const log = jsonLogger();
  let fileArg: string | undefined;
  const args = [...rest];
  const fi = args.indexOf("--file");
  if (fi >= 0) {
    fileArg = args[fi + 1];
    args.splice(fi, 2);
  }
  let config;
  try {
    const { values, rest: unknown } = parseFlags(args);
    if (unknown.length > 0)
      throw new ConfigError(`unknown option(s): ${unknown.join(" ")} (see llmarket validator start --help)`);
    config = loadValidatorConfig(values);
  } catch (e) {
    console.error(`llmarket validator: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  log("config", redactedConfig(config));
  let v: Validator;
  try {
    v = await Validator.create(config, { log });
  } catch (e) {
    console.error(`llmarket validator: ${e instanceof LLMarketError ? e.message : String(e)}`);
    return e instanceof LLMarketError ? 2 : 1;
  }
  if (sub === "receipt") {
    try {
      if (!fileArg) throw new ConfigError("receipt needs --file RECEIPT.json");
      const parsed = receiptSubmissionSchema.safeParse(JSON.parse(readFileSync(fileArg, "utf8")));
      if (!parsed.success)
        throw new ConfigError(
          `${fileArg}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        );
      const out = await v.submitReceipt(parsed.data);
      console.log(
        JSON.stringify({ proven: true, batchId: out.batchId.toString(), leafIndex: out.leafIndex, tx: out.tx }),
      );
      return 0;
    } catch (e) {
      console.error(`llmarket validator receipt: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    } finally {
      await v.stop();
    }
  }
  await v.start();
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  log("stopping");
  await v.stop();
  return 0;
}
