import type { FastifyInstance } from "fastify";
import { Keypair } from "@stellar/stellar-sdk";
import type { QuayConfig } from "@quay/config";
import type { Logger } from "@quay/log";
import { createDb, createPool } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { createMetrics, Readiness, SystemState, type Metrics, type StateSources } from "@quay/metrics";
import { PoolCensus } from "@quay/pool";
import { createRedis, openQueue, QueueNames } from "@quay/queue";
import { OutcomeWaiter, Records } from "@quay/settlement";
import { requireKnownProtocols, StellarNetwork } from "@quay/stellar";
import { buildApi } from "./app";
import { VerifierContexts } from "./x402/context";

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** Everything the api process runs, wired from the configuration; `main.ts` and tests both start it here. */
export async function createApiServer(config: QuayConfig, logger: Logger): Promise<ApiServer> {
  const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: "quay-api" });
  const db = createDb(pool);
  const redis = createRedis({ url: config.redis.url, connectionName: "quay-api" });
  const metrics = createMetrics();
  const served = config.networks.map((n) => ({ config: n, network: new StellarNetwork(n, metrics) }));
  await requireKnownProtocols(
    served.map((s) => s.network),
    (network, err) => logger.warn({ network, err }, "the RPC does not answer: its protocol is checked once it does"),
  );
  const settleQueue = openQueue(QueueNames.settle, { connection: redis, prefix: config.redis.prefix });
  const waiter = new OutcomeWaiter(config.database.url, db);
  const contexts = new VerifierContexts(db, served, metrics);
  const mppCloseQueue = openQueue(QueueNames.mppClose, { connection: redis, prefix: config.redis.prefix });
  // Readiness only: the worker exports the state gauges, so they are not scraped twice.
  const sources: StateSources = {
    poolCounts: () => PoolCensus.countsByNetwork(db),
    channelAccounts: (network) => PoolCensus.enabledAccounts(db, network),
    recentFeeBids: () => Records.recentFeeBids(db),
    tenantFees: () => ApiKeys.feesSpentByTenant(db),
  };
  const state = SystemState.forConfig(config, sources, served.map((s) => s.network));

  const app = await buildApi({
    logger,
    pool,
    redis,
    apiKeys: config.apiKeys,
    rateLimit: { ...config.rateLimit, redisPrefix: `${config.redis.prefix}:ratelimit:` },
    x402: {
      db,
      served,
      contexts,
      queue: settleQueue,
      waiter,
      metrics,
      settleWaitMs: config.settleWaitSeconds * 1000,
    },
    mpp: {
      charges: {
        db,
        queue: settleQueue,
        waiter,
        networks: async () => (await contexts.current()).networks,
        waitMs: config.settleWaitSeconds * 1000,
      },
      channels: {
        db,
        networks: new Map(served.map((s) => [s.config.id, s.network])),
        masterKey: config.masterKey,
        wasmHashes: config.mpp.channelWasmHashes,
        closeQueue: mppCloseQueue,
        settleQueue,
        waiter,
        closeWaitMs: config.settleWaitSeconds * 1000,
      },
    },
    channels: {
      db,
      queue: settleQueue,
      waiter,
      metrics,
      networks: new Map(
        served.map((s) => [s.config.id, { network: s.network, fundPublicKey: Keypair.fromSecret(s.config.fundSecret).publicKey(), assets: s.config.assets, maxFeeStroops: s.config.maxFeeStroops }]),
      ),
      quayAddresses: async (network) => (await contexts.current()).networks.get(network)?.quayAddresses ?? new Set<string>(),
      waitMs: config.channelsApi.waitSeconds * 1000,
      authExpiryBufferLedgers: config.channelsApi.authExpiryBufferLedgers,
      maxTimeBoundOffsetSeconds: config.channelsApi.maxTimeBoundOffsetSeconds,
      leaseSeconds: config.poolLeaseSeconds,
      ...(config.channelsApi.adminSecret ? { adminSecret: config.channelsApi.adminSecret } : {}),
    },
    metrics: { metrics, ...(config.ops.metricsToken ? { token: config.ops.metricsToken } : {}) },
    ready: { readiness: () => Readiness.check({ state, postgres: pool, redis, maxLedgerAgeSeconds: config.ops.maxLedgerAgeSeconds }) },
  });

  return {
    app,
    metrics,
    async close() {
      await app.close();
      await Promise.allSettled([waiter.close(), settleQueue.close(), mppCloseQueue.close()]);
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
