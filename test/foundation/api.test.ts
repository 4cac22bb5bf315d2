import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApi } from "@quay/api";
import { createLogger } from "@quay/log";
import { createPool, type DbPool } from "@quay/db";
import { createRedis, type Redis } from "@quay/queue";
import { freshDatabaseUrl, redisUrl } from "../helpers/services";

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: "debug", name: "test", destination: stream }) };
}

describe("api", () => {
  let pool: DbPool;
  let redis: Redis;
  let app: FastifyInstance;
  const logs = captureLogs();

  beforeAll(async () => {
    pool = createPool({ url: await freshDatabaseUrl() });
    redis = createRedis({ url: redisUrl() });
    app = await buildApi({ logger: logs.logger, pool, redis });
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    redis.disconnect();
  });

  it("GET /healthz reports Postgres and Redis", async () => {
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe("ok");
    expect(body.components.postgres.ok).toBe(true);
    expect(body.components.redis.ok).toBe(true);
    expect(res.headers["x-request-id"]).toBeTruthy();
  });

  it("GET /healthz stays 200 (the process is alive) and names the part that is down", async () => {
    const deadRedis = createRedis({ url: "redis://127.0.0.1:1" });
    const degraded = await buildApi({ logger: logs.logger, pool, redis: deadRedis });
    const res = await degraded.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe("degraded");
    expect(res.json().components.postgres.ok).toBe(true);
    expect(res.json().components.redis.ok).toBe(false);
    await degraded.close();
    deadRedis.disconnect();
  });

  it("answers unknown routes and malformed JSON with a clean 4xx, never a stack", async () => {
    const missing = await app.inject({ method: "GET", url: "/nope" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: "not_found", message: "no route for GET /nope" });
    const malformed = await app.inject({
      method: "POST",
      url: "/healthz",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(malformed.statusCode).toBeGreaterThanOrEqual(400);
    expect(malformed.statusCode).toBeLessThan(500);
    expect(malformed.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it("keeps a caller's request id", async () => {
    const res = await app.inject({ method: "GET", url: "/healthz", headers: { "x-request-id": "trace-123" } });
    expect(res.headers["x-request-id"]).toBe("trace-123");
    expect(logs.lines.some((l) => l.includes('"requestId":"trace-123"'))).toBe(true);
  });

  it("never writes a secret from a request into the logs", async () => {
    const secrets = {
      bearer: "qk_live_THISISASECRETAPIKEY0001",
      seed: "SBSECRETSEEDSHOULDNEVERAPPEARINLOGS0000000000000000000000",
      signature: "c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw==",
      query: "querysecret123",
    };
    logs.lines.length = 0;
    await app.inject({
      method: "POST",
      url: `/settle?key=${secrets.query}`,
      headers: { authorization: `Bearer ${secrets.bearer}`, "x-api-key": secrets.bearer, "content-type": "application/json" },
      payload: { paymentPayload: { payload: { transaction: secrets.signature } }, seed: secrets.seed },
    });
    // A handler logging a whole object with secrets in it, as a careless line of code would.
    app.log.info({ config: { seed: secrets.seed, apiKey: secrets.bearer }, auth: { signature: secrets.signature } }, "careless");
    const output = logs.lines.join("");
    expect(output).toContain("[redacted]");
    expect(output).toContain("careless");
    for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);
  });
});
