import type { FastifyInstance } from "fastify";
import type { Worker } from "bullmq";
import { MetricsEndpoint, type Metrics, type ReadinessReport } from "@quay/metrics";

export interface WorkerOpsDeps {
  readonly metrics: Metrics;
  /** METRICS_TOKEN: when set, /metrics answers only `Authorization: Bearer <token>`. */
  readonly metricsToken?: string;
  readonly readiness?: () => Promise<ReadinessReport>;
}

/** The worker's GET /metrics and GET /readyz (the same answers as the api's). */
export function registerOpsRoutes(http: FastifyInstance, deps: WorkerOpsDeps): void {
  http.get("/metrics", async (request, reply) => {
    const answer = await MetricsEndpoint.answer(deps.metrics.registry, deps.metricsToken, request.headers.authorization);
    return reply.status(answer.status).headers(answer.headers).send(answer.body);
  });
  const { readiness } = deps;
  if (readiness) {
    http.get("/readyz", async (_request, reply) => {
      const report = await readiness();
      return reply.status(report.ok ? 200 : 503).send({ status: report.ok ? "ready" : "not_ready", components: report.components });
    });
  }
}

/** Records how long each job waited in its queue before its first attempt (later attempts wait out a backoff, not the queue). */
export function recordQueueWait(worker: Worker, metrics: Metrics, now: () => number = Date.now): void {
  worker.on("active", (job) => {
    if (job.attemptsStarted > 1) return;
    const enqueuedAt = job.timestamp + (job.delay ?? 0);
    metrics.queueWait.observe({ queue: worker.name }, Math.max(0, ((job.processedOn ?? now()) - enqueuedAt) / 1000));
  });
}
