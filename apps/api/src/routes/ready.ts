import type { FastifyInstance } from "fastify";
import type { ReadinessReport } from "@quay/metrics";
import { reportSchema } from "./report-schema";

export interface ReadyRouteDeps {
  readonly readiness: () => Promise<ReadinessReport>;
}

const readySchema = reportSchema(["ready", "not_ready"]);

/**
 * GET /readyz: whether this process can do its work now (see Readiness.check for the parts).
 * 503 while any part is not ready, with every part reported. /healthz stays the liveness check.
 */
export async function readyRoutes(app: FastifyInstance, deps: ReadyRouteDeps): Promise<void> {
  app.get("/readyz", { schema: { response: { 200: readySchema, 503: readySchema } } }, async (_request, reply) => {
    const report = await deps.readiness();
    return reply.status(report.ok ? 200 : 503).send({ status: report.ok ? "ready" : "not_ready", components: report.components });
  });
}
