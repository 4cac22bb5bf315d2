import type { FastifyInstance } from "fastify";
import type { QuayConfig } from "@quay/config";
import type { Logger } from "@quay/log";
import { createDb, createPool } from "@quay/db";
import { createMetrics, type Metrics } from "@quay/metrics";
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

  const app = await buildApi({
    logger,
    pool,
    redis,
    apiKeys: config.apiKeys,
    rateLimit: { ...config.rateLimit, redisPrefix: `${config.redis.prefix}:ratelimit:` },
    x402: {
      db,
      served,
      contexts: new VerifierContexts(db, served, metrics),
      queue: settleQueue,
      waiter,
      metrics,
      settleWaitMs: config.settleWaitSeconds * 1000,
    },
  });

  return {
    app,
    metrics,
    async close() {
      await app.close();
      await Promise.allSettled([waiter.close(), settleQueue.close()]);
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
