/**
 * A whole Quay on the devnet for settlement tests: a fresh database, a Redis prefix, a devnet with
 * a funded fund account, a pool of channel accounts, an API key, and the api (and, unless asked
 * otherwise, the worker) running in this process, exactly as their processes wire them.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Keypair, rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import { createApiServer, type ApiServer } from "@quay/api";
import { Config, type QuayConfig } from "@quay/config";
import { createDb, createPool, migrate, type Db, type DbPool } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { createLogger } from "@quay/log";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import { StellarNetwork } from "@quay/stellar";
import { createWorkerServer, type WorkerServer } from "@quay/worker";
import { fund, startTestDevnet, type TestDevnet } from "../devnet/helpers";
import { freshDatabaseUrl, redisPrefix, redisUrl } from "../helpers/services";

export const USDC_SAC = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";

export interface QuayHarness {
  readonly t: TestDevnet;
  readonly config: QuayConfig;
  /** The environment the api and worker processes read, for starting them as real processes. */
  readonly env: Record<string, string>;
  readonly pool: DbPool;
  readonly db: Db;
  readonly api: ApiServer;
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly channelAccounts: readonly string[];
  readonly fund: Keypair;
  worker: WorkerServer | undefined;
  startWorker(): Promise<WorkerServer>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly poolSize?: number;
  readonly ledgerCloseMs?: number;
  readonly withWorker?: boolean;
  readonly settleWaitSeconds?: number;
  readonly txTimeoutSeconds?: number;
}

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent", name: "test" });

export async function startQuay(options: HarnessOptions = {}): Promise<QuayHarness> {
  const t = await startTestDevnet({ ledgerCloseMs: options.ledgerCloseMs ?? 250 });
  const fundAccount = Keypair.random();
  await fund(t.devnet, fundAccount.publicKey());
  const env: Record<string, string> = {
    DATABASE_URL: await freshDatabaseUrl(),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: `${redisPrefix()}-${randomBytes(3).toString("hex")}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    API_PORT: "0",
    WORKER_PORT: "0",
    STELLAR_TESTNET_RPC_URL: t.devnet.rpcUrl,
    STELLAR_TESTNET_FUND_SECRET: fundAccount.secret(),
    QUAY_MASTER_KEY: randomBytes(32).toString("base64"),
    SETTLE_WAIT_SECONDS: String(options.settleWaitSeconds ?? 20),
    SETTLE_TX_TIMEOUT_SECONDS: String(options.txTimeoutSeconds ?? 10),
    POOL_LEASE_SECONDS: "5",
    RATE_LIMIT_PER_MINUTE: "100000",
    RATE_LIMIT_PER_MINUTE_ANONYMOUS: "100000",
  };
  const config = Config.load(env);
  const pool = createPool({ url: config.database.url, max: 5 });
  const db = createDb(pool);
  await migrate(pool);

  const network = new StellarNetwork(config.networks[0]!, createMetrics({ defaultMetrics: false }));
  const channelAccounts = await PoolAdmin.create(
    { db, network, fund: fundAccount, masterKey: config.masterKey! },
    options.poolSize ?? 2,
    50_000_000n,
  );
  const { key } = await ApiKeys.create(db, { tenant: "seller", networks: ["stellar:testnet"] });

  const api = await createApiServer(config, logger);
  await api.app.listen({ host: "127.0.0.1", port: 0 });
  const apiUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;

  const harness: QuayHarness = {
    t,
    config,
    env,
    pool,
    db,
    api,
    apiUrl,
    apiKey: key,
    channelAccounts,
    fund: fundAccount,
    worker: undefined,
    async startWorker() {
      const worker = await createWorkerServer(config, logger, { pollMs: 100 });
      harness.worker = worker;
      return worker;
    },
    async stop() {
      await harness.worker?.close();
      await api.close();
      await pool.end();
      await t.close();
    },
  };
  if (options.withWorker ?? true) await harness.startWorker();
  return harness;
}

/** Every SAC transfer event of `asset` on the devnet so far, as {from, to, amount}. */
export async function transfers(t: TestDevnet, asset = USDC_SAC): Promise<Array<{ from: string; to: string; amount: bigint; txHash: string }>> {
  const out: Array<{ from: string; to: string; amount: bigint; txHash: string }> = [];
  let cursor: string | undefined;
  for (;;) {
    const page: rpc.Api.GetEventsResponse = await t.server.getEvents({
      ...(cursor ? { cursor } : { startLedger: 1 }),
      filters: [{ type: "contract", contractIds: [asset], topics: [[xdr.ScVal.scvSymbol("transfer").toXDR("base64"), "*", "*", "*"]] }],
      limit: 200,
    });
    for (const event of page.events) {
      out.push({
        from: String(scValToNative(event.topic[1]!)),
        to: String(scValToNative(event.topic[2]!)),
        amount: BigInt(scValToNative(event.value) as bigint),
        txHash: event.txHash,
      });
    }
    if (page.events.length < 200) return out;
    cursor = page.cursor;
  }
}
