/**
 * Quay's devnet: a local Stellar ledger that speaks Soroban RPC and judges transactions as the
 * network does. Production talks to a real RPC; this is only a stand-in for tests and demos.
 *
 * HTTP surface (one port):
 * - `POST /` — JSON-RPC 2.0: getHealth, getNetwork, getVersionInfo, getLatestLedger, getLedgers,
 *   getLedgerEntries, getFeeStats, simulateTransaction, sendTransaction, getTransaction,
 *   getTransactions, getEvents (shapes as @stellar/stellar-sdk's rpc.Server parses them).
 * - `GET|POST /friendbot?addr=G…[&usdc=<7-decimal base units>]` — creates the account with 10 000 XLM
 *   through a real createAccount from the network root, in a ledger closed immediately for it (so
 *   the account exists when the answer arrives, even while ledger closing is paused; pending
 *   transactions stay queued). `usdc` also writes a USDC trustline with that balance directly (a
 *   devnet privilege: the devnet has no issuer key); on an existing account it tops the trustline up.
 *   Answers `{ ok, hash, ledger, envelope_xdr, result_xdr, result_meta_xdr }`; errors are 4xx JSON.
 * - Loopback-only control: `GET|POST|DELETE /_devnet/faults` (POST merges, e.g.
 *   `{ "sendTransaction": {"status":"TRY_AGAIN_LATER"|"ERROR","count":2,"code":"txBadSeq"},
 *      "delay": {"ms":500,"methods":["getTransaction"],"count":3}, "drop": {"methods":["getHealth"]},
 *      "swallow": {"count":1}, "minInclusionFee": "1000", "paused": true }`; null clears one fault,
 *   DELETE clears all) and `POST /_devnet/close-ledger` (closes one ledger now).
 *
 * Fees follow the network: classic transactions pay (base fee x ops) where the base fee is the
 * minimum inclusion fee, or under surge pricing (more valid transactions than maxTxPerLedger) the
 * lowest included bid per op; Soroban transactions also pay their declared resource fee, less the
 * part the host did not need (refunded after apply).
 */
import type { AddressInfo } from "node:net";
import { resolveConfig } from "./config";
import type { DevnetConfig, DevnetOptions } from "./config";
import { createDevnetServer } from "./http";
import { DevnetNode } from "./node";
import type { SorobanHost } from "./node";

export { USDC_ISSUER, PROTOCOL_VERSION, DevnetConfigError, resolveConfig } from "./config";
export type { DevnetOptions, DevnetConfig } from "./config";
export type { DevnetLogger } from "./logger";

export interface StartOptions extends DevnetOptions {
  /** Run without the Soroban host (classic only); default false. */
  readonly withoutSoroban?: boolean;
}

export interface Devnet {
  /** Soroban RPC endpoint (JSON-RPC 2.0 over HTTP), e.g. http://127.0.0.1:PORT */
  readonly rpcUrl: string;
  /** GET {friendbotUrl}?addr=G...[&usdc=<base units>] */
  readonly friendbotUrl: string;
  /** Base of the loopback-only control endpoints (/_devnet/faults, /_devnet/close-ledger). */
  readonly controlUrl: string;
  readonly networkPassphrase: string;
  readonly config: DevnetConfig;
  close(): Promise<void>;
}

/** Starts a devnet in this process: genesis ledger, the RPC server, and the ledger-close timer. */
export async function startDevnet(options: StartOptions = {}): Promise<Devnet> {
  const config = resolveConfig(options);
  const host = options.withoutSoroban ? undefined : await loadSorobanHost(config);
  const node = new DevnetNode(config, host);
  let friendbotUrl = "";
  const server = createDevnetServer({
    node,
    host,
    get friendbotUrl() {
      return friendbotUrl;
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = config.host.includes(":") ? `[${config.host}]` : config.host;
  const base = `http://${hostPart}:${port}`;
  friendbotUrl = `${base}/friendbot`;
  node.start();
  config.logger.info({ rpcUrl: base, passphrase: config.networkPassphrase, ledgerCloseMs: config.ledgerCloseMs, soroban: host !== undefined }, "devnet started");

  let closed = false;
  return {
    rpcUrl: base,
    friendbotUrl,
    controlUrl: `${base}/_devnet`,
    networkPassphrase: config.networkPassphrase,
    config,
    async close() {
      if (closed) return;
      closed = true;
      node.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function loadSorobanHost(config: DevnetConfig): Promise<SorobanHost | undefined> {
  try {
    const mod = await import("./soroban");
    return { executeSorobanOp: mod.executeSorobanOp, installGenesisContracts: mod.installGenesisContracts };
  } catch (err) {
    config.logger.warn({ err: (err as Error).message }, "soroban host unavailable; running classic-only");
    return undefined;
  }
}
