import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createPool, migrate, type Db, type DbPool } from "@quay/db";
import { ApiKeys, KeySecret } from "@quay/keys";
import { runQuayCli, type CliOutcome } from "../helpers/cli";
import { freshDatabaseUrl } from "../helpers/services";

type Outcome = CliOutcome;

/** `quay <args>` as an operator runs it: its own process, with Quay's environment. */
function quay(args: string[], env: Record<string, string>): Promise<Outcome> {
  return runQuayCli(args, env, 30_000);
}

function expectOneLineError(outcome: Outcome, message: RegExp) {
  expect(outcome.code).toBe(1);
  expect(outcome.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(outcome.stderr).toMatch(/^quay: /);
  expect(outcome.stderr.trimEnd()).toMatch(message);
  expect(outcome.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe("quay keys", () => {
  let pool: DbPool;
  let db: Db;
  let env: Record<string, string>;

  beforeAll(async () => {
    const url = await freshDatabaseUrl();
    pool = createPool({ url });
    await migrate(pool);
    db = createDb(pool);
    env = { DATABASE_URL: url };
  });
  afterAll(async () => {
    await pool.end();
  });

  it("creates a key, prints it once, lists it without the secret, and revokes it by prefix", async () => {
    const created = await quay(["keys", "create", "--tenant", "acme shop", "--networks", "stellar:testnet,stellar:pubnet", "--fee-budget", "2500000", "--rate-limit", "90"], env);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const lines = created.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const key = lines[1]!;
    expect(key).toMatch(/^qk_[A-Za-z0-9_-]{43}$/);
    expect(lines[2]).toMatch(/will not be shown again/);

    const auth = await ApiKeys.authenticate(db, key);
    expect(auth).toMatchObject({
      ok: true,
      key: { tenant: "acme shop", networks: ["stellar:testnet", "stellar:pubnet"], feeBudgetStroops: 2_500_000n, rateLimitPerMinute: 90 },
    });
    const { rows } = await pool.query<{ key_hash: string }>("select key_hash from api_keys");
    expect(rows).toEqual([{ key_hash: KeySecret.hash(key) }]);

    const listed = await quay(["keys", "list"], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(KeySecret.prefix(key));
    expect(listed.stdout).toContain("acme shop");
    expect(listed.stdout).toContain("stellar:testnet,stellar:pubnet");
    expect(listed.stdout).toContain("0/2500000");
    expect(listed.stdout).toMatch(/\bactive\b/);
    expect(listed.stdout).not.toContain(key.slice(KeySecret.prefix(key).length));

    const revoked = await quay(["keys", "revoke", KeySecret.prefix(key)], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked API key [0-9a-f-]{36} /);
    expect(await ApiKeys.authenticate(db, key)).toEqual({ ok: false, reason: "revoked" });
  });

  it("answers operator mistakes with one line and exit 1, never a stack", async () => {
    const [network, budget, rate, unknownKey, noDatabase] = await Promise.all([
      quay(["keys", "create", "--tenant", "t", "--networks", "stellar:moon"], env),
      quay(["keys", "create", "--tenant", "t", "--networks", "stellar:testnet", "--fee-budget", "12.5"], env),
      quay(["keys", "create", "--tenant", "t", "--networks", "stellar:testnet", "--rate-limit", "0"], env),
      quay(["keys", "revoke", "qk_nosuchkey"], env),
      quay(["keys", "list"], {}),
    ]);
    expectOneLineError(network, /unknown network "stellar:moon" \(known: stellar:testnet, stellar:pubnet\)/);
    expectOneLineError(budget, /--fee-budget must be a whole number, got "12.5"/);
    expectOneLineError(rate, /--rate-limit must be a whole number of requests per minute/);
    expectOneLineError(unknownKey, /no API key matches "qk_nosuchkey"/);
    expectOneLineError(noDatabase, /^quay: invalid configuration: DATABASE_URL must be set \(it is required\)$/);
    // Nothing was created by any of them.
    const { rows } = await pool.query("select 1 from tenants where name = 't'");
    expect(rows).toHaveLength(0);
  });

  it("tells the operator to migrate when the database has no tables yet", async () => {
    const outcome = await quay(["keys", "list"], { DATABASE_URL: await freshDatabaseUrl() });
    expectOneLineError(outcome, /run `quay migrate` first/);
  });
});
