import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Metrics } from "@quay/metrics";

export interface HttpMetricsOptions {
  readonly metrics: Metrics;
}

/**
 * Every answered request into `quay_http_request_duration_seconds`, labelled by the route's
 * pattern (never the raw URL: ids and query strings would make a series per request) and status.
 * Requests that matched no route share the label "unmatched".
 */
export const httpMetricsPlugin = fp(
  async (app: FastifyInstance, options: HttpMetricsOptions) => {
    app.addHook("onResponse", async (request, reply) => {
      options.metrics.httpRequests.observe(
        { method: request.method, route: request.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  },
  { name: "quay-http-metrics", fastify: "5.x" },
);
