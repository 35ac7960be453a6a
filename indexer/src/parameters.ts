/** ParameterChanged of every governed contract -> parameter, parameter_change. */
import { ponder } from "ponder:registry";
import { parameter, parameterChange } from "ponder:schema";
import type { Hex } from "viem";
import { isDeployed } from "../indexerEnv.ts";
import { meta, parameterName, type Db } from "../lib/store.ts";

type ParameterEvent = {
  id: string;
  args: { name: Hex; oldValue: bigint; newValue: bigint };
  log: { address: Hex };
  block: { number: bigint; timestamp: bigint };
  transaction: { hash: Hex };
};

async function record(db: Db, contract: string, event: ParameterEvent): Promise<void> {
  const name = parameterName(event.args.name);
  const fields = {
    value: event.args.newValue,
    address: event.log.address,
    updatedBlock: event.block.number,
    updatedAt: event.block.timestamp,
  };
  await db
    .insert(parameter)
    .values({ contract, name, ...fields })
    .onConflictDoUpdate(fields);
  await db.insert(parameterChange).values({
    id: event.id,
    contract,
    name,
    oldValue: event.args.oldValue,
    newValue: event.args.newValue,
    ...meta(event),
  });
}

ponder.on("ModelRegistry:ParameterChanged", ({ event, context }) => record(context.db, "ModelRegistry", event));
ponder.on("Staking:ParameterChanged", ({ event, context }) => record(context.db, "Staking", event));
ponder.on("NodeRegistry:ParameterChanged", ({ event, context }) => record(context.db, "NodeRegistry", event));
if (isDeployed("PairEscrow")) {
  ponder.on("PairEscrow:ParameterChanged", ({ event, context }) => record(context.db, "PairEscrow", event));
}
for (const name of [
  "AuctionMarket",
  "BatchSettlement",
  "ChallengeGame",
  "Committee",
  "RewardPool",
  "ValidatorRewards",
] as const) {
  if (isDeployed(name)) {
    ponder.on(`${name}:ParameterChanged`, ({ event, context }) => record(context.db, name, event));
  }
}
