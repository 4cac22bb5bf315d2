/**
 * Quay's devnet: a local Stellar ledger that speaks Soroban RPC and judges transactions as the
 * network does. Production talks to a real RPC; this is only a stand-in for tests and demos.
 *
 * HTTP surface (one port, or more with `extraPorts`: every port serves the same ledger):
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
 *      "swallow": {"count":1}, "minInclusionFee": "1000", "frozenKeys": ["<base64 LedgerKey>"],
 *      "getTransactionRace": {"count":2}, "resourceDrift": {"kind":"resourceLimitExceeded"|"entryArchived","count":1},
 *      "ports": {"1": {"fail":"http503"|"refuse"|"hang"}, "2": {"lagLedgers":3}},
 *      "rules": {"queueTimeoutLedgers":0, "simulationPadding":false}, "paused": true }`;
 *   null clears one fault (or one port's, or one rule override), DELETE clears all) and
 *   `POST /_devnet/close-ledger` (closes one ledger now).
 *
 * The network's harsh rules are on by default, each a devnet option (see DevnetOptions) and a
 * fault-switch override: the queue drops a transaction not included within 4 ledgers and bans its
 * hash for 10 (applied ones too), holds 2 ledgers' worth, replaces by fee by sequence number, and
 * counts a fee source's pending fees; the RPC keeps a retention window and scans at most 10 000
 * ledgers per getEvents; Soroban fees are charged on declared resources and size, refunded on
 * failure, checked at send, padded in simulation and reported per transaction; a transaction made
 * invalid by an earlier one of its ledger lands FAILED, charged.
 *
 * Protocol: 28 unless `protocolVersion` says otherwise (23..28; see protocol.ts for the gates). From
 * 23, invocations restore archived entries automatically; from 26, frozen keys refuse transactions;
 * from 27, SOROBAN_CREDENTIALS_ADDRESS_V2 and ..._WITH_DELEGATES are valid (txMALFORMED before).
 *
 * Fees follow the network: classic transactions pay (base fee x ops) where the base fee is the
 * minimum inclusion fee, or under surge pricing (more valid transactions than maxTxPerLedger) the
 * lowest included bid per op; Soroban transactions also pay their declared resource fee, less the
 * part the host did not need (refunded after apply).
 */
import { DevnetConfigError, resolveConfig } from "./config";
import type { DevnetConfig, DevnetOptions } from "./config";
import { createDevnetServer } from "./http";
import type { ServerContext } from "./http";
import { DevnetNode } from "./node";
import type { SorobanHost } from "./node";
import { DevnetPorts, MAX_PORTS } from "./ports";

export {
  USDC_ISSUER,
  DEFAULT_PROTOCOL_VERSION,
  DEFAULT_RETENTION_LEDGERS,
  MIN_PROTOCOL_VERSION,
  MAX_PROTOCOL_VERSION,
  NETWORK_RULES,
  DevnetConfigError,
  resolveConfig,
} from "./config";
export type { DevnetOptions, DevnetConfig, NetworkRules } from "./config";
export type { DevnetLogger } from "./logger";

export interface StartOptions extends DevnetOptions {
  /** Run without the Soroban host (classic only); default false. */
  readonly withoutSoroban?: boolean;
  /**
   * More HTTP ports serving the same ledger, as several RPC nodes of one network: a count (any
   * free ports) or the port numbers (0: any). The fault switch's `ports` makes one of them fail or
   * lag while the others stay current. Default none.
   */
  readonly extraPorts?: number | readonly number[];
}

export interface Devnet {
  /** Soroban RPC endpoint (JSON-RPC 2.0 over HTTP), e.g. http://127.0.0.1:PORT */
  readonly rpcUrl: string;
  /** Every RPC endpoint serving this ledger: rpcUrl first (port index 0), then the extra ports. */
  readonly rpcUrls: readonly string[];
  /** The bound port numbers, in rpcUrls' order. */
  readonly ports: readonly number[];
  /** GET {friendbotUrl}?addr=G...[&usdc=<base units>] */
  readonly friendbotUrl: string;
  /** Base of the loopback-only control endpoints (/_devnet/faults, /_devnet/close-ledger). */
  readonly controlUrl: string;
  readonly networkPassphrase: string;
  readonly config: DevnetConfig;
  close(): Promise<void>;
}

/** Starts a devnet in this process: genesis ledger, the RPC server(s), and the ledger-close timer. */
export async function startDevnet(options: StartOptions = {}): Promise<Devnet> {
  const config = resolveConfig(options);
  const extra = extraPorts(options.extraPorts);
  const host = options.withoutSoroban ? undefined : await loadSorobanHost(config);
  const node = new DevnetNode(config, host);
  let friendbotUrl = "";
  const ctx: ServerContext = {
    node,
    host,
    get friendbotUrl() {
      return friendbotUrl;
    },
    get ports() {
      return ports;
    },
  };
  const ports: DevnetPorts = new DevnetPorts(config.host, (index) => createDevnetServer(ctx, index));
  try {
    await ports.open([config.port, ...extra]);
  } catch (err) {
    await ports.close();
    throw err;
  }
  const hostPart = config.host.includes(":") ? `[${config.host}]` : config.host;
  const rpcUrls = ports.numbers().map((port) => `http://${hostPart}:${port}`);
  const base = rpcUrls[0] ?? "";
  friendbotUrl = `${base}/friendbot`;
  node.start();
  config.logger.info(
    { rpcUrls, passphrase: config.networkPassphrase, protocolVersion: config.protocolVersion, ledgerCloseMs: config.ledgerCloseMs, soroban: host !== undefined },
    "devnet started",
  );

  let closed = false;
  return {
    rpcUrl: base,
    rpcUrls,
    ports: ports.numbers(),
    friendbotUrl,
    controlUrl: `${base}/_devnet`,
    networkPassphrase: config.networkPassphrase,
    config,
    async close() {
      if (closed) return;
      closed = true;
      node.stop();
      await ports.close();
    },
  };
}

function extraPorts(option: number | readonly number[] | undefined): readonly number[] {
  const list = typeof option === "number" ? Array.from({ length: option }, () => 0) : (option ?? []);
  if (typeof option === "number" && (!Number.isInteger(option) || option < 0)) throw new DevnetConfigError("extraPorts must be a count >= 0 or a list of ports");
  if (list.length + 1 > MAX_PORTS) throw new DevnetConfigError(`a devnet serves at most ${MAX_PORTS} ports`);
  for (const port of list) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DevnetConfigError("extraPorts must be integers 0-65535");
  }
  return list;
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
