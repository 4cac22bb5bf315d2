import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Keypair } from "@stellar/stellar-sdk";
import { createPool, migrate } from "@quay/db";
import { startPostgres, startRedis } from "@quay/localservices";
import { REPO_ROOT, startEntry, waitHealthy, type Child } from "./processes";

interface LocalState {
  readonly fundSecret: string;
  readonly masterKey: string;
}

/** Keys the local run makes once and keeps under .data, so a restart sees the same accounts. */
function localState(dataDir: string): LocalState {
  const file = path.join(dataDir, "local-state.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as LocalState;
  const state: LocalState = { fundSecret: Keypair.random().secret(), masterKey: randomBytes(32).toString("base64") };
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

/**
 * `quay up`: Quay on embedded defaults. Brings up Postgres and Redis from the machine's binaries
 * under ./.data, applies migrations, starts the api and the worker, and waits until both report
 * healthy. `--once` stops everything after that check (a smoke test of the whole command).
 */
export async function upCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      once: { type: "boolean", default: false },
      "api-port": { type: "string", default: "4021" },
      "worker-port": { type: "string", default: "4022" },
      "data-dir": { type: "string", default: path.join(REPO_ROOT, ".data") },
    },
  });
  const dataDir = path.resolve(values["data-dir"]);
  mkdirSync(dataDir, { recursive: true });
  const state = localState(dataDir);

  const say = (line: string) => process.stdout.write(`quay: ${line}\n`);
  const children: Child[] = [];
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const child of children.reverse()) await child.stop();
    for (const stop of stops.reverse()) await stop();
  };

  try {
    say(`starting Postgres and Redis under ${dataDir}`);
    const postgres = await startPostgres({ dataDir: path.join(dataDir, "postgres") });
    stops.push(() => postgres.stop());
    const redis = await startRedis({ dataDir: path.join(dataDir, "redis") });
    stops.push(() => redis.stop());

    const databaseUrl = await ensureDatabase(postgres.url, "quay");
    const pool = createPool({ url: databaseUrl, max: 1 });
    await migrate(pool).finally(() => pool.end());
    say("migrations applied");

    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      API_PORT: values["api-port"],
      WORKER_PORT: values["worker-port"],
      STELLAR_TESTNET_RPC_URL: process.env.STELLAR_TESTNET_RPC_URL ?? "http://127.0.0.1:8000",
      STELLAR_TESTNET_FUND_SECRET: state.fundSecret,
      QUAY_MASTER_KEY: state.masterKey,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    };
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

    if (values.once) return;
    say("running; Ctrl-C stops everything");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      for (const child of children) child.process.once("exit", () => resolve());
    });
  } finally {
    say("stopping");
    await stopAll();
  }
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = createPool({ url: serverUrl, max: 1 });
  try {
    const { rowCount } = await pool.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await pool.query(`create database "${name}"`);
  } finally {
    await pool.end();
  }
  return url.toString();
}

