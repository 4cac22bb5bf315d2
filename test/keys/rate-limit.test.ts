import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApi } from "@quay/api";
import { createLogger } from "@quay/log";
import { createDb, createPool, migrate, type Db, type DbPool } from "@quay/db";
import { createRedis, type Redis } from "@quay/queue";
import { ApiKeys } from "@quay/keys";
import { freshDatabaseUrl, redisPrefix, redisUrl } from "../helpers/services";

const DEFAULT_PER_KEY = 5;
const ANONYMOUS_PER_IP = 3;

describe("rate limit on a real Redis", () => {
  let pool: DbPool;
  let db: Db;
  let redis: Redis;
  let app: FastifyInstance;
  const prefix = `${redisPrefix()}:rl:`;

  const call = (options: { key?: string; ip?: string; url?: string } = {}) =>
    app.inject({
      method: "GET",
      url: options.url ?? "/test/limited",
      headers: options.key ? { authorization: `Bearer ${options.key}` } : {},
      remoteAddress: options.ip ?? "192.0.2.1",
    });
  const statuses = async (n: number, options: Parameters<typeof call>[0]) => {
    const codes: number[] = [];
    for (let i = 0; i < n; i++) codes.push((await call(options)).statusCode);
    return codes;
  };

  beforeAll(async () => {
    pool = createPool({ url: await freshDatabaseUrl() });
    await migrate(pool);
    db = createDb(pool);
    redis = createRedis({ url: redisUrl() });
    app = await buildApi({
      logger: createLogger({ level: "silent", name: "test" }),
      pool,
      redis,
      rateLimit: { perMinute: DEFAULT_PER_KEY, perMinuteAnonymous: ANONYMOUS_PER_IP, redisPrefix: prefix },
    });
    app.get("/test/limited", { config: { apiKey: app.apiKeyPolicies.supported } }, async (request) => ({ keyId: request.apiKey?.id ?? null }));
    app.get("/test/other", { config: { apiKey: app.apiKeyPolicies.supported } }, async () => ({ ok: true }));
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    redis.disconnect();
  });

  it("gives a key the default limit, then 429 rate_limited with Retry-After", async () => {
    const { key } = await ApiKeys.create(db, { tenant: "default-limit", networks: ["stellar:testnet"] });
    expect(await statuses(DEFAULT_PER_KEY, { key })).toEqual(Array(DEFAULT_PER_KEY).fill(200));
    const limited = await call({ key });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: "rate_limited", message: expect.stringMatching(/^rate limit exceeded \(5 requests per minute\): retry in \d+ s$/) });
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.json().message).toContain(`retry in ${retryAfter} s`);
    // The count is per key across routes, not per route.
    expect((await call({ key, url: "/test/other" })).statusCode).toBe(429);
  });

  it("uses a key's own limit, counts keys separately, and keeps keyed traffic off the IP's count", async () => {
    const generous = await ApiKeys.create(db, { tenant: "own-limit", networks: ["stellar:testnet"], rateLimitPerMinute: 8 });
    const other = await ApiKeys.create(db, { tenant: "own-limit", networks: ["stellar:testnet"] });
    const ip = "198.51.100.7";
    expect(await statuses(9, { key: generous.key, ip })).toEqual([...Array(8).fill(200), 429]);
    // Same client, another key: its own count, untouched by the first key's.
    expect(await statuses(DEFAULT_PER_KEY + 1, { key: other.key, ip })).toEqual([...Array(DEFAULT_PER_KEY).fill(200), 429]);
    // Same client without a key: the IP's count, untouched by the keyed requests.
    expect(await statuses(ANONYMOUS_PER_IP, { ip })).toEqual(Array(ANONYMOUS_PER_IP).fill(200));
  });

  it("limits requests without a valid key per IP, bad keys included", async () => {
    const ip = "203.0.113.9";
    const codes = [
      (await call({ ip })).statusCode,
      (await call({ ip, key: "qk_not-a-real-key" })).statusCode, // malformed: 401, and counted against the IP
      (await call({ ip })).statusCode,
      (await call({ ip })).statusCode,
    ];
    expect(codes).toEqual([200, 401, 200, 429]);
    const limited = await call({ ip });
    expect(limited.headers["retry-after"]).toBeDefined();
    expect(limited.json().error).toBe("rate_limited");
    // Another IP has its own count.
    expect((await call({ ip: "203.0.113.10" })).statusCode).toBe(200);
  });

  it("keeps the counts in Redis under the configured prefix", async () => {
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toEqual(expect.arrayContaining([`${prefix}ip:203.0.113.9`, `${prefix}ip:203.0.113.10`]));
    expect(keys.some((k) => k.startsWith(`${prefix}key:`))).toBe(true);
    const ttl = await redis.pttl(`${prefix}ip:203.0.113.9`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("never limits /healthz", async () => {
    const ip = "192.0.2.200";
    expect(await statuses(ANONYMOUS_PER_IP + 1, { ip })).toEqual([...Array(ANONYMOUS_PER_IP).fill(200), 429]);
    const health = await statuses(ANONYMOUS_PER_IP + 2, { ip, url: "/healthz" });
    expect(health).toEqual(Array(ANONYMOUS_PER_IP + 2).fill(200));
  });

  it("shares counts between api processes through Redis", async () => {
    const second = await buildApi({
      logger: createLogger({ level: "silent", name: "test" }),
      pool,
      redis,
      rateLimit: { perMinute: DEFAULT_PER_KEY, perMinuteAnonymous: ANONYMOUS_PER_IP, redisPrefix: prefix },
    });
    second.get("/test/limited", async () => ({ ok: true }));
    try {
      const ip = "192.0.2.77";
      expect(await statuses(ANONYMOUS_PER_IP, { ip })).toEqual(Array(ANONYMOUS_PER_IP).fill(200));
      const elsewhere = await second.inject({ method: "GET", url: "/test/limited", remoteAddress: ip });
      expect(elsewhere.statusCode).toBe(429);
    } finally {
      await second.close();
    }
  });
});
