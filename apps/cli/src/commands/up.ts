import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Keypair } from "@stellar/stellar-sdk";
import { Config } from "@quay/config";
import { createDb, createPool, migrate, schema } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { REPO_ROOT, startEntry, startPostgres, startRedis, waitHealthy, waitForLine, type Child } from "@quay/localservices";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import { StellarNetwork } from "@quay/stellar";
import {
  closeThroughQuay,
  friendbot,
  openChannel,
  payMppCharge,
  payOnce,
  payOverChannel,
  registerChannel,
  rpcServer,
  startMppChannelServer,
  startMppChargeServer,
  startSeller,
  usdcBalance,
  type DevnetAccess,
  type Moved,
  type MppServer,
  type QuayAccess,
} from "@quay/demo";
import { CHANNEL_WASM_HASH } from "@quay/wasm";
import { CliError } from "../errors";

const USDC_TESTNET_SAC = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
const PRICE = 10_000n; // 0.001 USDC
/** The channel session: the deposit, the price of one request, and how many requests are paid by voucher. */
const CHANNEL_DEPOSIT = 25_000_000n; // 2.5 USDC
const VOUCHER_PRICE = 100_000n; // 0.01 USDC
const VOUCHERS = 100;

/**
 * `quay up`: Quay's main job on embedded defaults. It brings up Postgres and Redis from the
 * machine's binaries under ./.data, the local devnet (a stand-in for a Stellar RPC: a real
 * deployment points STELLAR_TESTNET_RPC_URL at a real one), applies migrations, funds a fund
 * account and a pool of channel accounts, creates an API key, starts the api and the worker, and
 * makes one paid x402 request through a real @x402/express seller. Then MPP: an mppx charge server
 * on @quay/mpp's Stellar method with Quay as fee payer, paid once; and a channel session: a one-way
 * channel opened on the devnet and registered with Quay, 100 requests paid by voucher through an
 * mppx channel server in relay mode, and the close submitted by Quay's worker. Each prints its
 * receipts and what moved on the ledger. The devnet starts from genesis every time, so the local
 * database is recreated with it. `--once` stops after the demo.
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
      "mpp-port": { type: "string", default: "4031" },
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
      // The devnet's one-way channel contract: the channels Quay's MPP relayer accepts.
      MPP_CHANNEL_WASM_HASHES: CHANNEL_WASM_HASH.toString("hex"),
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
    // A relay-mode MPP channel server calls Quay about three times per voucher (the challenge's
    // cumulative, the voucher): the api's default 600 a minute would throttle the demo's session.
    const { key } = await ApiKeys.create(db, { tenant: "local-seller", networks: ["stellar:testnet"], rateLimitPerMinute: 60_000 });

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
    const [row] = await db.select().from(schema.submissions);
    say(`paid request: ${paid.status} ${JSON.stringify(paid.body)}`);
    say(
      `settlement: ${row?.status} tx ${row?.txHash} ledger ${row?.ledger} amount ${row?.amount} from ${row?.payer} via channel ${row?.channelAccount} fee ${row?.feeChargedStroops} stroops`,
    );
    if (paid.status !== 200 || row?.status !== "succeeded") throw new CliError("the paid request did not settle");

    const quay: QuayAccess = { url: apiUrl, apiKey: key };
    const ledger: DevnetAccess = { rpcUrl, friendbotUrl };
    const mppServer = await mppCharge(say, stops, quay, ledger, { fundAccount: fund.publicKey(), port: Number(values["mpp-port"]) });
    await mppChannelSession(say, stops, quay, ledger);

    for (const line of pointYourOwn(apiUrl, key, rpcUrl)) say(line);
    if (values.once) return;
    say(`make another paid request:  npm run quay -- pay ${seller.url} --devnet ${rpcUrl}`);
    say(`see the prices:             curl -i ${seller.url}   curl -i ${mppServer.url}`);
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

type Say = (line: string) => void;
type Stops = Array<() => Promise<void>>;

/**
 * An mppx charge server on @quay/mpp's Stellar method with Quay as fee payer, and one client paying
 * it: prints the receipt and what moved. The server keeps running (its stop is in `stops`).
 */
async function mppCharge(say: Say, stops: Stops, quay: QuayAccess, ledger: DevnetAccess, options: { fundAccount: string; port: number }): Promise<MppServer> {
  const recipient = Keypair.random().publicKey();
  await friendbot(ledger.friendbotUrl, recipient, 1n);
  const server = await startMppChargeServer({ quay, recipient, amount: PRICE, port: options.port });
  stops.push(() => server.close());
  say(`mpp charge server ${server.url}  (mppx + @quay/mpp/charge/server, Quay as fee payer: it sponsors and settles)`);
  const charge = await payMppCharge(server.url, ledger, recipient);
  say(`mpp charge: ${charge.status} ${JSON.stringify(charge.body)} receipt ${JSON.stringify(charge.receipt)}`);
  const feePayer = charge.fee.source === options.fundAccount ? `Quay's fund account ${charge.fee.source}` : charge.fee.source;
  say(
    `mpp charge moved: payer ${charge.payer} USDC ${moved(charge.payerUsdc)}, XLM ${moved(charge.payerXlm)}; recipient ${recipient} USDC ${moved(charge.recipientUsdc)}; fee ${charge.fee.charged} stroops paid by ${feePayer}`,
  );
  if (delta(charge.payerUsdc) !== -PRICE || delta(charge.recipientUsdc) !== PRICE || delta(charge.payerXlm) !== 0n) {
    throw new CliError("the MPP charge did not move exactly the price from the payer to the recipient, fee-free for the payer");
  }
  return server;
}

/**
 * A channel session: a one-way channel opened on the devnet and registered with Quay, VOUCHERS
 * requests paid by voucher through an mppx channel server in relay mode, then the close Quay's
 * worker submits. Prints the receipts, the close and what moved; the channel server is stopped.
 */
async function mppChannelSession(say: Say, stops: Stops, quay: QuayAccess, ledger: DevnetAccess): Promise<void> {
  const opened = await openChannel(ledger, { deposit: CHANNEL_DEPOSIT });
  await registerChannel(quay, opened);
  say(
    `mpp channel ${opened.channel}: ${CHANNEL_DEPOSIT} deposited by funder ${opened.funder.publicKey()} for recipient ${opened.recipient.publicKey()} (ledger ${opened.ledger}); registered with Quay, which holds the recipient's key`,
  );
  const rpc = rpcServer(ledger.rpcUrl);
  const balances = async () => ({ recipient: await usdcBalance(rpc, opened.recipient.publicKey()), funder: await usdcBalance(rpc, opened.funder.publicKey()) });
  const before = await balances();

  const server = await startMppChannelServer({ quay, channel: opened.channel, commitmentKey: opened.commitmentKey.publicKey(), amount: VOUCHER_PRICE });
  stops.push(() => server.close());
  say(`mpp channel server ${server.url}  (mppx + @quay/mpp/channel/server in relay mode: Quay checks and keeps the vouchers)`);
  const stream = await payOverChannel(server.url, opened, VOUCHERS);
  await server.close();
  const count = stream.receipts.length;
  say(`mpp channel: ${count} requests paid by voucher (${VOUCHER_PRICE} each) in ${stream.elapsedMs} ms, cumulative ${stream.cumulative}`);
  say(`mpp channel receipts: #1 ${JSON.stringify(stream.receipts[0])}  #${count} ${JSON.stringify(stream.receipts[count - 1])}`);

  const closed = await closeThroughQuay(quay, opened.channel);
  const after = await balances();
  say(`mpp channel close: tx ${closed.txHash} submitted by Quay's worker: paid ${closed.paid} to the recipient, refunded ${closed.refunded} to the funder`);
  const recipientGot = { before: before.recipient, after: after.recipient };
  const funderGot = { before: before.funder, after: after.funder };
  say(`mpp channel moved: recipient USDC ${moved(recipientGot)} (the vouchers' sum); funder USDC ${moved(funderGot)} (the rest of the deposit)`);
  const sum = BigInt(VOUCHERS) * VOUCHER_PRICE;
  if (count !== VOUCHERS || stream.cumulative !== sum || closed.paid !== sum || delta(recipientGot) !== sum || delta(funderGot) !== CHANNEL_DEPOSIT - sum) {
    throw new CliError("the channel's close did not pay the recipient exactly the vouchers' sum and the funder the rest");
  }
}

/** "before -> after (+delta)" of a balance in base units. */
function moved(m: Moved): string {
  const d = delta(m);
  return `${m.before} -> ${m.after} (${d >= 0n ? "+" : ""}${d})`;
}

function delta(m: Moved): bigint {
  return m.after - m.before;
}

/**
 * What a user needs to point their own x402 seller, MPP server or ChannelsClient at this Quay. The
 * key is the local demo tenant's, printed once on the operator's own terminal, as `keys create` does.
 * @quay/mpp reads QUAY_URL, QUAY_API_KEY and STELLAR_RPC_URL from the environment, so the MPP docs'
 * Stellar servers and clients run against this Quay with only their import path changed.
 */
function pointYourOwn(apiUrl: string, key: string, rpcUrl: string): string[] {
  return [
    "point your own servers at this Quay (network stellar:testnet, served by the local devnet):",
    `  QUAY_URL=${apiUrl}`,
    `  QUAY_API_KEY=${key}`,
    `  STELLAR_RPC_URL=${rpcUrl}`,
    "  x402 seller:    new HTTPFacilitatorClient({ url: QUAY_URL, createAuthHeaders: async () => { const h = { Authorization: `Bearer ${QUAY_API_KEY}` }; return { verify: h, settle: h, supported: h }; } })",
    '  MPP charge:     import * as stellar from "@quay/mpp/charge/server"; stellar.charge({ recipient, currency, network: "stellar:testnet", feePayer: QUAY_URL })',
    `  MPP channel:    import * as stellar from "@quay/mpp/channel/server"; stellar.channel({ channel, commitmentKey, network: "stellar:testnet", feePayer: QUAY_URL })  (a channel of Wasm ${CHANNEL_WASM_HASH.toString("hex")}, the devnet's)`,
    "  ChannelsClient: new ChannelsClient({ baseUrl: `${QUAY_URL}/channels/testnet`, apiKey: QUAY_API_KEY })",
  ];
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
