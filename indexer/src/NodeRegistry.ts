/** NodeRegistry events -> node, capability, reputation_update. */
import { ponder } from "ponder:registry";
import { capability, node, reputationUpdate } from "ponder:schema";
import { eq } from "ponder";
import { zeroAddress, type Hex } from "viem";
import { START } from "../../agents/lib/reputation.ts";
import { meta, updateMarket } from "../lib/store.ts";

/** The row of an address that has reputation but never registered (status "unregistered"). */
function unregisteredNode(address: Hex) {
  return {
    address,
    signer: zeroAddress,
    endpoint: "",
    status: "unregistered",
    registeredAt: 0n,
    registeredBlock: 0n,
    deregisteredAt: null,
    reputation: START,
    reputationUpdatedAt: null,
  };
}

ponder.on("NodeRegistry:NodeRegistered", async ({ event, context }) => {
  const { node: address, signer, endpoint } = event.args;
  const fields = {
    signer,
    endpoint,
    status: "registered",
    registeredAt: event.block.timestamp,
    registeredBlock: event.block.number,
    deregisteredAt: null,
  };
  // Reputation is keyed by address and survives deregistration: a re-registration keeps it.
  await context.db
    .insert(node)
    .values({ address, ...fields, reputation: START, reputationUpdatedAt: null })
    .onConflictDoUpdate(fields);
  await updateMarket(context.db, event, (m) => ({ registeredNodes: m.registeredNodes + 1 }));
});

ponder.on("NodeRegistry:EndpointUpdated", async ({ event, context }) => {
  await context.db.update(node, { address: event.args.node }).set({ endpoint: event.args.endpoint });
});

ponder.on("NodeRegistry:SignerUpdated", async ({ event, context }) => {
  await context.db.update(node, { address: event.args.node }).set({ signer: event.args.newSigner });
});

ponder.on("NodeRegistry:CapabilitySet", async ({ event, context }) => {
  const { node: address, modelId, capability: c } = event.args;
  const fields = {
    quantization: c.quantization,
    maxBatch: c.maxBatch,
    maxTokens: c.maxTokens,
    latencySlaMs: c.latencySlaMs,
    pricePerToken: c.pricePerToken,
    updatedAt: event.block.timestamp,
  };
  await context.db
    .insert(capability)
    .values({ node: address, modelId, ...fields })
    .onConflictDoUpdate(fields);
});

ponder.on("NodeRegistry:CapabilityRemoved", async ({ event, context }) => {
  await context.db.delete(capability, { node: event.args.node, modelId: event.args.modelId });
});

ponder.on("NodeRegistry:NodeDeregistered", async ({ event, context }) => {
  const address = event.args.node;
  await context.db.update(node, { address }).set({ status: "deregistered", deregisteredAt: event.block.timestamp });
  // Deregistration drops every capability of the node (rare; a raw delete is fine here).
  await context.db.sql.delete(capability).where(eq(capability.node, address.toLowerCase() as Hex));
  await updateMarket(context.db, event, (m) => ({ registeredNodes: m.registeredNodes - 1 }));
});

ponder.on("NodeRegistry:ReputationUpdated", async ({ event, context }) => {
  const { node: address, newValue, score, value } = event.args;
  // One upsert (was an insert-if-missing and an update): the row of a never-registered address is
  // created with the new reputation.
  const fields = { reputation: newValue, reputationUpdatedAt: event.block.timestamp };
  await context.db
    .insert(node)
    .values({ ...unregisteredNode(address), ...fields })
    .onConflictDoUpdate(fields);
  await context.db
    .insert(reputationUpdate)
    .values({ id: event.id, node: address, newValue, score, value, ...meta(event) });
});
