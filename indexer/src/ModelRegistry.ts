/** ModelRegistry events -> model. */
import { ponder } from "ponder:registry";
import { model } from "ponder:schema";
import { zeroAddress } from "viem";
import { updateMarket } from "../lib/store.ts";

ponder.on("ModelRegistry:ModelRegistered", async ({ event, context }) => {
  const { modelId, owner, uri, metadata, royaltyPerToken } = event.args;
  await context.db.insert(model).values({
    id: modelId,
    owner,
    pendingOwner: null,
    uri,
    family: metadata.family,
    parameterCount: metadata.parameterCount,
    quantization: metadata.quantization,
    contextLength: metadata.contextLength,
    minMemoryMb: metadata.minMemoryMb,
    defaultProfileHash: metadata.defaultProfileHash,
    royaltyPerToken,
    deprecated: false,
    registeredAt: event.block.timestamp,
    registeredBlock: event.block.number,
  });
  await updateMarket(context.db, event, (m) => ({ models: m.models + 1, activeModels: m.activeModels + 1 }));
});

ponder.on("ModelRegistry:ModelUriUpdated", async ({ event, context }) => {
  await context.db.update(model, { id: event.args.modelId }).set({ uri: event.args.uri });
});

ponder.on("ModelRegistry:ModelDeprecated", async ({ event, context }) => {
  await context.db.update(model, { id: event.args.modelId }).set({ deprecated: true });
  await updateMarket(context.db, event, (m) => ({ activeModels: m.activeModels - 1 }));
});

ponder.on("ModelRegistry:ModelOwnershipTransferStarted", async ({ event, context }) => {
  const { modelId, pendingOwner } = event.args;
  await context.db
    .update(model, { id: modelId })
    .set({ pendingOwner: pendingOwner === zeroAddress ? null : pendingOwner });
});

ponder.on("ModelRegistry:ModelOwnershipTransferred", async ({ event, context }) => {
  await context.db.update(model, { id: event.args.modelId }).set({ owner: event.args.newOwner, pendingOwner: null });
});
