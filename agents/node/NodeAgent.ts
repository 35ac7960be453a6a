/**
 * The node agent daemon: loads the key, deployment, models and store; checks (or performs)
 * staking and registration; recovers from the store after a crash; serves the HTTP API; and runs
 * one background loop that scans chain events (challenges, auction jobs) and drives batching,
 * settlement, challenge answers, auctions and withdrawals. `stop()` drains and closes cleanly.
 */
import { join } from "node:path";
import type { ServerType } from "@hono/node-server";
import type { Hex } from "viem";
import { readDeployment, deploymentPath } from "../lib/deployments.ts";
import { ConfigError, LLMarketError } from "../lib/errors.ts";
import { Runtime } from "../runtime/Runtime.ts";
import { Scheduler } from "../runtime/Scheduler.ts";
import { AuctionBidder } from "./AuctionBidder.ts";
import { Batcher } from "./Batcher.ts";
import { ChallengeResponder } from "./ChallengeResponder.ts";
import { DirectService } from "./DirectService.ts";
import { FaultInjector } from "./FaultInjector.ts";
import { NodeChain, shortReason } from "./NodeChain.ts";
import { describeConfig, type NodeConfig } from "./NodeConfig.ts";
import { loadNodeKey } from "./NodeKey.ts";
import { NodeMetrics } from "./NodeMetrics.ts";
import { createNodeApp, startServer, type ServerState } from "./NodeServer.ts";
import { NodeStore } from "./NodeStore.ts";
import { loadServedModels, type ServedModel } from "./ServedModels.ts";

/** The node cannot start as configured (unregistered, unstaked, model missing...). */
export class NodeSetupError extends LLMarketError {}

type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const QUANT: Record<string, number> = { MOSTLY_F32: 0, MOSTLY_F16: 1, MOSTLY_Q4_0: 2, MOSTLY_Q8_0: 7 };

export class NodeAgent {
  readonly config: NodeConfig;
  readonly chain: NodeChain;
  readonly store: NodeStore;
  readonly metrics = new NodeMetrics();
  readonly state: ServerState = { serving: false };
  runtime!: Runtime;
  scheduler!: Scheduler;
  models!: ServedModel[];
  direct!: DirectService;
  batcher!: Batcher;
  challenges!: ChallengeResponder;
  auctions!: AuctionBidder;
  server: ServerType | undefined;
  url = "";
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #ticks = 0;

  private constructor(config: NodeConfig) {
    this.config = config;
    const dep = readDeployment(config.deployments ?? deploymentPath(31337));
    const isDev = dep.chainId === 31337 || dep.chainId === 1337;
    if (config.fault && !isDev) {
      throw new ConfigError(`--fault is refused on chain ${dep.chainId}: it is only for dev chains 31337/1337.`);
    }
    if (config.registerModel && !isDev) {
      throw new ConfigError(`--register-model is only allowed on dev chains 31337/1337.`);
    }
    this.chain = new NodeChain(config.rpcUrl, loadNodeKey(config), dep);
    this.store = new NodeStore(config.dataDir, config.durability);
  }

  log(level: Level, msg: string, extra: Record<string, unknown> = {}): void {
    if (LEVELS[level] < LEVELS[this.config.logLevel]) return;
    const line = JSON.stringify({ t: new Date().toISOString(), level, msg, ...extra }, (_k, v: unknown) =>
      typeof v === "bigint" ? String(v) : v,
    );
    (level === "error" || level === "warn" ? process.stderr : process.stdout).write(line + "\n");
  }

  static async start(config: NodeConfig): Promise<NodeAgent> {
    const agent = new NodeAgent(config);
    try {
      await agent.#start();
    } catch (e) {
      await agent.stop().catch(() => undefined);
      throw e;
    }
    return agent;
  }

  async #start(): Promise<void> {
    const c = this.config;
    const log = this.log.bind(this);
    this.log("info", "starting node agent", {
      node: this.chain.address,
      chainId: this.chain.chainId,
      config: describeConfig(c),
    });
    const rpcChain = await this.chain.publicClient.getChainId().catch((cause: unknown) => {
      throw new NodeSetupError(`Cannot reach the chain at ${c.rpcUrl}: start it or fix --rpc-url.`, { cause });
    });
    if (rpcChain !== this.chain.chainId) {
      throw new NodeSetupError(
        `RPC chain id ${rpcChain} differs from the deployment's ${this.chain.chainId}: wrong --deployments?`,
      );
    }
    await this.chain.refreshTime();
    this.chain.startClock(Math.min(250, c.pollMs));
    this.runtime = await Runtime.create({ parallel: c.parallel, hashCacheFile: join(c.dataDir, "model-hashes.json") });
    this.models = await loadServedModels(this.runtime, c, this.chain);
    await this.#checkRegistration();
    this.scheduler = new Scheduler({ capacity: c.queueCapacity, concurrency: c.parallel, timeoutMs: 0 });
    const fault = new FaultInjector(c.fault);
    if (c.fault) this.log("warn", `FAULT INJECTION ON: ${c.fault.probability} of outputs will be wrong`);
    const timing = await this.chain.c.escrow.read.timing();
    this.direct = new DirectService({
      chain: this.chain,
      store: this.store,
      runtime: this.runtime,
      scheduler: this.scheduler,
      metrics: this.metrics,
      models: this.models,
      fault,
      ticketMaxLifetime: (timing as { ticketMaxLifetime: bigint }).ticketMaxLifetime,
      queueCapacity: c.queueCapacity,
      concurrency: c.parallel,
      maxTokens: c.maxTokens,
    });
    this.batcher = new Batcher({
      chain: this.chain,
      store: this.store,
      metrics: this.metrics,
      maxLeaves: c.batchMaxLeaves,
      maxAgeSeconds: c.batchMaxAgeSeconds,
      log,
    });
    this.challenges = new ChallengeResponder({
      chain: this.chain,
      store: this.store,
      metrics: this.metrics,
      batcher: this.batcher,
      reproduces: (batchId, index) => this.#reproduces(batchId, index),
      log,
    });
    this.auctions = new AuctionBidder({
      chain: this.chain,
      store: this.store,
      metrics: this.metrics,
      models: this.models,
      runtime: this.runtime,
      scheduler: this.scheduler,
      fault,
      costPerToken: c.costPerToken,
      marginBps: c.marginBps,
      queueCapacity: c.queueCapacity,
      log,
    });
    // Recovery: tickets cut off by a crash never got a receipt; batches left committing are resolved.
    const interrupted = this.store.failInterruptedTickets();
    if (interrupted > 0)
      this.log("warn", `${interrupted} requests were interrupted by the last stop (no receipt was signed)`);
    await this.batcher.recover();
    const app = createNodeApp({
      direct: this.direct,
      models: this.models,
      metrics: this.metrics,
      store: this.store,
      leaves: this.batcher,
      node: this.chain.address,
      chainId: this.chain.chainId,
      maxBodyBytes: c.maxBodyBytes,
      state: this.state,
      log,
    });
    this.server = await startServer(app, c.listen);
    const addr = this.server.address();
    const port = typeof addr === "object" && addr ? addr.port : Number(c.listen.split(":").pop());
    this.url = `http://${c.listen.slice(0, c.listen.lastIndexOf(":"))}:${port}`;
    this.state.serving = true;
    this.#loop = this.#run();
    this.log("info", `serving on ${this.url}`, {
      models: this.models.map((m) => ({ id: m.id, profileHash: m.profileHash })),
    });
  }

  /** Re-runs a committed leaf with its model's profile: does it give the committed output? */
  async #reproduces(chainBatchId: bigint, leafIndex: number): Promise<boolean> {
    const l = this.batcher.leaf(chainBatchId, leafIndex);
    const model = l && this.models.find((m) => m.id.toLowerCase() === l.leaf.model.toLowerCase());
    if (!l || !model) return false;
    const input = { prompt: l.data.prompt, stop: l.data.stop, seed: l.data.seed, maxTokens: l.data.maxTokens };
    const r = await this.scheduler.submit({
      requester: "appeal-check",
      model: model.id,
      run: (signal) => this.runtime.generate(model.profile, input, { signal }),
    });
    return r.outputHash.toLowerCase() === l.leaf.output.toLowerCase();
  }

  async #checkRegistration(): Promise<void> {
    const c = this.chain.c;
    const me = this.chain.address;
    const missing: string[] = [];
    for (const m of this.models) {
      if (await c.models.read.isActive([m.id])) continue;
      if (this.config.registerModel) {
        await this.chain.send("registerModel", () =>
          c.models.write.registerModel([
            m.id,
            `file://${m.path}`,
            {
              family: "llama",
              parameterCount: BigInt(m.parameters),
              quantization: QUANT[m.quantization] ?? 7,
              contextLength: m.contextSize,
              minMemoryMb: Math.max(1, Math.ceil(m.parameters / 1e6)),
              defaultProfileHash: m.profileHash,
            },
            0n,
          ]),
        );
        this.log("info", `registered model ${m.id} in ModelRegistry`);
      } else
        missing.push(
          `model ${m.id} (${m.name}) is not registered in ModelRegistry: register it (or --register-model on a dev chain)`,
        );
    }
    if (missing.length) throw new NodeSetupError(`Cannot serve: ${missing.join("; ")}.`);
    const registered = await c.nodes.read.isRegistered([me]);
    const required = await c.nodes.read.requiredStake([me]);
    const active = await c.staking.read.activeStakeOf([me]);
    const capabilities = this.models.map((m) => ({
      modelId: m.id,
      quantization: QUANT[m.quantization] ?? 7,
      maxBatch: this.config.parallel,
      maxTokens: m.maxTokens,
      latencySlaMs: 1000,
      pricePerToken: m.pricePerToken,
    }));
    if (!registered || active < required) {
      if (!this.config.register) {
        const what = [
          active < required ? `stake ${active} is below the required ${required}` : null,
          !registered ? "the node is not registered in NodeRegistry" : null,
        ].filter(Boolean);
        throw new NodeSetupError(
          `Cannot serve: ${what.join(" and ")}. Run again with --register (and --stake <wei>) to fix it.`,
        );
      }
      const want = this.config.stake ?? (required > active ? required - active : 0n);
      if (want > 0n) {
        const balance = await c.token.read.balanceOf([me]);
        if (balance < want) {
          throw new NodeSetupError(
            `--register needs ${want} tokens to stake but ${me} holds ${balance}: fund the account first.`,
          );
        }
        await this.chain.send("approve", () => c.token.write.approve([c.staking.address, want]));
        await this.chain.send("stake", () => c.staking.write.stake([want]));
        this.log("info", `staked ${want}`);
      }
      if (!registered) {
        const endpoint = this.config.publicUrl ?? `http://${this.config.listen}`;
        await this.chain.send("register", () => c.nodes.write.register([endpoint, me, capabilities]));
        this.log("info", `registered node at ${endpoint}`);
      }
    }
    for (const cap of capabilities) {
      if (await c.nodes.read.hasCapability([me, cap.modelId])) continue;
      if (!this.config.register) {
        throw new NodeSetupError(
          `Cannot serve: no NodeRegistry capability for model ${cap.modelId}. Run with --register to add it.`,
        );
      }
      await this.chain.send("setCapability", () => c.nodes.write.setCapability([cap]));
    }
  }

  /** One background step: events, challenges, batching, settlement, auctions, withdrawals. */
  async tick(): Promise<void> {
    const step = async (task: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        this.metrics.errors.inc({ task });
        this.log("warn", `${task} failed: ${shortReason(e)}`);
      }
    };
    await step("time", () => this.chain.refreshTime());
    await step("events", () => this.#scanEvents());
    await step("challenges", () => this.challenges.respondAll());
    await step("disputes", () => this.challenges.trackDisputes());
    await step("commit", () => this.batcher.recover().then(() => this.batcher.maybeCommit()));
    await step("auctions", () => this.auctions.step());
    let paid = false;
    await step("settle", async () => {
      paid = (await this.batcher.settleDue()) || paid;
      paid = (await this.batcher.settleCleared()) || paid;
    });
    if (paid || this.#ticks % 20 === 0) await step("withdraw", () => this.batcher.withdrawAll());
    this.#ticks++;
  }

  async #scanEvents(): Promise<void> {
    const latest = await this.chain.publicClient.getBlockNumber();
    const stored = this.store.get("cursor");
    let from = stored === undefined ? BigInt(this.chain.deployment.deployBlock) : BigInt(stored) + 1n;
    while (from <= latest) {
      const to = from + 4999n < latest ? from + 4999n : latest;
      const reveals = await this.chain.c.game.getEvents.ChallengeRevealed({}, { fromBlock: from, toBlock: to });
      for (const ev of reveals) this.challenges.onRevealed(ev.args);
      if (this.config.auctions) {
        const posted = await this.chain.c.market.getEvents.JobPosted({}, { fromBlock: from, toBlock: to });
        // Hash-only jobs emit JobInputUri in the same transaction as JobPosted.
        const uris = new Map<bigint, string>();
        if (posted.length > 0) {
          const evs = await this.chain.c.market.getEvents.JobInputUri({}, { fromBlock: from, toBlock: to });
          for (const ev of evs) if (ev.args.jobId !== undefined) uris.set(ev.args.jobId, ev.args.uri ?? "");
        }
        for (const ev of posted) {
          const args = ev.args as Parameters<AuctionBidder["onJobPosted"]>[0];
          const uri = args.jobId === undefined ? undefined : uris.get(args.jobId);
          this.auctions.onJobPosted(uri === undefined ? args : { ...args, inputUri: uri });
        }
      }
      this.store.set("cursor", String(to));
      from = to + 1n;
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      await this.tick();
      if (this.#stopping) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.config.pollMs);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  /** Wakes the loop now (tests, and after a request finishes a batch). */
  wake(): void {
    this.#wake?.();
  }

  /** Graceful stop: refuse new requests, let running jobs finish (they persist their leaves), close. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.state.serving = false;
    this.#stopping = true;
    this.chain.stopClock();
    this.wake();
    const deadline = Date.now() + timeoutMs;
    while (
      this.scheduler &&
      (this.scheduler.stats().running > 0 || this.scheduler.stats().queued > 0) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.#loop?.catch(() => undefined);
    if (this.server) {
      const s = this.server;
      const closed = new Promise<void>((r) => s.close(() => r()));
      const http = s as unknown as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
      http.closeIdleConnections?.();
      const timer = setTimeout(() => http.closeAllConnections?.(), 2000);
      await closed;
      clearTimeout(timer);
    }
    this.store.close();
    await this.runtime?.close().catch(() => undefined);
    this.log("info", "node agent stopped");
  }
}
