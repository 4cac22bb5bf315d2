import type { FastifyInstance } from "fastify";
import { MetricsEndpoint, type Metrics } from "@quay/metrics";

export interface MetricsRouteDeps {
  readonly metrics: Metrics;
  /** METRICS_TOKEN: when set, only `Authorization: Bearer <token>` is served. */
  readonly token?: string;
}

/** GET /metrics: the process's Prometheus metrics. Not rate limited (see the rate-limit plugin) and not behind tenants' keys. */
export async function metricsRoutes(app: FastifyInstance, deps: MetricsRouteDeps): Promise<void> {
  app.get("/metrics", async (request, reply) => {
    const answer = await MetricsEndpoint.answer(deps.metrics.registry, deps.token, request.headers.authorization);
    return reply.status(answer.status).headers(answer.headers).send(answer.body);
  });
}
