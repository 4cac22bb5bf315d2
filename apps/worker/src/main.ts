import { exitOnConfigError, loadOrExit } from "@quay/config";
import { createLogger } from "@quay/log";
import { createDb, createPool } from "@quay/db";
import { createMetrics } from "@quay/metrics";
import { createRedis, openQueue, QueueNames } from "@quay/queue";
import { startWorker } from "./app";
import { consumers } from "./consumers";

const config = loadOrExit();
const logger = createLogger({ level: config.logLevel, name: "quay-worker" });
const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: "quay-worker" });
const db = createDb(pool);
const metrics = createMetrics();
const redis = createRedis({ url: config.redis.url, connectionName: "quay-worker" });
const bullConnection = createRedis({ url: config.redis.url, connectionName: "quay-worker-bull", forBullWorker: true });
const settleQueue = openQueue(QueueNames.settle, { connection: redis });

const running = await startWorker({
  logger,
  pool,
  redis,
  bullConnection,
  consumers: exitOnConfigError(() =>
    consumers({
      config,
      logger,
      db,
      metrics,
      settleQueue,
      engineOptions: { txTimeoutSeconds: config.settleTxTimeoutSeconds },
      leaseMs: config.poolLeaseSeconds * 1000,
    }),
  ),
});

const shutdown = async (signal: string) => {
  logger.info({ signal }, "shutting down");
  await running.close();
  await settleQueue.close();
  await Promise.allSettled([pool.end(), redis.quit(), bullConnection.quit()]);
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await running.http.listen({ host: config.worker.host, port: config.worker.port });
logger.info({ consumers: running.workers.map((w) => w.name) }, "worker started");
