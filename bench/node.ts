/**
 * Node agent overhead benchmark → bench/node.json. A real chain (hardhat node), the agent as a
 * child process (`llmarket node start`) on the tiny model, and the same model and profile run in
 * this process for comparison:
 * - http_ttft_overhead_ms_p50: TTFT of a streamed request through the HTTP API (ticket checks,
 *   store, SSE) minus TTFT of calling the runtime in process, same prompt, p50 over interleaved reps.
 * - http_throughput_overhead_ratio: HTTP decode time (first to last token at the client) / in-process
 *   decode time - 1 for the same streamed generations, median over reps (the ratio of sums too).
 * - sustained_requests_per_s: completed paid requests per second with 4 concurrent clients.
 * Pre-signed tickets use distinct seeds so the result cache never answers (greedy: same compute).
 * Options: --reps N, --seconds S, --in-process, --model path.gguf (default: the generated tiny
 * model), --suffix name (merge entries named <name>_<suffix> into --out), --client fetch|http (the
 * streamed requests' client: fetch (undici, default) or node:http with a keep-alive agent).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Hex } from "viem";
import { CHAT_TEMPLATE_ID } from "../agents/lib/chatTemplate.ts";
import { inputHash, profileHash, type Ticket } from "../agents/lib/encodings.ts";
import { buildTicket, signTicket } from "../agents/lib/tickets.ts";
import { Runtime } from "../agents/runtime/Runtime.ts";
import { nodeHarness } from "../test/node/nodeHarness.ts";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "30" },
    seconds: { type: "string", default: "10" },
    out: { type: "string", default: new URL("./node.json", import.meta.url).pathname },
    "in-process": { type: "boolean", default: false },
    model: { type: "string" },
    suffix: { type: "string" },
    client: { type: "string", default: "fetch" },
  },
});
if (!["fetch", "http"].includes(values.client!)) throw new Error("--client must be fetch or http");
const REPS = Number(values.reps);
const SECONDS = Number(values.seconds);
const PROMPT = "The quick brown fox jumps over the lazy dog and then";
const MAX_TOKENS = 48;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const load0 = loadavg()[0]!;
const h = await nodeHarness();
// If anything below fails, do not leave the chain (or the agent) running.
const pids: number[] = [h.chain.pid];
process.on("exit", () => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
});
const MODEL_PATH = values.model ?? h.model;
const agentFlags = await h.flags(join(h.dir, "bench-data"), [
  "--batch-max-age",
  "3600",
  "--batch-max-leaves",
  "65536",
  "--max-tokens",
  "128",
  "--queue",
  "64",
  "--no-auctions",
  "--poll-ms",
  "500",
]);
// Serve the chosen model instead of the harness's tiny one.
agentFlags[agentFlags.indexOf("--model") + 1] = `${MODEL_PATH}:1000`;
// The agent runs as a child process (default) or in this process (--in-process: one fewer busy
// thread on a 2-core machine; the client then shares the agent's event loop).
const agent = values["in-process"]
  ? await (async () => {
      const { NodeAgent } = await import("../agents/node/NodeAgent.ts");
      const { loadNodeConfig } = await import("../agents/node/NodeConfig.ts");
      const a = await NodeAgent.start(loadNodeConfig([...agentFlags, "--log-level", "error"], {}));
      return { url: a.url, stop: () => a.stop() };
    })()
  : await (async () => {
      const c = await h.spawnAgent(agentFlags);
      pids.push(c.child.pid!);
      return {
        url: c.url,
        stop: async () => {
          c.child.kill("SIGTERM");
          await new Promise((r) => c.child.once("exit", r));
        },
      };
    })();
const models = (await (await fetch(`${agent.url}/v1/models`)).json()) as {
  data: { id: Hex; llmarket: { profileHash: Hex; pricePerToken: string } }[];
};
const served = models.data[0]!;

const runtime = await Runtime.create();
const rec = await runtime.store.register(MODEL_PATH);
const profile = runtime.profile({
  model: rec.id,
  threads: 1,
  batchSize: 512,
  contextSize: 256,
  flashAttention: false,
  chatTemplate: CHAT_TEMPLATE_ID,
});
if (profileHash(profile) !== served.llmarket.profileHash) throw new Error("in-process profile differs from the node's");

let sequence = 0n;
const nowChain = await h.now();
async function signedBody(seed: bigint, maxTokens: number, stream: boolean) {
  sequence += 1n;
  const ticket: Ticket = buildTicket(
    {
      requester: h.req1.account.address,
      node: h.node,
      model: served.id,
      input: inputHash({ prompt: PROMPT, maxTokens, stop: [], seed }),
      maxTokens,
      pricePerToken: BigInt(served.llmarket.pricePerToken),
      sequence,
      profile: served.llmarket.profileHash,
    },
    { nowSeconds: nowChain, lifetimeSeconds: 550n },
  );
  const signature = await signTicket(h.req1, ticket, h.escrowDomain);
  return JSON.stringify({
    prompt: PROMPT,
    max_tokens: maxTokens,
    seed: Number(seed),
    stream,
    llmarket: {
      ticket: JSON.parse(JSON.stringify(ticket, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))),
      signature,
    },
  });
}

type Run = { ttft: number; total: number; tokens: number; decodeMs: number; genTps?: number };

/** The agent's own decode rate of its last generation (its tokens-per-second gauge). */
async function agentGenerationTps(): Promise<number> {
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const m = /^llmarket_node_tokens_per_second\s+([\d.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

/** The same streamed request over node:http (keep-alive agent): a leaner client than fetch. */
function httpStreamNode(body: string): Promise<Run> {
  const t0 = performance.now();
  let ttft = -1;
  let lastToken = 0;
  let tokens = 0;
  return new Promise((resolve, reject) => {
    const req = request(
      `${agent.url}/v1/completions`,
      {
        method: "POST",
        agent: keepAlive,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding("utf8");
        if (res.statusCode !== 200) {
          let t = "";
          res.on("data", (d: string) => (t += d));
          res.on("end", () => reject(new Error(`HTTP ${res.statusCode}: ${t}`)));
          return;
        }
        res.on("data", (text: string) => {
          const n = [...text.matchAll(/"tokenIds":\[(\d+)\]/g)].length;
          if (n > 0) {
            const t = performance.now();
            if (ttft < 0) ttft = t - t0;
            lastToken = t - t0;
            tokens += n;
          }
        });
        res.on("end", () => resolve({ ttft, total: performance.now() - t0, tokens, decodeMs: lastToken - ttft }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** One streamed HTTP request: ms to the first token chunk, to the last token, to the end. */
async function httpStream(body: string): Promise<Run> {
  if (values.client === "http") return httpStreamNode(body);
  const t0 = performance.now();
  const res = await fetch(`${agent.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let ttft = -1;
  let lastToken = 0;
  let tokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // A light client: count token ids without parsing every event.
    const text = dec.decode(value, { stream: true });
    const n = [...text.matchAll(/"tokenIds":\[(\d+)\]/g)].length;
    if (n > 0) {
      const t = performance.now();
      if (ttft < 0) ttft = t - t0;
      lastToken = t - t0;
      tokens += n;
    }
  }
  return { ttft, total: performance.now() - t0, tokens, decodeMs: lastToken - ttft };
}

async function inProcess(seed: bigint): Promise<Run> {
  const t0 = performance.now();
  let ttft = -1;
  let lastToken = 0;
  const r = await runtime.generate(
    profile,
    { prompt: PROMPT, maxTokens: MAX_TOKENS, stop: [], seed },
    {
      onToken: () => {
        const t = performance.now() - t0;
        if (ttft < 0) ttft = t;
        lastToken = t;
      },
    },
  );
  return {
    ttft,
    total: performance.now() - t0,
    tokens: r.tokens.length,
    decodeMs: lastToken - ttft,
    genTps: r.timings.generationTokensPerSecond,
  };
}

// Warm-up both paths (model load, first context, caches).
for (let i = 0; i < 3; i++) {
  await inProcess(10_000n + BigInt(i));
  await httpStream(await signedBody(10_000n + BigInt(i), MAX_TOKENS, true));
}

const ttftDiff: number[] = [];
const ttftHttp: number[] = [];
const ttftLocal: number[] = [];
let totalHttp = 0;
let totalLocal = 0;
let decodeHttp = 0;
let decodeLocal = 0;
let tokens = 0;
const decodeRatio: number[] = [];
const genTpsAgent: number[] = [];
const genTpsLocal: number[] = [];
for (let i = 0; i < REPS; i++) {
  const body = await signedBody(BigInt(i + 1), MAX_TOKENS, true);
  const local = await inProcess(BigInt(i + 1));
  const http = await httpStream(body);
  if (http.tokens !== local.tokens) throw new Error(`token counts differ: ${http.tokens} vs ${local.tokens}`);
  ttftHttp.push(http.ttft);
  ttftLocal.push(local.ttft);
  ttftDiff.push(http.ttft - local.ttft);
  totalHttp += http.total;
  totalLocal += local.total;
  decodeHttp += http.decodeMs;
  decodeLocal += local.decodeMs;
  if (local.decodeMs > 0) decodeRatio.push(http.decodeMs / local.decodeMs - 1);
  genTpsAgent.push(await agentGenerationTps());
  genTpsLocal.push(local.genTps!);
  tokens += http.tokens;
}
// Non-streamed requests: fixed per-request overhead without per-token SSE work.
let totalHttpPlain = 0;
let totalLocalPlain = 0;
for (let i = 0; i < REPS; i++) {
  const body = await signedBody(BigInt(20_000 + i), MAX_TOKENS, false);
  const t0 = performance.now();
  await runtime.generate(profile, { prompt: PROMPT, maxTokens: MAX_TOKENS, stop: [], seed: 0n });
  totalLocalPlain += performance.now() - t0;
  const t1 = performance.now();
  const res = await fetch(`${agent.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await res.arrayBuffer();
  totalHttpPlain += performance.now() - t1;
}
await runtime.close();

// Sustained: 4 clients, non-streamed requests of 16 tokens, for SECONDS.
const SUSTAINED_TOKENS = 16;
const bodies: string[] = [];
for (let i = 0; i < Math.ceil(SECONDS * 200); i++)
  bodies.push(await signedBody(BigInt(50_000 + i), SUSTAINED_TOKENS, false));
let next = 0;
let completed = 0;
let rejected = 0;
const tEnd = performance.now() + SECONDS * 1000;
const tStart = performance.now();
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (performance.now() < tEnd && next < bodies.length) {
      // Tickets carry increasing sequences: send them in order, so each client takes the next one.
      const body = bodies[next++]!;
      const res = await fetch(`${agent.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await res.arrayBuffer();
      if (res.status === 200) completed++;
      else rejected++;
    }
  }),
);
const elapsed = (performance.now() - tStart) / 1000;

const conditions = {
  preset: values.model ? MODEL_PATH.split("/").pop() : "tiny",
  quant: "q8_0",
  threads: 1,
  parallel: 1,
  contextSize: 256,
  prompt: PROMPT,
  maxTokens: MAX_TOKENS,
  reps: REPS,
  pollMs: 500,
  agent: values["in-process"]
    ? "NodeAgent in the bench process, hardhat node on 127.0.0.1, sqlite WAL"
    : "child process (llmarket node start), hardhat node on 127.0.0.1, sqlite WAL",
  machine: "2 shared cores",
  client: values.client === "http" ? "node:http, keep-alive agent (streamed requests)" : "fetch (undici)",
  loadAverage1mAtStart: load0,
  loadAverage1mAtEnd: loadavg()[0]!,
};
const results = [
  {
    name: "http_ttft_overhead_ms_p50",
    value: median(ttftDiff),
    unit: "ms",
    lowerIsBetter: true,
    conditions: {
      ...conditions,
      goal: "<= 3 ms",
      httpTtftMsP50: median(ttftHttp),
      inProcessTtftMsP50: median(ttftLocal),
      statistic: "median of per-rep differences (interleaved)",
      // Best cases, least touched by other jobs on a shared machine.
      httpTtftMsMin: Math.min(...ttftHttp),
      inProcessTtftMsMin: Math.min(...ttftLocal),
      minDifferenceMs: Math.min(...ttftHttp) - Math.min(...ttftLocal),
    },
  },
  {
    name: "http_throughput_overhead_ratio",
    value: median(decodeRatio),
    unit: "ratio",
    lowerIsBetter: true,
    conditions: {
      ...conditions,
      goal: "<= 0.05",
      definition:
        "streaming decode time (first to last token) over HTTP / in process - 1, median over interleaved reps",
      statistic: "median of per-rep ratios (robust to load spikes on a shared machine); sumRatio: ratio of sums",
      sumRatio: decodeLocal > 0 ? (decodeHttp - decodeLocal) / decodeLocal : 0,
      httpDecodeTokensPerS: ((tokens - REPS) / decodeHttp) * 1000,
      inProcessDecodeTokensPerS: ((tokens - REPS) / decodeLocal) * 1000,
      tokensPerRep: tokens / REPS,
      // Where the decode time goes: the runtime's own rate (first to last token inside the
      // generating process, medians) in the agent and in this process.
      agentGenerationTokensPerSP50: median(genTpsAgent),
      inProcessGenerationTokensPerSP50: median(genTpsLocal),
    },
  },
  {
    name: "http_request_time_overhead_ratio",
    value: (totalHttp - totalLocal) / totalLocal,
    unit: "ratio",
    lowerIsBetter: true,
    conditions: {
      ...conditions,
      definition: "whole streamed request (admission, generation, leaf, receipt, SSE) vs in-process generate",
      httpTokensPerS: (tokens / totalHttp) * 1000,
      inProcessTokensPerS: (tokens / totalLocal) * 1000,
      tokensPerRep: tokens / REPS,
    },
  },
  {
    name: "http_nonstream_overhead_ms_mean",
    value: (totalHttpPlain - totalLocalPlain) / REPS,
    unit: "ms",
    lowerIsBetter: true,
    conditions: {
      ...conditions,
      stream: false,
      httpMsMean: totalHttpPlain / REPS,
      inProcessMsMean: totalLocalPlain / REPS,
      note: "whole request (admission, store, receipt signature) minus in-process generate",
    },
  },
  {
    name: "sustained_requests_per_s",
    value: completed / elapsed,
    unit: "requests/s",
    lowerIsBetter: false,
    conditions: {
      ...conditions,
      maxTokens: SUSTAINED_TOKENS,
      clients: 4,
      seconds: elapsed,
      completed,
      rejected,
      stream: false,
    },
  },
];
// With --suffix, the entries are renamed <name>_<suffix> and merged into the existing file.
let out: { name: string }[] = results;
if (values.suffix) {
  const renamed = results.map((r) => ({ ...r, name: `${r.name}_${values.suffix}` }));
  const names = new Set(renamed.map((r) => r.name));
  const prev = existsSync(values.out!) ? (JSON.parse(readFileSync(values.out!, "utf8")) as { name: string }[]) : [];
  out = [...prev.filter((r) => !names.has(r.name)), ...renamed];
}
writeFileSync(values.out!, JSON.stringify(out, null, 1) + "\n");
console.log(JSON.stringify(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit }))));
await agent.stop();
await h.chain.stop();
process.exit(0);
