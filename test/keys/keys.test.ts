import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createPool, migrate, type Db, type DbPool } from "@quay/db";
import {
  AmbiguousApiKeyError,
  ApiKeyInputError,
  ApiKeys,
  CachedAuthenticator,
  KeySecret,
  UnknownApiKeyError,
} from "@quay/keys";
import { freshDatabaseUrl } from "../helpers/services";

describe("ApiKeys on a real Postgres", () => {
  let pool: DbPool;
  let db: Db;

  beforeAll(async () => {
    pool = createPool({ url: await freshDatabaseUrl() });
    await migrate(pool);
    db = createDb(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  it("stores only the key's hash and a short prefix, and the key authenticates", async () => {
    const created = await ApiKeys.create(db, { tenant: "acme", networks: ["stellar:testnet"], feeBudgetStroops: 5_000n, rateLimitPerMinute: 30 });
    expect(created.key).toMatch(/^qk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(created.key.slice(3), "base64url")).toHaveLength(32);

    // Nothing anywhere in the database contains the key or its random part.
    const { rows } = await pool.query<{ dump: string }>(
      "select (select coalesce(json_agg(a), '[]')::text from api_keys a) || (select json_agg(t)::text from tenants t) as dump",
    );
    expect(rows[0]!.dump).not.toContain(created.key.slice(3));
    const stored = await pool.query<{ key_hash: string; prefix: string }>("select key_hash, prefix from api_keys where id = $1", [created.id]);
    expect(stored.rows[0]).toEqual({ key_hash: KeySecret.hash(created.key), prefix: created.key.slice(0, 11) });

    const result = await ApiKeys.authenticate(db, created.key);
    expect(result).toEqual({
      ok: true,
      key: {
        id: created.id,
        prefix: created.prefix,
        tenantId: created.tenantId,
        tenant: "acme",
        networks: ["stellar:testnet"],
        feeBudgetStroops: 5_000n,
        feeSpentStroops: 0n,
        rateLimitPerMinute: 30,
        allowedContracts: null,
        contractCapacityPercent: null,
        feeResetPeriodSeconds: null,
        feePeriodStartedAt: null,
      },
    });
  });

  it("creates a tenant once and gives it as many keys as asked", async () => {
    const a = await ApiKeys.create(db, { tenant: "shared-tenant", networks: ["stellar:testnet"] });
    const b = await ApiKeys.create(db, { tenant: "shared-tenant", networks: ["stellar:pubnet", "stellar:testnet", "stellar:pubnet"] });
    expect(a.tenantId).toBe(b.tenantId);
    expect(a.key).not.toBe(b.key);
    const listed = (await ApiKeys.list(db)).filter((k) => k.tenant === "shared-tenant");
    expect(listed.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
    expect(listed.find((k) => k.id === b.id)!.networks).toEqual(["stellar:pubnet", "stellar:testnet"]);
    // A listing never carries the secret or its hash.
    for (const row of listed) {
      expect(Object.keys(row).sort()).toEqual(
        [
          "allowedContracts",
          "contractCapacityPercent",
          "createdAt",
          "feeBudgetStroops",
          "feePeriodStartedAt",
          "feeResetPeriodSeconds",
          "feeSpentStroops",
          "id",
          "networks",
          "prefix",
          "rateLimitPerMinute",
          "revokedAt",
          "tenant",
          "tenantId",
        ].sort(),
      );
    }
  });

  it("refuses malformed, unknown and revoked keys, each for its own reason", async () => {
    const created = await ApiKeys.create(db, { tenant: "to-revoke", networks: ["stellar:testnet"] });
    expect(await ApiKeys.authenticate(db, "")).toEqual({ ok: false, reason: "malformed" });
    expect(await ApiKeys.authenticate(db, created.key.slice(0, -1))).toEqual({ ok: false, reason: "malformed" });
    expect(await ApiKeys.authenticate(db, `${created.key}x`)).toEqual({ ok: false, reason: "malformed" });
    expect(await ApiKeys.authenticate(db, KeySecret.generate())).toEqual({ ok: false, reason: "unknown" });

    const revoked = await ApiKeys.revoke(db, created.prefix);
    expect(revoked).toMatchObject({ id: created.id, tenant: "to-revoke", alreadyRevoked: false });
    expect(await ApiKeys.authenticate(db, created.key)).toEqual({ ok: false, reason: "revoked" });

    const again = await ApiKeys.revoke(db, created.id);
    expect(again.alreadyRevoked).toBe(true);
    expect(again.revokedAt).toEqual(revoked.revokedAt);
  });

  it("says so when a revoke reference matches no key, treating LIKE wildcards literally", async () => {
    expect((await ApiKeys.list(db)).length).toBeGreaterThan(1);
    await expect(ApiKeys.revoke(db, "qk_doesnotexist")).rejects.toBeInstanceOf(UnknownApiKeyError);
    await expect(ApiKeys.revoke(db, "00000000-0000-4000-8000-000000000000")).rejects.toBeInstanceOf(UnknownApiKeyError);
    // Too short to name one key (every key starts with qk_).
    await expect(ApiKeys.revoke(db, "qk_")).rejects.toThrow('no API key matches "qk_"');
    // As patterns these would match every key; as text they match none.
    await expect(ApiKeys.revoke(db, "qk_%")).rejects.toBeInstanceOf(UnknownApiKeyError);
    await expect(ApiKeys.revoke(db, "q_%_")).rejects.toBeInstanceOf(UnknownApiKeyError);
    const active = (await ApiKeys.list(db)).filter((k) => k.revokedAt === null);
    expect(active.length).toBeGreaterThan(1);
  });

  it("rejects bad input with a typed error naming the field", async () => {
    const bad = [
      [{ tenant: "t", networks: ["stellar:moon"] }, "networks", /unknown network "stellar:moon"/],
      [{ tenant: "t", networks: [] }, "networks", /at least one network/],
      [{ tenant: "  ", networks: ["stellar:testnet"] }, "tenant", /tenant name/],
      [{ tenant: "t", networks: ["stellar:testnet"], feeBudgetStroops: -1n }, "feeBudgetStroops", /fee budget/],
      [{ tenant: "t", networks: ["stellar:testnet"], rateLimitPerMinute: 0 }, "rateLimitPerMinute", /rate limit/],
      [{ tenant: "t", networks: ["stellar:testnet"], rateLimitPerMinute: 1.5 }, "rateLimitPerMinute", /rate limit/],
    ] as const;
    for (const [input, field, message] of bad) {
      const error = await ApiKeys.create(db, input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiKeyInputError);
      expect((error as ApiKeyInputError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
    const { rows } = await pool.query("select 1 from tenants where name = 't'");
    expect(rows).toHaveLength(0);
  });

  it("tells an ambiguous prefix apart from an unknown one", async () => {
    const a = await ApiKeys.create(db, { tenant: "prefix-clash", networks: ["stellar:testnet"] });
    const b = await ApiKeys.create(db, { tenant: "prefix-clash", networks: ["stellar:testnet"] });
    // Give both keys the same listed prefix, as a (rare) collision would.
    await pool.query("update api_keys set prefix = 'qk_SAMEPREF' where id = any($1)", [[a.id, b.id]]);
    const error = await ApiKeys.revoke(db, "qk_SAMEPREF").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousApiKeyError);
    expect((error as AmbiguousApiKeyError).ids.slice().sort()).toEqual([a.id, b.id].sort());
    expect(await ApiKeys.authenticate(db, a.key)).toMatchObject({ ok: true });
  });

  it("computes the budget left: null without a budget, never below zero", () => {
    expect(ApiKeys.budgetLeft({ feeBudgetStroops: null, feeSpentStroops: 99n })).toBeNull();
    expect(ApiKeys.budgetLeft({ feeBudgetStroops: 100n, feeSpentStroops: 40n })).toBe(60n);
    expect(ApiKeys.budgetLeft({ feeBudgetStroops: 100n, feeSpentStroops: 130n })).toBe(0n);
  });

  it("caches authentications for its TTL only: a revocation takes effect once it passes", async () => {
    const created = await ApiKeys.create(db, { tenant: "cached", networks: ["stellar:testnet"] });
    let now = 1_000_000;
    const cache = new CachedAuthenticator(db, { ttlMs: 5_000, now: () => now });
    expect(await cache.authenticate(created.key)).toMatchObject({ ok: true });
    await ApiKeys.revoke(db, created.id);
    now += 4_999;
    expect(await cache.authenticate(created.key)).toMatchObject({ ok: true });
    now += 2;
    expect(await cache.authenticate(created.key)).toEqual({ ok: false, reason: "revoked" });
  });
});
