/** Prometheus metrics of the validator agent (GET /metrics). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export class ValidatorMetrics {
  readonly registry = new Registry();
  readonly batchesSeen = new Counter({
    name: "llmarket_validator_batches_seen_total",
    help: "BatchCommitted events processed",
    registers: [this.registry],
  });
  readonly leavesSampled = new Counter({
    name: "llmarket_validator_leaves_sampled_total",
    help: "leaves chosen for checking",
    registers: [this.registry],
  });
  readonly checks = new Counter({
    name: "llmarket_validator_checks_total",
    help: "leaf checks by outcome and verification mode",
    labelNames: ["outcome", "mode"] as const,
    registers: [this.registry],
  });
  readonly challenges = new Counter({
    name: "llmarket_validator_challenges_total",
    help: "challenge state transitions",
    labelNames: ["kind", "state"] as const,
    registers: [this.registry],
  });
  readonly votes = new Counter({
    name: "llmarket_validator_votes_total",
    help: "committee vote steps",
    labelNames: ["step"] as const,
    registers: [this.registry],
  });
  readonly canaries = new Counter({
    name: "llmarket_validator_canaries_total",
    help: "canary leaves revealed, by whether this validator caught them",
    labelNames: ["caught"] as const,
    registers: [this.registry],
  });
  readonly withdrawn = new Counter({
    name: "llmarket_validator_withdrawn_tokens_total",
    help: "credits withdrawn (token units / 1e18)",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly txErrors = new Counter({
    name: "llmarket_validator_tx_errors_total",
    help: "transactions that failed",
    labelNames: ["function"] as const,
    registers: [this.registry],
  });
  readonly pendingChallenges = new Gauge({
    name: "llmarket_validator_pending_challenges",
    help: "challenges not yet closed",
    registers: [this.registry],
  });
  readonly pendingChecks = new Gauge({
    name: "llmarket_validator_pending_checks",
    help: "sampled leaves waiting for a check",
    registers: [this.registry],
  });
  readonly stake = new Gauge({
    name: "llmarket_validator_active_stake_tokens",
    help: "active stake (token units / 1e18)",
    registers: [this.registry],
  });
  readonly lastBlock = new Gauge({
    name: "llmarket_validator_last_block",
    help: "last block scanned",
    registers: [this.registry],
  });
  readonly checkSeconds = new Gauge({
    name: "llmarket_validator_last_check_seconds",
    help: "duration of the last leaf check",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "llmarket_validator_" });
  }
}
