import type { FastifyInstance } from "fastify";
import { report } from "@quay/health";
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
    status: { type: "string", enum: ["ok", "unavailable"] },
    components: { type: "object", additionalProperties: componentSchema },
  },
  required: ["status", "components"],
} as const;

/** GET /healthz: this process and the state of what it cannot work without. 503 when any part is down. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    "/healthz",
    { schema: { response: { 200: healthSchema, 503: healthSchema } } },
    async (_request, reply) => {
      const result = await report({
        postgres: () => deps.pool.query("select 1"),
        redis: () => deps.redis.ping(),
      });
      return reply.status(result.ok ? 200 : 503).send({ status: result.ok ? "ok" : "unavailable", components: result.components });
    },
  );
}
