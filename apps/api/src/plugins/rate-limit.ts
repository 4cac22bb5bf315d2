import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import fp from "fastify-plugin";
import fastifyRateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { Redis } from "@quay/queue";

/**
 * Requests per minute, counted in Redis so every api process shares one count: per API key (its
 * own `rate_limit_per_minute`, else `perMinute`) and, for requests without a valid key, per client
 * IP (`perMinuteAnonymous`). One count per key across all routes. Runs in onRequest, before the
 * key is checked, so a flood of bad credentials is limited too. Needs the auth plugin (it asks it
 * who the caller is). If Redis cannot answer, requests pass unlimited rather than fail: the
 * payment paths depend on Redis anyway and /healthz reports it.
 */

export interface RateLimitPluginOptions {
  readonly redis: Redis;
  readonly perMinute: number;
  readonly perMinuteAnonymous: number;
  /** Prefix of the counters' Redis keys; lets deployments and tests share one Redis. */
  readonly redisPrefix: string;
}

/** Routes that are never limited: monitoring must see the api even when a client is being throttled. */
const UNLIMITED_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);
const WINDOW_MS = 60_000;

/** A request refused for its rate; the errors plugin renders it as `{ error: "rate_limited", message }`. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  readonly statusCode = 429;
  readonly code = "rate_limited";
}

export const rateLimitPlugin = fp(
  async (app: FastifyInstance, options: RateLimitPluginOptions) => {
    // Registered before @fastify/rate-limit's own onRoute hook, which reads this flag.
    app.addHook("onRoute", (route: RouteOptions) => {
      if (UNLIMITED_PATHS.has(route.url)) route.config = { ...route.config, rateLimit: false };
    });

    const callerKey = async (request: FastifyRequest) => {
      const identity = await app.identifyApiKey(request);
      return identity?.ok ? identity.key : null;
    };

    await app.register(fastifyRateLimit, {
      global: true,
      hook: "onRequest",
      timeWindow: WINDOW_MS,
      redis: options.redis,
      nameSpace: options.redisPrefix,
      skipOnError: true,
      keyGenerator: async (request) => {
        const key = await callerKey(request);
        return key ? `key:${key.id}` : `ip:${normalizeIP(request.ip)}`;
      },
      max: async (request) => {
        const key = await callerKey(request);
        return key ? (key.rateLimitPerMinute ?? options.perMinute) : options.perMinuteAnonymous;
      },
      errorResponseBuilder: (_request, context) => {
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
        return new RateLimitedError(`rate limit exceeded (${context.max} requests per minute): retry in ${seconds} s`);
      },
    });
  },
  { name: "quay-rate-limit", fastify: "5.x", dependencies: ["quay-auth"] },
);
