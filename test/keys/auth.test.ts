import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { eq } from "drizzle-orm";
import { buildApi } from "@quay/api";
import { createLogger } from "@quay/log";
import { createDb, createPool, migrate, schema, type Db, type DbPool } from "@quay/db";
import { createRedis, type Redis } from "@quay/queue";
import { ApiKeys, KeySecret } from "@quay/keys";
import { freshDatabaseUrl, redisPrefix, redisUrl } from "../helpers/services";

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

/** A stand-in for the x402 routes: a paid route (key policy from config) that names its network in the body. */
function addTestRoutes(app: FastifyInstance) {
  app.post<{ Body: { network: string } }>(
    "/test/paid",
    {
      config: { apiKey: app.apiKeyPolicies.x402 },
      schema: { body: { type: "object", properties: { network: { type: "string" } }, required: ["network"] } },
    },
    async (request) => {
      request.assertNetwork(request.body.network);
      request.log.info("paid route reached");
      return { keyId: request.apiKey?.id ?? null, tenant: request.apiKey?.tenant ?? null };
    },
  );
  app.get("/test/supported", { config: { apiKey: app.apiKeyPolicies.supported } }, async (request) => ({
    keyId: request.apiKey?.id ?? null,
  }));
  app.get("/test/open", async (request) => ({ keyId: request.apiKey?.id ?? null }));
  // Routes in an encapsulated plugin, as the x402 and MPP routes are, get the same treatment.
  void app.register(async (child) => {
    child.get("/test/nested", { config: { apiKey: child.apiKeyPolicies.relayer } }, async (request) => ({ keyId: request.apiKey?.id ?? null }));
  });
}

describe("auth plugin", () => {
  let pool: DbPool;
  let db: Db;
  let redis: Redis;
  let app: FastifyInstance;
  const logs = captureLogs();
  const keys: Record<"testnet" | "both" | "broke" | "revoked", { id: string; key: string }> = {} as never;

  const paid = (authorization: string | undefined, network = "stellar:testnet") =>
    app.inject({
      method: "POST",
      url: "/test/paid",
      headers: authorization === undefined ? {} : { authorization },
      payload: { network },
    });

  beforeAll(async () => {
    pool = createPool({ url: await freshDatabaseUrl() });
    await migrate(pool);
    db = createDb(pool);
    redis = createRedis({ url: redisUrl() });
    keys.testnet = await ApiKeys.create(db, { tenant: "seller", networks: ["stellar:testnet"] });
    keys.both = await ApiKeys.create(db, { tenant: "seller", networks: ["stellar:testnet", "stellar:pubnet"] });
    keys.broke = await ApiKeys.create(db, { tenant: "thrifty", networks: ["stellar:testnet"], feeBudgetStroops: 1_000n });
    // Its budget spent, as settlements charge it (Records.finalize).
    await db.update(schema.apiKeys).set({ feeSpentStroops: 1_000n }).where(eq(schema.apiKeys.id, keys.broke.id));
    keys.revoked = await ApiKeys.create(db, { tenant: "gone", networks: ["stellar:testnet"] });
    await ApiKeys.revoke(db, keys.revoked.id);
    // No authentication cache here: each request sees the database as it is.
    app = await buildApi({ logger: logs.logger, pool, redis, apiKeys: { cacheTtlMs: 0 }, rateLimit: { redisPrefix: `${redisPrefix()}:rl:` } });
    addTestRoutes(app);
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    redis.disconnect();
  });

  it("lets a valid key through and puts it on the request", async () => {
    const res = await paid(`Bearer ${keys.testnet.key}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ keyId: keys.testnet.id, tenant: "seller" });
    // The scheme name is case-insensitive (RFC 7235).
    expect((await paid(`bearer ${keys.both.key}`, "stellar:pubnet")).json()).toEqual({ keyId: keys.both.id, tenant: "seller" });
  });

  it("answers 401 with WWW-Authenticate when the key is missing", async () => {
    const res = await paid(undefined);
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="quay"');
    expect(res.json()).toEqual({ error: "unauthorized", message: expect.stringContaining("needs an API key") });
  });

  it.each([
    ["malformed (not bearer)", () => `Basic ${Buffer.from("user:pass").toString("base64")}`, /not a Quay API key/],
    ["malformed (not a key)", () => "Bearer not-a-key", /not a Quay API key/],
    ["malformed (empty)", () => "Bearer ", /not a Quay API key/],
    ["unknown", () => `Bearer ${KeySecret.generate()}`, /unknown API key/],
    ["revoked", () => `Bearer ${keys.revoked.key}`, /revoked/],
  ])("answers 401 for a %s key", async (_name, header, message) => {
    const res = await paid(header());
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="quay", error="invalid_token"');
    expect(res.json()).toEqual({ error: "unauthorized", message: expect.stringMatching(message) });
  });

  it("applies a policy to routes inside encapsulated plugins", async () => {
    expect((await app.inject({ method: "GET", url: "/test/nested" })).statusCode).toBe(401);
    const res = await app.inject({ method: "GET", url: "/test/nested", headers: { authorization: `Bearer ${keys.testnet.key}` } });
    expect(res.json()).toEqual({ keyId: keys.testnet.id });
  });

  it("answers 403 forbidden_network for a network the key is not scoped to", async () => {
    const res = await paid(`Bearer ${keys.testnet.key}`, "stellar:pubnet");
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: "forbidden_network", message: 'this API key is not enabled for network "stellar:pubnet"' });
  });

  it("answers 429 fee_budget_exhausted once the key's fee budget is spent", async () => {
    const res = await paid(`Bearer ${keys.broke.key}`);
    expect(res.statusCode).toBe(429);
    expect(res.json()).toEqual({ error: "fee_budget_exhausted", message: expect.stringContaining("fee budget") });
    // The budget gates routes that spend fees only: /supported still answers.
    const supported = await app.inject({ method: "GET", url: "/test/supported", headers: { authorization: `Bearer ${keys.broke.key}` } });
    expect(supported.statusCode).toBe(200);
    expect(supported.json()).toEqual({ keyId: keys.broke.id });
  });

  it("reads a budget raised or a key revoked right away when caching is off", async () => {
    const fresh = await ApiKeys.create(db, { tenant: "lifecycle", networks: ["stellar:testnet"] });
    expect((await paid(`Bearer ${fresh.key}`)).statusCode).toBe(200);
    await ApiKeys.revoke(db, fresh.id);
    expect((await paid(`Bearer ${fresh.key}`)).statusCode).toBe(401);
  });

  it("makes /supported's key optional by default, but a key that is sent must be valid", async () => {
    const anonymous = await app.inject({ method: "GET", url: "/test/supported" });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ keyId: null });
    const withKey = await app.inject({ method: "GET", url: "/test/supported", headers: { authorization: `Bearer ${keys.testnet.key}` } });
    expect(withKey.json()).toEqual({ keyId: keys.testnet.id });
    const badKey = await app.inject({ method: "GET", url: "/test/supported", headers: { authorization: `Bearer ${keys.revoked.key}` } });
    expect(badKey.statusCode).toBe(401);
    // A route without a key policy ignores the header altogether.
    const open = await app.inject({ method: "GET", url: "/test/open", headers: { authorization: `Bearer ${keys.revoked.key}` } });
    expect(open.statusCode).toBe(200);
    expect(open.json()).toEqual({ keyId: null });
  });

  it("follows X402_REQUIRE_API_KEY=false and SUPPORTED_REQUIRE_API_KEY=true", async () => {
    const flipped = await buildApi({
      logger: logs.logger,
      pool,
      redis,
      apiKeys: { x402RequireKey: false, supportedRequireKey: true, cacheTtlMs: 0 },
      rateLimit: { redisPrefix: `${redisPrefix()}:rl-flipped:` },
    });
    addTestRoutes(flipped);
    try {
      const anonymousPaid = await flipped.inject({ method: "POST", url: "/test/paid", payload: { network: "stellar:pubnet" } });
      expect(anonymousPaid.statusCode).toBe(200);
      expect(anonymousPaid.json()).toEqual({ keyId: null, tenant: null });
      // Optional is not a loophole: a key that is sent is still held to its networks.
      const scoped = await flipped.inject({
        method: "POST",
        url: "/test/paid",
        headers: { authorization: `Bearer ${keys.testnet.key}` },
        payload: { network: "stellar:pubnet" },
      });
      expect(scoped.statusCode).toBe(403);
      const anonymousSupported = await flipped.inject({ method: "GET", url: "/test/supported" });
      expect(anonymousSupported.statusCode).toBe(401);
    } finally {
      await flipped.close();
    }
  });

  it("refuses before reading the body: an unauthenticated request never reaches validation", async () => {
    const res = await app.inject({ method: "POST", url: "/test/paid", headers: { "content-type": "application/json" }, payload: "{not json" });
    expect(res.statusCode).toBe(401);
  });

  it("never writes the key into the logs", async () => {
    logs.lines.length = 0;
    for (const key of [keys.testnet.key, keys.revoked.key]) {
      await paid(`Bearer ${key}`);
      await paid(`Bearer ${key}`, "stellar:pubnet");
    }
    app.log.info({ req: { headers: { authorization: `Bearer ${keys.testnet.key}` } } }, "logged headers");
    const output = logs.lines.join("");
    expect(output).toContain("paid route reached");
    expect(output).toContain(keys.testnet.id); // the key's id is logged, so requests can be traced to a tenant
    expect(output).toContain("[redacted]");
    for (const key of [keys.testnet.key, keys.revoked.key]) {
      expect(output).not.toContain(key);
      expect(output).not.toContain(key.slice(3, 30));
      expect(output).not.toContain(KeySecret.hash(key));
    }
  });
});
