/**
 * Prometheus metrics of the node agent (prom-client, own registry): request latency and time to
 * first token, generated tokens and tokens/s, queue depth, result-cache hit ratio, batches,
 * challenges, earnings and amounts the node could not claim.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "llmarket_node_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "llmarket_node_request_seconds",
    help: "Completion request latency (admission to last byte)",
    labelNames: ["route"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: "llmarket_node_ttft_seconds",
    help: "Time from request arrival to the first generated token",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: "llmarket_node_generated_tokens_total",
    help: "Tokens generated",
    registers: [this.registry],
  });
  readonly tokensPerSecond = new Gauge({
    name: "llmarket_node_tokens_per_second",
    help: "Generation speed of the last job",
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "llmarket_node_queue_depth",
    help: "Jobs waiting in the scheduler",
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: "llmarket_node_running_jobs",
    help: "Jobs running",
    registers: [this.registry],
  });
  readonly cacheHitRatio = new Gauge({
    name: "llmarket_node_cache_hit_ratio",
    help: "Result cache hit ratio",
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: "llmarket_node_batches_total",
    help: "Batch events (committed, settled, voided)",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly leavesPending = new Gauge({
    name: "llmarket_node_leaves_pending",
    help: "Leaves waiting for a batch",
    registers: [this.registry],
  });
  readonly challenges = new Counter({
    name: "llmarket_node_challenges_total",
    help: "Challenges: seen, answered, missed; disputed, dispute_won, dispute_lost (wrong-output committee verdicts)",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly disputesOpen = new Gauge({
    name: "llmarket_node_disputes_open",
    help: "Committee disputes on this node's leaves not yet resolved",
    registers: [this.registry],
  });
  readonly slashed = new Counter({
    name: "llmarket_node_slashed_wei_total",
    help: "Stake slashed by challenges this node lost (token wei, as a float)",
    registers: [this.registry],
  });
  readonly bondsWon = new Counter({
    name: "llmarket_node_challenge_bonds_wei_total",
    help: "Challenge bonds credited to this node for challenges it won (token wei, as a float)",
    registers: [this.registry],
  });
  readonly earnings = new Counter({
    name: "llmarket_node_withdrawn_wei_total",
    help: "Credits withdrawn, by contract (token wei, as a float)",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly unclaimed = new Counter({
    name: "llmarket_node_unclaimed_leaves_total",
    help: "Leaves settled without payment (no voucher and no usable ticket, or escrow short)",
    registers: [this.registry],
  });
  readonly auctions = new Counter({
    name: "llmarket_node_auction_events_total",
    help: "Auction events (bid, revealed, won, lost, delivered)",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "llmarket_node_background_errors_total",
    help: "Errors in the background loop, by task",
    labelNames: ["task"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "llmarket_node_" });
  }
}
