import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { HTTPFacilitatorClient } from "@x402/core/server";
import type { SchemeNetworkServer } from "@x402/core/types";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { createEd25519Signer, ExactStellarScheme as ClientScheme } from "@x402/stellar";
import { ExactStellarScheme as ServerScheme } from "@x402/stellar/exact/server";
import { LOOPBACK } from "./loopback";
import { x402StellarSdk } from "./x402-sdk";

/**
 * The two other parties of an x402 payment, built from the official packages exactly as a seller
 * and a buyer would: a seller behind `@x402/express` whose HTTPFacilitatorClient points at Quay,
 * and a buyer paying through `@x402/fetch` with `@x402/stellar`'s client scheme.
 */

export interface SellerOptions {
  readonly facilitatorUrl: string;
  /** Sent as `Authorization: Bearer …` on verify, settle and supported, as OZ Channels takes it. */
  readonly apiKey?: string;
  readonly network: "stellar:testnet" | "stellar:pubnet";
  readonly payTo: string;
  readonly asset: string;
  /** In the asset's base units (7 decimals). */
  readonly amount: bigint;
  readonly path?: string;
  /** 0 or absent: any free port. */
  readonly port?: number;
}

export interface Seller {
  readonly url: string;
  close(): Promise<void>;
}

export async function startSeller(options: SellerOptions): Promise<Seller> {
  const auth: Record<string, string> = options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {};
  const facilitator = new HTTPFacilitatorClient({
    url: options.facilitatorUrl,
    createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }),
  });
  // @x402/stellar 2.9's server scheme predates two fields @x402/core 2.27 reads; these are the
  // values its own EVM/SVM schemes use.
  const scheme: SchemeNetworkServer = Object.assign(new ServerScheme(), {
    defaultAssetTransferMethod: "default",
    paymentFlows: { default: { supported: ["authorization"] as const, default: "authorization" as const } },
  });
  const resourceServer = new x402ResourceServer(facilitator).register(options.network, scheme);
  const path = options.path ?? "/weather";
  const app = express();
  app.use(
    paymentMiddleware(
      {
        [`GET ${path}`]: {
          accepts: {
            scheme: "exact",
            network: options.network,
            payTo: options.payTo,
            price: { amount: options.amount.toString(), asset: options.asset },
            maxTimeoutSeconds: 60,
          },
          description: "Today's weather",
        },
      },
      resourceServer,
    ),
  );
  app.get(path, (_req, res) => {
    res.json({ forecast: "sunny", temperatureC: 21 });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(options.port ?? 0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Buyer {
  readonly address: string;
  /** `fetch` that pays 402 answers through x402. */
  readonly fetch: typeof globalThis.fetch;
}

/** `baseFetch` is what the paying fetch sends with (the global fetch unless a test watches the requests). */
export function createBuyer(
  secret: string,
  network: "stellar:testnet" | "stellar:pubnet",
  rpcUrl: string,
  baseFetch: typeof globalThis.fetch = globalThis.fetch,
): Buyer {
  const signer = createEd25519Signer(secret, network);
  const client = new x402Client().register(network, new ClientScheme(signer, { url: rpcUrl }));
  // @x402/stellar 2.9 has no default-asset lookup, which 2.27's default spend controls need.
  client.setSpendControls(false);
  return { address: signer.address, fetch: wrapFetchWithPayment(baseFetch, client) };
}


/**
 * @x402/stellar 2.9.0's client builds its AssembledTransaction without `allowHttp`, so it only talks
 * to an https RPC. The local devnet serves plain HTTP on loopback: this lets the client's assembled
 * transactions use a loopback http RPC, and nothing else. Returns the undo.
 */
export function allowClientHttpRpc(): () => void {
  const assembled = x402StellarSdk().contract.AssembledTransaction as { build: (options: Record<string, unknown>) => Promise<unknown> };
  const realBuild = assembled.build;
  assembled.build = function (this: unknown, options: Record<string, unknown>) {
    const url = new URL(String(options.rpcUrl));
    return realBuild.call(this, LOOPBACK.has(url.hostname) ? { ...options, allowHttp: true } : options);
  };
  return () => void (assembled.build = realBuild);
}
