import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Quay's metrics, all prefixed `quay_`, with low-cardinality labels only: never a payer, an
 * address, a tx hash or a key as a label. One registry per process; `/metrics` serves it.
 */
export const PREFIX = "quay_";

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

  return {
    registry,
    httpRequests: new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: "HTTP requests by route and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: seconds,
      registers,
    }),
    rpcCalls: new Histogram({
      name: `${PREFIX}rpc_call_duration_seconds`,
      help: "Stellar RPC calls by network, method and outcome (ok or an error class)",
      labelNames: ["network", "method", "outcome"] as const,
      buckets: seconds,
      registers,
    }),
    verifyOutcomes: new Counter({
      name: `${PREFIX}verify_total`,
      help: "x402 verifications by network and outcome (valid, or the invalid reason)",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),
    settleOutcomes: new Counter({
      name: `${PREFIX}settle_total`,
      help: "x402 settlements answered, by network and outcome (success, pending, or the error reason)",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),
    settleStage: new Histogram({
      name: `${PREFIX}settle_stage_duration_seconds`,
      help: "Time spent in each settlement stage",
      labelNames: ["network", "stage"] as const,
      buckets: seconds,
      registers,
    }),
    submissionRetries: new Counter({
      name: `${PREFIX}submission_retries_total`,
      help: "Transaction resubmissions by cause",
      labelNames: ["network", "cause"] as const,
      registers,
    }),
    feesSpent: new Counter({
      name: `${PREFIX}fees_spent_stroops_total`,
      help: "Fees charged on chain for Quay's transactions, in stroops",
      labelNames: ["network", "tenant"] as const,
      registers,
    }),
    poolAccounts: new Gauge({
      name: `${PREFIX}pool_accounts`,
      help: "Channel accounts by state (free, leased, disabled)",
      labelNames: ["network", "state"] as const,
      registers,
    }),
    leaseWait: new Histogram({
      name: `${PREFIX}pool_lease_wait_seconds`,
      help: "Time waited for a free channel account",
      labelNames: ["network"] as const,
      buckets: seconds,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
