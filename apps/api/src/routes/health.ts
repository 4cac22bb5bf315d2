import type { FastifyInstance } from "fastify";
import { liveness } from "@quay/health";
import type { DbPool } from "@quay/db";
import type { Redis } from "@quay/queue";

export interface HealthDeps {
  readonly pool: DbPool;
  readonly redis: Redis;
}

const componentSchema = {
  type: "object",
  properties: { ok: { type: "boolean" }, latencyMs: { type: "number" }, error: { type: "string" } },
  required: ["ok", "latencyMs"],
} as const;

const healthSchema = {
  type: "object",
  properties: {
    status: { type: "string", enum: ["ok", "degraded"] },
    components: { type: "object", additionalProperties: componentSchema },
  },
  required: ["status", "components"],
} as const;

/** GET /healthz: liveness, with the state of what the process cannot work without. /readyz is the gate. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    "/healthz",
    { schema: { response: { 200: healthSchema } } },
    async () => liveness({ postgres: () => deps.pool.query("select 1"), redis: () => deps.redis.ping() }),
  );
}
