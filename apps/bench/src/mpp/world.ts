import { randomBytes } from "node:crypto";
import { Keypair, rpc } from "@stellar/stellar-sdk";
import { ChannelDeploy, friendbot, submitOperation } from "@quay/demo";
import { Config } from "@quay/config";
import { createDb, createPool, migrate, type DbPool } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { freePort } from "@quay/localservices";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import { StellarNetwork } from "@quay/stellar";
import { USDC_SAC } from "../payloads";
import { startEntry, waitHealthy, type Entry } from "../processes";
import { quayEnv, startBenchDevnet, type Services } from "../stack";
import { CHANNEL_WASM_HASH } from "@quay/wasm";

/** USDC each channel is opened with (base units): far above what a run's vouchers reach at 1 unit each. */
export const CHANNEL_DEPOSIT = 1_000_000_000n;
const CHANNEL_STARTING_BALANCE = 100_000_000n;

/** A channel the benchmark opened on the devnet: its contract and the key its vouchers are signed with. */
export interface BenchChannel {
  readonly address: string;
  readonly commitmentKey: Keypair;
}

export type ChannelSet = "relay" | "mppxLocal" | "mppxRelay";

export interface MppWorldOptions {
  readonly ledgerMs: number;
  /** Channel accounts in Quay's pool: the limit of sponsored charges is this many per ledger. */
  readonly poolSize: number;
  /** Channels opened per set (one set per path, so each path starts from cumulative 0). */
  readonly channelsPerSet: number;
  readonly logLevel: string;
  readonly say: (line: string) => void;
}

/**
 * The MPP part's world: the devnet, a fresh database with a pool of N channel accounts and an API
 * key, Quay's api and worker as their own processes, channels opened on the devnet (registered with
 * Quay for the relay paths), and two mppx servers as their own processes, one with Quay's channel
 * method in LOCAL mode (Store.memory(), as the MPP docs show) and one in RELAY mode (also selling a
 * route by sponsored charge through Quay).
 */
export interface MppWorld {
  readonly rpcUrl: string;
  readonly friendbotUrl: string;
  readonly passphrase: string;
  readonly rpc: rpc.Server;
  readonly quayUrl: string;
  readonly apiKey: string;
  readonly mppxLocalUrl: string;
  readonly mppxRelayUrl: string;
  readonly channels: Readonly<Record<ChannelSet, readonly BenchChannel[]>>;
  /** The bench's own connection to Quay's database. */
  readonly db: DbPool;
  pids(): Readonly<Record<string, number>>;
  /** Kills the api with SIGKILL (no graceful shutdown) and starts it again on the same port; resolves once healthy. */
  killAndRestartApi(): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

export async function startMppWorld(services: Services, options: MppWorldOptions): Promise<MppWorld> {
  const entries: Entry[] = [];
  let db: DbPool | undefined;
  const stop = async () => {
    for (const entry of [...entries].reverse()) await entry.stop();
    await db?.end().catch(() => undefined);
  };
  try {
    const { devnet, rpcUrl, friendbotUrl, fund } = await startBenchDevnet(entries, { logLevel: options.logLevel, ledgerMs: options.ledgerMs, maxTxPerLedger: 400 });
    const server = new rpc.Server(rpcUrl, { allowHttp: true });
    const passphrase = (await server.getNetwork()).passphrase;
    const [apiPort, workerPort, localPort, relayPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env = {
      ...(await quayEnv(services, { name: "benchmpp", logLevel: options.logLevel, rpcUrl, fund, poolSize: options.poolSize, apiPort, workerPort })),
      MPP_CHANNEL_WASM_HASHES: CHANNEL_WASM_HASH.toString("hex"),
    };
    const config = Config.load(env);
    db = createPool({ url: config.database.url, max: 4, applicationName: "quay-bench-mpp" });
    await migrate(db);
    const network = new StellarNetwork(config.networks[0]!, createMetrics({ defaultMetrics: false }));
    await PoolAdmin.create({ db: createDb(db), network, fund, masterKey: config.masterKey! }, options.poolSize, CHANNEL_STARTING_BALANCE);
    const { key: apiKey } = await ApiKeys.create(createDb(db), { tenant: "bench-mpp", networks: ["stellar:testnet"] });

    options.say(`opening ${3 * options.channelsPerSet} channels on the devnet`);
    const opened = await openChannels(server, passphrase, friendbotUrl, 3 * options.channelsPerSet);
    const n = options.channelsPerSet;
    const channels: Record<ChannelSet, BenchChannel[]> = { relay: opened.slice(0, n), mppxLocal: opened.slice(n, 2 * n), mppxRelay: opened.slice(2 * n) };

    let api = startEntry("api", "apps/api/src/main.ts", env);
    entries.push(api);
    const worker = startEntry("worker", "apps/worker/src/main.ts", env);
    entries.push(worker);
    const quayUrl = `http://127.0.0.1:${apiPort}`;
    await Promise.all([waitHealthy(api, `${quayUrl}/healthz`), waitHealthy(worker, `http://127.0.0.1:${workerPort}/healthz`)]);
    // The relay paths' channels are registered up front, as an MPP server in relay mode does on first use.
    await inBatches([...channels.relay, ...channels.mppxRelay], 16, (channel) => registerChannel(quayUrl, apiKey, channel));

    const chargeRecipient = Keypair.random();
    await friendbot(friendbotUrl, chargeRecipient.publicKey(), 1n);
    const mppxEnv = (mode: "local" | "relay", port: number, set: readonly BenchChannel[]) => ({
      MPPB_PORT: String(port),
      MPPB_MODE: mode,
      MPPB_CHANNELS: set.map((c) => `${c.address}:${c.commitmentKey.publicKey()}`).join(","),
      MPPB_RPC_URL: rpcUrl,
      MPPB_QUAY_URL: quayUrl,
      MPPB_API_KEY: apiKey,
      MPPB_SECRET: randomBytes(32).toString("hex"),
      MPPB_CHARGE_RECIPIENT: chargeRecipient.publicKey(),
      MPPB_CURRENCY: USDC_SAC,
    });
    const local = startEntry("mppx-local", "apps/bench/src/mpp/server.ts", mppxEnv("local", localPort, channels.mppxLocal));
    entries.push(local);
    const relay = startEntry("mppx-relay", "apps/bench/src/mpp/server.ts", mppxEnv("relay", relayPort, channels.mppxRelay));
    entries.push(relay);
    const mppxLocalUrl = `http://127.0.0.1:${localPort}`;
    const mppxRelayUrl = `http://127.0.0.1:${relayPort}`;
    await Promise.all([waitHealthy(local, `${mppxLocalUrl}/healthz`), waitHealthy(relay, `${mppxRelayUrl}/healthz`)]);

    return {
      rpcUrl,
      friendbotUrl,
      passphrase,
      rpc: server,
      quayUrl,
      apiKey,
      mppxLocalUrl,
      mppxRelayUrl,
      channels,
      db,
      pids: () => ({ api: api.pid, worker: worker.pid, devnet: devnet.pid, "mppx-local": local.pid, "mppx-relay": relay.pid }),
      async killAndRestartApi() {
        const started = Date.now();
        const exited = new Promise<void>((resolve) => api.process.once("exit", () => resolve()));
        api.process.kill("SIGKILL");
        await exited;
        const index = entries.indexOf(api);
        api = startEntry("api", "apps/api/src/main.ts", env);
        entries[index] = api;
        await waitHealthy(api, `${quayUrl}/healthz`, 60_000);
        return { downMs: Date.now() - started };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

async function registerChannel(quayUrl: string, apiKey: string, channel: BenchChannel): Promise<void> {
  const res = await fetch(`${quayUrl}/mpp/channels`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ address: channel.address, network: "stellar:testnet", commitmentKey: channel.commitmentKey.publicKey() }),
  });
  if (res.status !== 201) throw new Error(`registering ${channel.address} with Quay: HTTP ${res.status} ${await res.text()}`);
}

/**
 * `count` channels, each with its own funder (so their deploys go in parallel, one ledger for a
 * batch), one recipient, and a fresh commitment key; the Wasm uploaded once.
 */
async function openChannels(server: rpc.Server, passphrase: string, friendbotUrl: string, count: number): Promise<BenchChannel[]> {
  const recipient = Keypair.random();
  await friendbot(friendbotUrl, recipient.publicKey(), 1n);
  const uploader = Keypair.random();
  await friendbot(friendbotUrl, uploader.publicKey());
  // A generous bid: the deploys compete with a loaded ledger.
  const bid = { fee: "1000000", timeoutSeconds: 120 };
  await submitOperation(server, passphrase, uploader, ChannelDeploy.upload(), bid);
  const out: BenchChannel[] = [];
  const open = async (i: number): Promise<BenchChannel> => {
    const funder = Keypair.random();
    const commitmentKey = Keypair.random();
    await friendbot(friendbotUrl, funder.publicKey(), CHANNEL_DEPOSIT);
    const terms = {
      token: USDC_SAC,
      funder: funder.publicKey(),
      commitmentKey: commitmentKey.rawPublicKey(),
      recipient: recipient.publicKey(),
      deposit: CHANNEL_DEPOSIT,
      refundWaitingPeriod: 100,
      salt: Buffer.from(`bench-mpp-channel-${i}`),
    };
    const created = await submitOperation(server, passphrase, funder, ChannelDeploy.create(terms), bid);
    return { address: ChannelDeploy.addressOf(created), commitmentKey };
  };
  for (let i = 0; i < count; i += 32) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(32, count - i) }, (_, j) => open(i + j)))));
  }
  return out;
}
