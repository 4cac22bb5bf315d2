import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Keypair } from "@stellar/stellar-sdk";
import { Config } from "@quay/config";
import { createDb, createPool, migrate, schema } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { startPostgres, startRedis } from "@quay/localservices";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import { StellarNetwork } from "@quay/stellar";
import { startSeller } from "../demo/parties";
import { friendbot, payOnce } from "../demo/pay";
import { CliError } from "../errors";
import { REPO_ROOT, startEntry, waitHealthy, waitForLine, type Child } from "./processes";

const USDC_TESTNET_SAC = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
const PRICE = 10_000n; // 0.001 USDC

/**
 * `quay up`: Quay's main job on embedded defaults. It brings up Postgres and Redis from the
 * machine's binaries under ./.data, the local devnet (a stand-in for a Stellar RPC: a real
 * deployment points STELLAR_TESTNET_RPC_URL at a real one), applies migrations, funds a fund
 * account and a pool of channel accounts, creates an API key, starts the api and the worker, and
 * makes one paid x402 request through a real @x402/express seller. The devnet starts from genesis
 * every time, so the local database is recreated with it. `--once` stops after the paid request.
 */
export async function upCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      once: { type: "boolean", default: false },
      "api-port": { type: "string", default: "4021" },
      "worker-port": { type: "string", default: "4022" },
      "devnet-port": { type: "string", default: "8000" },
      "seller-port": { type: "string", default: "4030" },
      "ledger-ms": { type: "string", default: "1000" },
      "pool-size": { type: "string", default: "4" },
      "data-dir": { type: "string", default: path.join(REPO_ROOT, ".data") },
    },
  });
  const poolSize = Number(values["pool-size"]);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 100) throw new CliError("--pool-size must be a whole number from 1 to 100");
  const dataDir = path.resolve(values["data-dir"]);
  mkdirSync(dataDir, { recursive: true });

  const say = (line: string) => process.stdout.write(`quay: ${line}\n`);
  const stops: Array<() => Promise<void>> = [];
  const children: Child[] = [];

  try {
    say(`starting Postgres and Redis under ${dataDir}`);
    const postgres = await startPostgres({ dataDir: path.join(dataDir, "postgres") });
    stops.push(() => postgres.stop());
    const redis = await startRedis({ dataDir: path.join(dataDir, "redis") });
    stops.push(() => redis.stop());

    const devnetPort = values["devnet-port"];
    const devnet = startEntry("devnet", "apps/devnet/src/main.ts", { DEVNET_LOG_LEVEL: "warn" }, [
      "--port",
      devnetPort,
      "--ledger-close-ms",
      values["ledger-ms"],
    ]);
    children.push(devnet);
    await waitForLine(devnet, /devnet listening on/);
    const rpcUrl = `http://127.0.0.1:${devnetPort}`;
    const friendbotUrl = `${rpcUrl}/friendbot`;
    say(`devnet (local stand-in for a Stellar RPC) ${rpcUrl}`);

    const databaseUrl = await recreateDatabase(postgres.url, "quay");
    const fund = Keypair.random();
    await friendbot(friendbotUrl, fund.publicKey());
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      API_PORT: values["api-port"],
      WORKER_PORT: values["worker-port"],
      STELLAR_TESTNET_RPC_URL: rpcUrl,
      STELLAR_TESTNET_FUND_SECRET: fund.secret(),
      QUAY_MASTER_KEY: randomBytes(32).toString("base64"),
      // Twice the pool: the jobs beyond it wait at the lease, ready for the next free account.
      SETTLE_CONCURRENCY: String(poolSize * 2),
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    };
    const config = Config.load(env);

    const pool = createPool({ url: databaseUrl, max: 2 });
    stops.push(() => pool.end());
    const db = createDb(pool);
    await migrate(pool);
    say("migrations applied");
    const network = new StellarNetwork(config.networks[0]!, createMetrics({ defaultMetrics: false }));
    await PoolAdmin.create({ db, network, fund, masterKey: config.masterKey! }, poolSize, 100_000_000n);
    say(`pool: ${poolSize} channel accounts funded by ${fund.publicKey()}`);
    const { key } = await ApiKeys.create(db, { tenant: "local-seller", networks: ["stellar:testnet"] });

    const api = startEntry("api", "apps/api/src/main.ts", env);
    children.push(api);
    const worker = startEntry("worker", "apps/worker/src/main.ts", env);
    children.push(worker);
    const apiUrl = `http://127.0.0.1:${values["api-port"]}`;
    const workerUrl = `http://127.0.0.1:${values["worker-port"]}`;
    const apiHealth = await waitHealthy(`${apiUrl}/healthz`, api);
    const workerHealth = await waitHealthy(`${workerUrl}/healthz`, worker);
    say(`api    ${apiUrl}  /healthz ${JSON.stringify(apiHealth)}`);
    say(`worker ${workerUrl}  /healthz ${JSON.stringify(workerHealth)}`);

    const payTo = Keypair.random().publicKey();
    await friendbot(friendbotUrl, payTo, 1n);
    const seller = await startSeller({
      facilitatorUrl: apiUrl,
      apiKey: key,
      network: "stellar:testnet",
      payTo,
      asset: USDC_TESTNET_SAC,
      amount: PRICE,
      port: Number(values["seller-port"]),
    });
    stops.push(() => seller.close());
    say(`seller ${seller.url}  (an @x402/express app; Quay is its facilitator)`);

    const paid = await payOnce(seller.url, { rpcUrl, friendbotUrl });
    const [row] = await db.select().from(schema.payments);
    say(`paid request: ${paid.status} ${JSON.stringify(paid.body)}`);
    say(
      `settlement: ${row?.status} tx ${row?.txHash} ledger ${row?.ledger} amount ${row?.amount} from ${row?.payer} via channel ${row?.channelAccount} fee ${row?.feeChargedStroops} stroops`,
    );
    if (paid.status !== 200 || row?.status !== "succeeded") throw new CliError("the paid request did not settle");

    if (values.once) return;
    say(`make another paid request:  npm run quay -- pay ${seller.url} --devnet ${rpcUrl}`);
    say(`see the price:              curl -i ${seller.url}`);
    say("running; Ctrl-C stops everything");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      for (const child of children) child.process.once("exit", () => resolve());
    });
  } finally {
    say("stopping");
    for (const child of children.reverse()) await child.stop();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

/** The local database follows the devnet, which starts from genesis: drop it and start clean. */
async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  const pool = createPool({ url: serverUrl, max: 1 });
  try {
    await pool.query(`drop database if exists "${name}" with (force)`);
    await pool.query(`create database "${name}"`);
  } finally {
    await pool.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
