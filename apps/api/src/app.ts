import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "@quay/log";
import { createDb, type DbPool } from "@quay/db";
import type { Redis } from "@quay/queue";
import { Config, type QuayConfig } from "@quay/config";
import { errorsPlugin } from "./plugins/errors";
import { authPlugin } from "./plugins/auth";
import { rateLimitPlugin } from "./plugins/rate-limit";
import { healthRoutes } from "./routes/health";
import { x402Routes, type X402RouteDeps } from "./x402/routes";

export interface ApiDeps {
  readonly logger: Logger;
  readonly pool: DbPool;
  readonly redis: Redis;
  /** Largest request body accepted; x402 payloads are a few KiB. */
  readonly bodyLimitBytes?: number;
  /** Bearer-key settings (config.apiKeys); absent parts take the documented defaults. `cacheTtlMs` bounds how late a revocation takes effect. */
  readonly apiKeys?: Partial<QuayConfig["apiKeys"]> & { readonly cacheTtlMs?: number };
  /** Rate limits (config.rateLimit); `redisPrefix` isolates the counters in a shared Redis. */
  readonly rateLimit?: Partial<QuayConfig["rateLimit"]> & { readonly redisPrefix?: string };
  /** The x402 facilitator routes; absent in processes that serve only health. */
  readonly x402?: X402RouteDeps;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes ?? 256 * 1024,
    requestIdHeader: "x-request-id",
    logController: new LogController({ requestIdLogLabel: "requestId" }),
    // A caller's request id is kept when it is a plain token, so logs correlate across services.
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  await app.register(errorsPlugin);
  const access = Config.apiAccessDefaults();
  await app.register(authPlugin, { db: createDb(deps.pool), ...access.apiKeys, ...deps.apiKeys });
  await app.register(rateLimitPlugin, { redis: deps.redis, redisPrefix: "quay:ratelimit:", ...access.rateLimit, ...deps.rateLimit });
  await app.register(healthRoutes, deps);
  if (deps.x402) await app.register(x402Routes, deps.x402);
  return app;
}
