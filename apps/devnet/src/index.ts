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
