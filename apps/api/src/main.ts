import { loadOrExit } from "@quay/config";
import { createLogger } from "@quay/log";
import { createDb, createPool } from "@quay/db";
import { createMetrics } from "@quay/metrics";
import { createRedis, openQueue, QueueNames } from "@quay/queue";
import { OutcomeWaiter } from "@quay/settlement";
import { StellarNetwork } from "@quay/stellar";
import { buildApi } from "./app";
import { VerifierContexts } from "./x402/context";

const config = loadOrExit();
const logger = createLogger({ level: config.logLevel, name: "quay-api" });
const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: "quay-api" });
const db = createDb(pool);
const redis = createRedis({ url: config.redis.url, connectionName: "quay-api" });
const metrics = createMetrics();
const served = config.networks.map((n) => ({ config: n, network: new StellarNetwork(n, metrics) }));
const settleQueue = openQueue(QueueNames.settle, { connection: redis });
const waiter = new OutcomeWaiter(config.database.url, db);

const app = await buildApi({
  logger,
  pool,
  redis,
  apiKeys: config.apiKeys,
  rateLimit: config.rateLimit,
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

const shutdown = async (signal: string) => {
  logger.info({ signal }, "shutting down");
  await app.close();
  await Promise.allSettled([waiter.close(), settleQueue.close()]);
  await Promise.allSettled([pool.end(), redis.quit()]);
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await app.listen({ host: config.api.host, port: config.api.port });
