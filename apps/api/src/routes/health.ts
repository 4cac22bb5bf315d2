import type { FastifyInstance } from "fastify";
import { liveness } from "@quay/health";
import type { DbPool } from "@quay/db";
import type { Redis } from "@quay/queue";
import { reportSchema } from "./report-schema";

export interface HealthDeps {
  readonly pool: DbPool;
  readonly redis: Redis;
}

const healthSchema = reportSchema(["ok", "degraded"]);

/** GET /healthz: liveness, with the state of what the process cannot work without. /readyz is the gate. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    "/healthz",
    { schema: { response: { 200: healthSchema } } },
    async () => liveness({ postgres: () => deps.pool.query("select 1"), redis: () => deps.redis.ping() }),
  );
}
