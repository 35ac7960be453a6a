/** Runs a fake node (test/sdk/fakeNode.ts) as its own process, so tests can kill -9 it. Args: one JSON object. */
import { startFakeNode } from "./fakeNode.ts";

const o = JSON.parse(process.argv[2]!);
const node = await startFakeNode({ ...o, pricePerToken: BigInt(o.pricePerToken) });
console.log(`READY ${node.url}`);
