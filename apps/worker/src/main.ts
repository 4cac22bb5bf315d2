import { exitOnConfigError, loadOrExit } from "@quay/config";
import { createLogger } from "@quay/log";
import { UnsupportedProtocolError } from "@quay/stellar";
import { createWorkerServer } from "./server";

const config = loadOrExit();
const logger = createLogger({ level: config.logLevel, name: "quay-worker" });
const server = await createWorkerServer(config, logger).catch((error: unknown) => {
  if (error instanceof UnsupportedProtocolError) {
    process.stderr.write(`quay-worker: ${error.message}\n`);
    process.exit(78);
  }
  return exitOnConfigError(() => {
    throw error;
  });
});

const shutdown = async (signal: string) => {
  logger.info({ signal }, "shutting down");
  await server.close();
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await server.running.http.listen({ host: config.worker.host, port: config.worker.port });
logger.info({ consumers: server.running.workers.map((w) => w.name) }, "worker started");
