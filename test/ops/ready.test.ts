/**
 * /readyz and /metrics on a running Quay (test/settle/harness.ts): every part reported, each
 * not-ready cause named, and /metrics behind its own token when METRICS_TOKEN is set.
 */
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "@quay/api";
import { createLogger } from "@quay/log";
import { ApiKeys } from "@quay/keys";
import { createMetrics, Readiness, SystemState, type StateSources } from "@quay/metrics";
import { PoolCensus } from "@quay/pool";
import { Records } from "@quay/settlement";
import { createRedis } from "@quay/queue";
import { StellarNetwork } from "@quay/stellar";
import { registerOpsRoutes } from "../../apps/worker/src/ops-routes";
import { createDb, createPool, type Db } from "@quay/db";
import { runEntryPoint } from "../helpers/cli";
import { startScriptedRpc, type ScriptedRpc } from "../x402/fixtures";
import { freshDatabaseUrl, redisUrl } from "../helpers/services";
import { startQuay, type QuayHarness } from "../settle/harness";

const silent = createLogger({ level: "silent", name: "test" });
const redis = () => createRedis({ url: redisUrl() });

/** The owning libraries' reads, wired as the api and the worker wire them. */
function sourcesOf(db: Db): StateSources {
  return {
    poolCounts: () => PoolCensus.countsByNetwork(db),
    channelAccounts: (network) => PoolCensus.enabledAccounts(db, network),
    recentFeeBids: () => Records.recentFeeBids(db),
    tenantFees: () => ApiKeys.feesSpentByTenant(db),
  };
}

describe("/readyz", () => {
  let quay: QuayHarness;

  beforeAll(async () => {
    quay = await startQuay({ poolSize: 2 });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  /** A fresh (uncached) view of the harness's Quay, with overrides. */
  function state(overrides: { fundMin?: bigint; rpcUrl?: string; now?: () => number } = {}): SystemState {
    const network = new StellarNetwork(
      { ...quay.config.networks[0]!, ...(overrides.rpcUrl ? { rpcUrl: overrides.rpcUrl, rpcUrls: [overrides.rpcUrl] } : {}) },
      createMetrics({ defaultMetrics: false }),
      { timeoutMs: 1_000 },
    );
    return new SystemState({
      sources: sourcesOf(quay.db),
      networks: [{ network, fundPublicKey: quay.fund.publicKey() }],
      fundMinBalanceStroops: overrides.fundMin ?? quay.config.ops.fundMinBalanceStroops,
      channelMinBalanceStroops: quay.config.ops.channelMinBalanceStroops,
      cacheMs: 0,
      balanceCacheMs: 0,
      ...(overrides.now ? { now: overrides.now } : {}),
    });
  }

  it("answers 200 on the api and the worker, reporting every part", async () => {
    const res = await fetch(`${quay.apiUrl}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; components: Record<string, { ok: boolean; detail?: Record<string, unknown> }> };
    expect(body.status).toBe("ready");
    expect(Object.keys(body.components).sort()).toEqual(["fund:stellar:testnet", "pool:stellar:testnet", "postgres", "redis", "rpc:stellar:testnet"]);
    expect(Object.values(body.components).every((c) => c.ok)).toBe(true);
    expect(body.components["pool:stellar:testnet"]!.detail).toEqual({ free: 2, leased: 0, disabled: 0 });
    expect(body.components["rpc:stellar:testnet"]!.detail!.latestLedger).toBeGreaterThan(1);
    expect(body.components["rpc:stellar:testnet"]!.detail!.protocolVersion).toBe(28);
    expect(body.components["rpc:stellar:testnet"]!.detail!.ageSeconds).toBeLessThan(5);
    expect(BigInt(body.components["fund:stellar:testnet"]!.detail!.balanceStroops as string)).toBeGreaterThan(quay.config.ops.fundMinBalanceStroops);

    const worker = await quay.worker!.running.http.inject({ method: "GET", url: "/readyz" });
    expect(worker.statusCode).toBe(200);
    expect(worker.json().status).toBe("ready");
    // liveness is unchanged
    expect((await fetch(`${quay.apiUrl}/healthz`)).status).toBe(200);
  });

  it("names each part that is not ready", async () => {
    const client = redis();
    try {
      const lowFund = await Readiness.check({ state: state({ fundMin: 10n ** 15n }), postgres: quay.pool, redis: client, maxLedgerAgeSeconds: 30 });
      expect(lowFund.ok).toBe(false);
      expect(lowFund.components["fund:stellar:testnet"]).toMatchObject({ ok: false, error: "fund_balance_low", detail: { thresholdStroops: (10n ** 15n).toString() } });
      expect(lowFund.components["pool:stellar:testnet"]!.ok).toBe(true);

      const rpcDown = await Readiness.check({ state: state({ rpcUrl: "http://127.0.0.1:1" }), postgres: quay.pool, redis: client, maxLedgerAgeSeconds: 30 });
      expect(rpcDown.components["rpc:stellar:testnet"]).toMatchObject({ ok: false, error: "rpc_unavailable" });
      expect(rpcDown.components.postgres!.ok).toBe(true);

      // A clock a minute ahead: the RPC's latest ledger looks a minute old.
      const stale = await Readiness.check({ state: state({ now: () => Date.now() + 60_000 }), postgres: quay.pool, redis: client, maxLedgerAgeSeconds: 30 });
      expect(stale.components["rpc:stellar:testnet"]).toMatchObject({ ok: false, error: "stale_ledger" });
      expect(stale.components["rpc:stellar:testnet"]!.detail!.ageSeconds).toBeGreaterThan(59);

      await quay.pool.query("update channel_accounts set disabled_at = now()");
      const drained = await Readiness.check({ state: state(), postgres: quay.pool, redis: client, maxLedgerAgeSeconds: 30 });
      expect(drained.components["pool:stellar:testnet"]).toMatchObject({ ok: false, error: "no_free_channel_account", detail: { free: 0, leased: 0, disabled: 2 } });
      expect(drained.ok).toBe(false);
      await quay.pool.query("update channel_accounts set disabled_at = null");
    } finally {
      client.disconnect();
    }
  });
});

describe("a network on a protocol Quay does not know", () => {
  let rpc: ScriptedRpc;
  beforeAll(async () => {
    rpc = await startScriptedRpc();
    rpc.override.set("getLatestLedger", { result: { id: "ab".repeat(32), sequence: 1_000, protocolVersion: 29 } });
  });
  afterAll(async () => {
    await rpc?.close();
  });

  it("stops the api and the worker at start with one line naming it, and /readyz reports unsupported_protocol", async () => {
    const env = {
      DATABASE_URL: await freshDatabaseUrl(),
      REDIS_URL: redisUrl(),
      STELLAR_TESTNET_RPC_URL: rpc.url,
      STELLAR_TESTNET_FUND_SECRET: "SDJ2QNBN3XQ4NQVS5Y3YLEDK3TAFHHBYVNR4WFRUNH6TLR2XOYIYLT5R",
      QUAY_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
      API_PORT: "0",
      WORKER_PORT: "0",
      LOG_LEVEL: "silent",
    };
    for (const [app, script] of [["quay-api", "apps/api/src/main.ts"], ["quay-worker", "apps/worker/src/main.ts"]] as const) {
      const ended = await runEntryPoint(script, [], env);
      expect(ended.code, ended.stderr).toBe(78);
      expect(ended.stderr.trimEnd().split("\n")).toEqual([`${app}: stellar:testnet runs protocol 29; this Quay knows protocols 23 to 28: upgrade Quay before pointing it at this network`]);
    }

    const network = new StellarNetwork({ id: "stellar:testnet", passphrase: "Test SDF Network ; September 2015", rpcUrl: rpc.url }, createMetrics({ defaultMetrics: false }));
    const pool = createPool({ url: env.DATABASE_URL });
    const client = redis();
    try {
      const state = new SystemState({ sources: sourcesOf(createDb(pool)), networks: [{ network, fundPublicKey: "GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5" }], fundMinBalanceStroops: 0n, channelMinBalanceStroops: 0n, cacheMs: 0 });
      const report = await Readiness.check({ state, postgres: pool, redis: client, maxLedgerAgeSeconds: 3600 });
      expect(report.components["rpc:stellar:testnet"]).toMatchObject({ ok: false, error: "unsupported_protocol", detail: { protocolVersion: 29 } });
    } finally {
      client.disconnect();
      await pool.end();
    }
  });
});

describe("/metrics", () => {
  const TOKEN = "metrics-token-0123456789abcdef";

  it("is served only with METRICS_TOKEN when one is set, on the api and the worker", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const pool = createPool({ url: await freshDatabaseUrl() });
    const client = redis();
    const api = await buildApi({ logger: silent, pool, redis: client, metrics: { metrics, token: TOKEN } });
    const worker = Fastify();
    registerOpsRoutes(worker, { metrics, metricsToken: TOKEN });
    try {
      for (const app of [api, worker]) {
        const none = await app.inject({ method: "GET", url: "/metrics" });
        expect(none.statusCode).toBe(401);
        expect(none.headers["www-authenticate"]).toMatch(/^Bearer /);
        expect(none.body).not.toContain("quay_");
        const wrong = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}x` } });
        expect(wrong.statusCode).toBe(401);
        const tenantStyle = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: "Bearer qk_not_a_metrics_token" } });
        expect(tenantStyle.statusCode).toBe(401);
        const right = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
        expect(right.statusCode).toBe(200);
        expect(right.headers["content-type"]).toMatch(/^text\/plain; version=0.0.4/);
        expect(right.body).toContain("# TYPE quay_settle_total counter");
      }
      // the api's requests are counted by route pattern; an unknown path is "unmatched", not its URL
      await api.inject({ method: "GET", url: "/healthz" });
      await api.inject({ method: "GET", url: "/no/such/GABCDEF" });
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/quay_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} 1/);
      expect(text).toMatch(/quay_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
      expect(text).not.toContain("GABCDEF");
    } finally {
      await api.close();
      await worker.close();
      await pool.end();
      client.disconnect();
    }
  });
});
