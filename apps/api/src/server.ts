import type { FastifyInstance } from "fastify";
import type { QuayConfig } from "@quay/config";
import type { Logger } from "@quay/log";
import { createDb, createPool } from "@quay/db";
import { createMetrics, Readiness, SystemState, type Metrics } from "@quay/metrics";
import { createRedis, openQueue, QueueNames } from "@quay/queue";
import { OutcomeWaiter } from "@quay/settlement";
import { StellarNetwork } from "@quay/stellar";
import { buildApi } from "./app";
import { VerifierContexts } from "./x402/context";

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** Everything the api process runs, wired from the configuration; `main.ts` and tests both start it here. */
export async function createApiServer(config: QuayConfig, logger: Logger): Promise<ApiServer> {
  const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: "quay-api" });
  const db = createDb(pool);
  const redis = createRedis({ url: config.redis.url, connectionName: "quay-api" });
  const metrics = createMetrics();
  const served = config.networks.map((n) => ({ config: n, network: new StellarNetwork(n, metrics) }));
  const settleQueue = openQueue(QueueNames.settle, { connection: redis, prefix: config.redis.prefix });
  const waiter = new OutcomeWaiter(config.database.url, db);
  const contexts = new VerifierContexts(db, served, metrics);
  const mppCloseQueue = openQueue(QueueNames.mppClose, { connection: redis, prefix: config.redis.prefix });
  // Readiness only: the worker exports the state gauges, so they are not scraped twice.
  const state = SystemState.forConfig(config, db, served.map((s) => s.network));

  const app = await buildApi({
    logger,
    pool,
    redis,
    apiKeys: config.apiKeys,
    rateLimit: { ...config.rateLimit, redisPrefix: `${config.redis.prefix}:ratelimit:` },
    x402: {
      db,
      served,
      contexts,
      queue: settleQueue,
      waiter,
      metrics,
      settleWaitMs: config.settleWaitSeconds * 1000,
    },
    mpp: {
      charges: {
        db,
        queue: settleQueue,
        waiter,
        networks: async () => (await contexts.current()).networks,
        waitMs: config.settleWaitSeconds * 1000,
      },
      channels: {
        db,
        networks: new Map(served.map((s) => [s.config.id, s.network])),
        masterKey: config.masterKey,
        wasmHashes: config.mpp.channelWasmHashes,
        closeQueue: mppCloseQueue,
      },
    },
    metrics: { metrics, ...(config.ops.metricsToken ? { token: config.ops.metricsToken } : {}) },
    ready: { readiness: () => Readiness.check({ state, postgres: pool, redis, maxLedgerAgeSeconds: config.ops.maxLedgerAgeSeconds }) },
  });

  return {
    app,
    metrics,
    async close() {
      await app.close();
      await Promise.allSettled([waiter.close(), settleQueue.close(), mppCloseQueue.close()]);
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
