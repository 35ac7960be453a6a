/**
 * Child-process probe for untrusted GGUF files: reads the header, loads the weights, creates a
 * small context (with the adapter, if any) and evaluates one token. A GGML_ASSERT here kills only
 * this process. Usage: node modelProbe.ts <model.gguf> [<adapter.gguf>]; the result is sent over
 * IPC (or printed as JSON) as { ok: true } or { ok: false, error }.
 */
import type { Token } from "node-llama-cpp";
import { llamaBackend } from "./LlamaBackend.ts";

async function probe(modelPath: string, adapterPath: string | undefined): Promise<void> {
  const { llama } = await llamaBackend();
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    contextSize: 64,
    batchSize: 16,
    threads: 1,
    flashAttention: false,
    ...(adapterPath === undefined ? {} : { lora: { adapters: [{ filePath: adapterPath }] } }),
  });
  const seq = context.getSequence();
  const first = model.tokens.bos ?? (0 as Token);
  await seq.controlledEvaluate([[first, { generateNext: { token: true } }]]);
  await context.dispose();
  await model.dispose();
}

const [modelPath, adapterPath] = process.argv.slice(2);
const send = (msg: unknown): void => {
  if (process.send) process.send(msg, undefined, {}, () => process.disconnect());
  else process.stdout.write(`${JSON.stringify(msg)}\n`);
};
if (modelPath === undefined) {
  send({ ok: false, error: "usage: modelProbe.ts <model.gguf> [<adapter.gguf>]" });
  process.exitCode = 2;
} else {
  try {
    await probe(modelPath, adapterPath);
    send({ ok: true });
  } catch (e) {
    send({ ok: false, error: e instanceof Error ? e.message : String(e) });
    process.exitCode = 1;
  }
}
