/**
 * `npm run register-model -- --model <file.gguf> [--uri <uri>] [--royalty <wei per token>] [...]`:
 * registers a GGUF model in the ModelRegistry: its id is the file's sha256, its metadata is read
 * from the file. Idempotent: an already registered model is reported, not registered again.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { ZERO32, modelId } from "../agents/lib/encodings.ts";
import { ConfigError } from "../agents/lib/errors.ts";
import { sha256File } from "../agents/runtime/modelMaker.ts";
import { readModelInfo } from "../agents/runtime/ModelStore.ts";
import { NETWORK_HELP, NETWORK_OPTIONS, connect, deploymentFor, runScript } from "./lib/scriptNetwork.ts";

const { values } = parseArgs({
  options: {
    ...NETWORK_OPTIONS,
    model: { type: "string" },
    uri: { type: "string" },
    royalty: { type: "string", default: "0" },
    family: { type: "string" },
  },
});
if (values.help || !values.model) {
  console.log(`Usage: npm run register-model -- --model <file.gguf> [options]

Registers the model: id = sha256 of the file; family, parameter count, quantization (GGUF
file_type) and context length read from its header. Prints the id. Idempotent.

  --model <file>       the GGUF file (required)
  --uri <uri>          where nodes fetch it (default: file://<absolute path>)
  --royalty <wei>      royalty per generated token to the caller (default 0)
  --family <name>      override the family (default: general.architecture)
${NETWORK_HELP}`);
  process.exit(values.help ? 0 : 2);
}

runScript(async () => {
  const path = resolve(values.model!);
  let info;
  try {
    info = await readModelInfo(path);
  } catch (cause) {
    throw new ConfigError(`${path} is not a readable GGUF file: ${(cause as Error).message}`, { cause });
  }
  const { architecture: arch, parameters: params, contextLength: ctx, fileType } = info;
  const { sha256, size } = await sha256File(path);
  const id = modelId(sha256);
  const c = await connect(values);
  const d = deploymentFor(c, values.deployments);
  const registry = await c.viem.getContractAt("ModelRegistry", d.contracts.ModelRegistry!.address);
  const existing = await registry.read.getModel([id]).catch(() => null); // reverts for unknown ids
  if (existing && existing.registeredAt !== 0n) {
    console.log(
      `model ${id} is already registered (owner ${existing.owner}${existing.deprecated ? ", deprecated" : ""}); nothing to do`,
    );
    return;
  }
  const pub = await c.viem.getPublicClient();
  const hash = await registry.write.registerModel([
    id,
    values.uri ?? `file://${path}`,
    {
      family: values.family ?? arch,
      parameterCount: BigInt(params),
      quantization: fileType ?? 0,
      contextLength: ctx,
      minMemoryMb: Math.ceil((size * 1.2) / 2 ** 20),
      defaultProfileHash: ZERO32,
    },
    BigInt(values.royalty),
  ]);
  const r = await pub.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`registerModel reverted (${hash})`);
  console.log(
    `registered model ${id} (${arch}, ${(params / 1e6).toFixed(1)}M parameters, file_type ${fileType}, context ${ctx})`,
  );
});
