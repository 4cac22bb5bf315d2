import { createHash, timingSafeEqual } from "node:crypto";
import type { Registry } from "prom-client";

/** What GET /metrics answers; each app's route sends it as is. */
export interface MetricsAnswer {
  readonly status: 200 | 401;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * GET /metrics, shared by the api and the worker. With a token configured (METRICS_TOKEN) only
 * `Authorization: Bearer <token>` is served; the comparison runs on digests in constant time, so
 * neither the token's length nor its prefix leaks through timing.
 */
export const MetricsEndpoint = {
  authorized(token: string | undefined, authorization: string | undefined): boolean {
    if (token === undefined) return true;
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
    return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
  },

  async answer(registry: Registry, token: string | undefined, authorization: string | undefined): Promise<MetricsAnswer> {
    if (!MetricsEndpoint.authorized(token, authorization)) {
      return {
        status: 401,
        headers: { "content-type": "application/json; charset=utf-8", "www-authenticate": 'Bearer realm="quay-metrics"' },
        body: JSON.stringify({ error: "unauthorized", message: "/metrics needs Authorization: Bearer <METRICS_TOKEN>" }),
      };
    }
    return { status: 200, headers: { "content-type": registry.contentType }, body: await registry.metrics() };
  },
};
