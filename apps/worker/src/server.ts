import type { QuayConfig } from "@quay/config";
import type { Logger } from "@quay/log";
import { createDb, createPool } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { createMetrics, Readiness, SystemState, type Metrics, type StateSources } from "@quay/metrics";
import { PoolCensus } from "@quay/pool";
import { createRedis, openQueue, QueueNames } from "@quay/queue";
import { Records, type EngineOptions } from "@quay/settlement";
import { requireKnownProtocols, StellarNetwork } from "@quay/stellar";
import { startWorker, type RunningWorker } from "./app";
import { consumers } from "./consumers";

export interface WorkerServer {
  readonly running: RunningWorker;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** Everything the worker process runs, wired from the configuration; `main.ts` and tests both start it here. */
export async function createWorkerServer(config: QuayConfig, logger: Logger, engineOptions: EngineOptions = {}): Promise<WorkerServer> {
  const pool = createPool({ url: config.database.url, max: config.database.workerPoolMax, applicationName: "quay-worker" });
  const db = createDb(pool);
  const metrics = createMetrics();
  const stateNetworks = config.networks.map((n) => new StellarNetwork(n, metrics));
  await requireKnownProtocols(stateNetworks, (network, err) => logger.warn({ network, err }, "the RPC does not answer: its protocol is checked once it does"));
  const redis = createRedis({ url: config.redis.url, connectionName: "quay-worker" });
  const bullConnection = createRedis({ url: config.redis.url, connectionName: "quay-worker-bull", forBullWorker: true });
  const settleQueue = openQueue(QueueNames.settle, { connection: redis, prefix: config.redis.prefix });
  // The state gauges (pool, balances, queue depth, ledger lag, fee levels) are read at scrape time, here only.
  const sources: StateSources = {
    poolCounts: () => PoolCensus.countsByNetwork(db),
    channelAccounts: (network) => PoolCensus.enabledAccounts(db, network),
    recentFeeBids: () => Records.recentFeeBids(db),
    tenantFees: () => ApiKeys.feesSpentByTenant(db),
  };
  const state = SystemState.forConfig(config, sources, stateNetworks, [settleQueue]);
  metrics.observeState(state);

  const work = consumers({
    config,
    logger,
    db,
    metrics,
    settleQueue,
    engineOptions: {
      txTimeoutSeconds: config.settleTxTimeoutSeconds,
      reuseSimulationLedgers: config.settleReuseSimulationLedgers,
      ...engineOptions,
    },
    leaseMs: config.poolLeaseSeconds * 1000,
  });
  const running = await startWorker({
    logger,
    pool,
    redis,
    bullConnection,
    prefix: config.redis.prefix,
    consumers: work.list,
    ops: {
      metrics,
      ...(config.ops.metricsToken ? { metricsToken: config.ops.metricsToken } : {}),
      readiness: () =>
        Readiness.check({ state, postgres: pool, redis, maxLedgerAgeSeconds: config.ops.maxLedgerAgeSeconds, fundOvercommitted: work.fundOvercommitted }),
    },
  });

  return {
    running,
    metrics,
    async close() {
      await running.close();
      await settleQueue.close();
      await Promise.allSettled([pool.end(), redis.quit(), bullConnection.quit()]);
    },
  };
}
