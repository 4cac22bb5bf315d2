import type { FastifyInstance } from "fastify";
import type { ReadinessReport } from "@quay/metrics";

export interface ReadyRouteDeps {
  readonly readiness: () => Promise<ReadinessReport>;
}

const componentSchema = {
  type: "object",
  properties: {
    ok: { type: "boolean" },
    latencyMs: { type: "number" },
    error: { type: "string" },
    detail: { type: "object", additionalProperties: { type: ["string", "number"] } },
  },
  required: ["ok", "latencyMs"],
} as const;

const readySchema = {
  type: "object",
  properties: {
    status: { type: "string", enum: ["ready", "not_ready"] },
    components: { type: "object", additionalProperties: componentSchema },
  },
  required: ["status", "components"],
} as const;

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
