/**
 * A whole Quay on the devnet for settlement tests: a fresh database, a Redis prefix, a devnet with
 * a funded fund account, a pool of channel accounts, an API key, and the api (and, unless asked
 * otherwise, the worker) running in this process, exactly as their processes wire them.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
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
import type { StartOptions } from "../../apps/devnet/src/index";
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
  stopWorker(): Promise<void>;
  /** Another api process's worth of server on the same database and Redis; stopped with the harness. */
  startApi(): Promise<{ api: ApiServer; url: string }>;
  /** A worker as a real child process (`node --import tsx apps/worker/src/main.ts`); killed with the harness. */
  spawnWorker(): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly poolSize?: number;
  readonly ledgerCloseMs?: number;
  /** More devnet settings (e.g. short TTLs). */
  readonly devnet?: Omit<StartOptions, "ledgerCloseMs">;
  readonly withWorker?: boolean;
  readonly settleWaitSeconds?: number;
  readonly txTimeoutSeconds?: number;
  /** Extra environment for the api and worker (e.g. STELLAR_TESTNET_MAX_FEE_STROOPS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Quay is given every port of the devnet (`devnet.extraPorts`) as its RPCs, not just the first. */
  readonly allRpcUrls?: boolean;
}

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent", name: "test" });

export async function startQuay(options: HarnessOptions = {}): Promise<QuayHarness> {
  const t = await startTestDevnet({ ...options.devnet, ledgerCloseMs: options.ledgerCloseMs ?? 250 });
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
    ...(options.allRpcUrls ? { STELLAR_TESTNET_RPC_URLS: t.devnet.rpcUrls.join(",") } : {}),
    STELLAR_TESTNET_FUND_SECRET: fundAccount.secret(),
    QUAY_MASTER_KEY: randomBytes(32).toString("base64"),
    SETTLE_WAIT_SECONDS: String(options.settleWaitSeconds ?? 20),
    SETTLE_TX_TIMEOUT_SECONDS: String(options.txTimeoutSeconds ?? 10),
    POOL_LEASE_SECONDS: "5",
    RATE_LIMIT_PER_MINUTE: "100000",
    RATE_LIMIT_PER_MINUTE_ANONYMOUS: "100000",
    ...options.env,
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

  const extraApis: ApiServer[] = [];
  const children: WorkerProcess[] = [];
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
    async stopWorker() {
      await harness.worker?.close();
      harness.worker = undefined;
    },
    async startApi() {
      const other = await createApiServer(config, logger);
      extraApis.push(other);
      await other.app.listen({ host: "127.0.0.1", port: 0 });
      return { api: other, url: `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}` };
    },
    async spawnWorker() {
      const child = await spawnWorkerProcess(env);
      children.push(child);
      return child;
    },
    async stop() {
      await Promise.all(children.map((c) => c.kill("SIGKILL")));
      await harness.worker?.close();
      await Promise.all(extraApis.map((a) => a.close()));
      await api.close();
      await pool.end();
      await t.close();
    },
  };
  if (options.withWorker ?? true) await harness.startWorker();
  return harness;
}

export interface WorkerProcess {
  readonly pid: number;
  /** What the process printed, for a failing test's message. */
  output(): string;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Starts `apps/worker/src/main.ts` with `env`; resolves once its /healthz answers (its consumers are running). */
async function spawnWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/worker/src/main.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", ...env, WORKER_PORT: "0", LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const handle: WorkerProcess = {
    pid: child.pid ?? -1,
    output: () => output,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  // The worker logs "worker started" once its consumers run; its port is 0, so the log is the signal.
  while (!output.includes("worker started")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await handle.kill("SIGKILL");
      throw new Error(`worker process did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return handle;
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
