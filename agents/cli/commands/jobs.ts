/** `llmarket jobs`: your auction jobs, or one job (with its verified output when delivered). */
import { CONFIG_HELP, createMarket, resolveConfig } from "../../sdk/config.ts";
import { Auction } from "../../sdk/Auction.ts";
import { parseCommand, runCommand, toJson, tokens } from "../../sdk/cliSupport.ts";

export const summary = "list your auction jobs";
export const help = `Usage: llmarket jobs [--job <id>] [--output]

Options:
  --job <id>   show one job
  --output     with --job: fetch the winner's output and check it against the on-chain delivery
  --json       machine-readable output
  -h, --help   this help

${CONFIG_HELP}`;

export function run(argv: string[]): Promise<number> {
  return runCommand(help, argv, async () => {
    const { values } = parseCommand(argv, { job: { type: "string" }, output: { type: "boolean" } });
    const market = await createMarket(resolveConfig(values));
    const auction = new Auction(market);
    if (values.job) {
      const id = BigInt(values.job as string);
      const job = await auction.job(id);
      const output = values.output ? await auction.verifiedOutput(id) : undefined;
      if (values.json) console.log(toJson({ job, output }));
      else {
        console.log(
          `job ${id}: ${job.phase} (${job.status}), bids ${job.bidCount}, best ${job.best}, reserve ${tokens(job.reservePricePerToken)}/token`,
        );
        if (output) console.log(output.text);
      }
      return 0;
    }
    const jobs = await auction.myJobs();
    if (values.json) console.log(toJson({ jobs }));
    else if (jobs.length === 0) console.log("no auction jobs posted by this account");
    else
      for (const j of jobs)
        console.log(
          `${String(j.jobId).padEnd(5)} ${j.phase.padEnd(16)} ${j.status.padEnd(10)} bids=${j.bidCount} maxTokens=${j.maxTokens} model=${j.model}`,
        );
    return 0;
  });
}
