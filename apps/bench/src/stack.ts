import { randomBytes } from "node:crypto";
import { Keypair, rpc } from "@stellar/stellar-sdk";
import { friendbot } from "@quay/demo";
import { Config } from "@quay/config";
import { createDb, createPool, migrate, type DbPool } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { Databases, freePort, startPostgres, startRedis, type LocalPostgres, type LocalRedis } from "@quay/localservices";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import { StellarNetwork } from "@quay/stellar";
import { Vault } from "@quay/vault";
import { startEntry, waitForOutput, waitHealthy, type Entry } from "./processes";

/** The fee ceiling both facilitators get: Quay's default STELLAR_TESTNET_MAX_FEE_STROOPS. */
export const MAX_FEE_STROOPS = 1_000_000n;
/** XLM each channel account starts with (stroops): fees for every payment of a configuration. */
const CHANNEL_STARTING_BALANCE = 100_000_000n;

/** Postgres and Redis from the machine's binaries, in temp dirs, for the whole run. */
export interface Services {
  readonly postgres: LocalPostgres;
  readonly redis: LocalRedis;
  stop(): Promise<void>;
}

export async function startServices(): Promise<Services> {
  const postgres = await startPostgres({ maxConnections: 200 });
  const redis = await startRedis().catch(async (error: unknown) => {
    await postgres.stop();
    throw error;
  });
  return {
    postgres,
    redis,
    async stop() {
      await redis.stop().catch(() => undefined);
      await postgres.stop().catch(() => undefined);
    },
  };
}

/** A devnet process for a benchmark (pushed on `entries`, which stop it), and a fund account friendbot paid. */
export async function startBenchDevnet(
  entries: Entry[],
  options: { readonly logLevel: string; readonly ledgerMs: number; readonly maxTxPerLedger: number },
): Promise<{ devnet: Entry; rpcUrl: string; friendbotUrl: string; fund: Keypair }> {
  const devnet = startEntry("devnet", "apps/devnet/src/main.ts", { DEVNET_LOG_LEVEL: options.logLevel }, [
    "--port",
    "0",
    "--ledger-close-ms",
    String(options.ledgerMs),
    "--max-tx-per-ledger",
    String(options.maxTxPerLedger),
  ]);
  entries.push(devnet);
  const [, rpcUrl] = (await waitForOutput(devnet, /devnet listening on (http:\/\/\S+)/)) as unknown as [string, string];
  const friendbotUrl = `${rpcUrl}/friendbot`;
  const fund = Keypair.random();
  await friendbot(friendbotUrl, fund.publicKey());
  return { devnet, rpcUrl, friendbotUrl, fund };
}

/** The environment a benchmark's Quay (api and worker) runs with, in a database and Redis prefix of its own named `name`. */
export async function quayEnv(
  services: Services,
  options: { readonly name: string; readonly logLevel: string; readonly rpcUrl: string; readonly fund: Keypair; readonly poolSize: number; readonly apiPort: number; readonly workerPort: number },
): Promise<Record<string, string>> {
  return {
    DATABASE_URL: await Databases.create(services.postgres.url, options.name),
    REDIS_URL: services.redis.url,
    REDIS_PREFIX: `${options.name}-${randomBytes(4).toString("hex")}`,
    LOG_LEVEL: options.logLevel,
    API_PORT: String(options.apiPort),
    WORKER_PORT: String(options.workerPort),
    STELLAR_TESTNET_RPC_URL: options.rpcUrl,
    STELLAR_TESTNET_FUND_SECRET: options.fund.secret(),
    STELLAR_TESTNET_MAX_FEE_STROOPS: MAX_FEE_STROOPS.toString(),
    QUAY_MASTER_KEY: randomBytes(32).toString("base64"),
    // As `quay up` sets it: one settle job per channel account.
    SETTLE_CONCURRENCY: String(options.poolSize * 2),
    // The benchmark is one tenant offering far more than the default 600 requests a minute.
    RATE_LIMIT_PER_MINUTE: "1000000",
    RATE_LIMIT_PER_MINUTE_ANONYMOUS: "1000000",
  };
}

export interface StackOptions {
  readonly ledgerMs: number;
  readonly poolSize: number;
  /** Log level of the api, worker and devnet processes. */
  readonly logLevel: string;
}

/**
 * One configuration's world: a devnet process at the configuration's ledger time, a fresh
 * database, a pool of N channel accounts and an API key; Quay's api and worker as their own
 * processes; and the peer as its own process, given the same N accounts and fund account.
 */
export interface Stack {
  readonly rpcUrl: string;
  readonly friendbotUrl: string;
  readonly rpc: rpc.Server;
  readonly quayUrl: string;
  readonly peerUrl: string;
  readonly apiKey: string;
  /** Quay's /metrics endpoints by process. */
  readonly quayMetricsUrls: Readonly<Record<"api" | "worker", string>>;
  /** The bench's own connection to Quay's database, for submission_attempts and payments. */
  readonly db: DbPool;
  readonly pids: Readonly<Record<"api" | "worker" | "peer" | "devnet", number>>;
  stop(): Promise<void>;
}

export async function startStack(services: Services, options: StackOptions): Promise<Stack> {
  const entries: Entry[] = [];
  let db: DbPool | undefined;
  const stop = async () => {
    for (const entry of entries.reverse()) await entry.stop();
    await db?.end().catch(() => undefined);
  };
  try {
    // Above N, so the pool and not the ledger is the limit.
    const { devnet, rpcUrl, friendbotUrl, fund } = await startBenchDevnet(entries, { logLevel: options.logLevel, ledgerMs: options.ledgerMs, maxTxPerLedger: Math.max(100, options.poolSize * 4) });
    const [apiPort, workerPort, peerPort] = [await freePort(), await freePort(), await freePort()];
    const env = await quayEnv(services, { name: "bench", logLevel: options.logLevel, rpcUrl, fund, poolSize: options.poolSize, apiPort, workerPort });
    const config = Config.load(env);
    db = createPool({ url: config.database.url, max: 4, applicationName: "quay-bench" });
    await migrate(db);
    const network = new StellarNetwork(config.networks[0]!, createMetrics({ defaultMetrics: false }));
    await PoolAdmin.create({ db: createDb(db), network, fund, masterKey: config.masterKey! }, options.poolSize, CHANNEL_STARTING_BALANCE);
    const { key } = await ApiKeys.create(createDb(db), { tenant: "bench", networks: ["stellar:testnet"] });
    const channelSecrets = await openChannelSecrets(db, config.masterKey!);

    const api = startEntry("api", "apps/api/src/main.ts", env);
    entries.push(api);
    const worker = startEntry("worker", "apps/worker/src/main.ts", env);
    entries.push(worker);
    const peer = startEntry("peer", "apps/bench/src/peer/main.ts", {
      PEER_PORT: String(peerPort),
      PEER_RPC_URL: rpcUrl,
      PEER_SIGNER_SECRETS: channelSecrets.join(","),
      PEER_FEE_BUMP_SECRET: fund.secret(),
      PEER_MAX_FEE_STROOPS: MAX_FEE_STROOPS.toString(),
    });
    entries.push(peer);
    const quayUrl = `http://127.0.0.1:${apiPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    await Promise.all([
      waitHealthy(api, `${quayUrl}/healthz`),
      waitHealthy(worker, `http://127.0.0.1:${workerPort}/healthz`),
      waitHealthy(peer, `${peerUrl}/supported`),
    ]);
    return {
      rpcUrl,
      friendbotUrl,
      rpc: new rpc.Server(rpcUrl, { allowHttp: true }),
      quayUrl,
      peerUrl,
      apiKey: key,
      quayMetricsUrls: { api: `${quayUrl}/metrics`, worker: `http://127.0.0.1:${workerPort}/metrics` },
      db,
      pids: { api: api.pid, worker: worker.pid, peer: peer.pid, devnet: devnet.pid },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The pool's signing keys, opened from the vault: the peer signs with the very accounts Quay leases. */
async function openChannelSecrets(db: DbPool, masterKey: Buffer): Promise<string[]> {
  const { rows } = await db.query<{ public_key: string; secret_encrypted: string }>(
    "select public_key, secret_encrypted from channel_accounts where disabled_at is null order by public_key",
  );
  return rows.map((row) => Vault.open(masterKey, row.secret_encrypted, row.public_key));
}
