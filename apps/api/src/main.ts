import { loadOrExit } from "@quay/config";
import { createLogger } from "@quay/log";
import { createApiServer } from "./server";

const config = loadOrExit();
const logger = createLogger({ level: config.logLevel, name: "quay-api" });
const server = await createApiServer(config, logger);

const shutdown = async (signal: string) => {
  logger.info({ signal }, "shutting down");
  await server.close();
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

await server.app.listen({ host: config.api.host, port: config.api.port });
