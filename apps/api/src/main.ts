import { loadOrExit } from "@quay/config";
import { createLogger } from "@quay/log";
import { UnsupportedProtocolError } from "@quay/stellar";
import { createApiServer } from "./server";

const config = loadOrExit();
const logger = createLogger({ level: config.logLevel, name: "quay-api" });
const server = await createApiServer(config, logger).catch((error: unknown) => {
  if (!(error instanceof UnsupportedProtocolError)) throw error;
  process.stderr.write(`quay-api: ${error.message}\n`);
  process.exit(78);
});

const shutdown = async (signal: string) => {
  logger.info({ signal }, "shutting down");
  await server.close();
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await server.app.listen({ host: config.api.host, port: config.api.port });
