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
import { httpMetricsPlugin } from "./plugins/http-metrics";
import { metricsRoutes, type MetricsRouteDeps } from "./routes/metrics";
import { readyRoutes, type ReadyRouteDeps } from "./routes/ready";
import { x402Routes, type X402RouteDeps } from "./x402/routes";
import { mppRoutes, type MppRouteDeps } from "./mpp/routes";
import { channelsRoutes, type ChannelsRouteDeps } from "./channels/routes";

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
  /** The MPP relayer routes (/mpp/...); absent in processes that serve only health. */
  readonly mpp?: MppRouteDeps;
  /** The OZ Channels API (/channels/<network>, /api/v1/plugins/<id>/call); absent, it is not served. */
  readonly channels?: ChannelsRouteDeps;
  /** GET /metrics and the HTTP request metrics; absent, neither is served. */
  readonly metrics?: MetricsRouteDeps;
  /** GET /readyz; absent, it is not served. */
  readonly ready?: ReadyRouteDeps;
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
  if (deps.metrics) await app.register(httpMetricsPlugin, { metrics: deps.metrics.metrics });
  const access = Config.apiAccessDefaults();
  await app.register(authPlugin, { db: createDb(deps.pool), ...access.apiKeys, ...deps.apiKeys });
  await app.register(rateLimitPlugin, { redis: deps.redis, redisPrefix: "quay:ratelimit:", ...access.rateLimit, ...deps.rateLimit });
  await app.register(healthRoutes, deps);
  if (deps.metrics) await app.register(metricsRoutes, deps.metrics);
  if (deps.ready) await app.register(readyRoutes, deps.ready);
  if (deps.x402) await app.register(x402Routes, deps.x402);
  if (deps.mpp) await app.register(mppRoutes, deps.mpp);
  if (deps.channels) await app.register(channelsRoutes, deps.channels);
  return app;
}
