import { Keypair } from "@stellar/stellar-sdk";
import { decodePaymentResponseHeader } from "@x402/fetch";
import { blockNonLoopbackNetwork } from "./loopback";
import { allowClientHttpRpc, createBuyer } from "./parties";

export interface PaidRequest {
  readonly status: number;
  readonly body: unknown;
  readonly buyer: string;
  readonly transaction?: string;
}

/** Friendbot on the devnet: an account with XLM and, given `usdc` base units, a funded USDC trustline. */
export async function friendbot(friendbotUrl: string, address: string, usdc?: bigint): Promise<void> {
  const url = new URL(friendbotUrl);
  url.searchParams.set("addr", address);
  if (usdc !== undefined) url.searchParams.set("usdc", usdc.toString());
  const res = await fetch(url);
  if (!res.ok) throw new Error(`friendbot refused ${address}: ${res.status} ${await res.text()}`);
}

/** One paid request to an x402 seller, from a new buyer the devnet's friendbot funds with USDC. */
export async function payOnce(
  sellerUrl: string,
  devnet: { rpcUrl: string; friendbotUrl: string },
  network: "stellar:testnet" | "stellar:pubnet" = "stellar:testnet",
): Promise<PaidRequest> {
  const keys = Keypair.random();
  await friendbot(devnet.friendbotUrl, keys.publicKey(), 10_000_000n);
  // The client asks a hard-coded Horizon for ledger times: refuse it at once, as nothing here leaves loopback.
  const block = blockNonLoopbackNetwork();
  const undo = allowClientHttpRpc();
  try {
    const buyer = createBuyer(keys.secret(), network, devnet.rpcUrl);
    const res = await buyer.fetch(sellerUrl);
    const header = res.headers.get("PAYMENT-RESPONSE") ?? res.headers.get("X-PAYMENT-RESPONSE");
    const receipt = header ? decodePaymentResponseHeader(header) : undefined;
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body, buyer: keys.publicKey(), ...(receipt?.transaction ? { transaction: receipt.transaction } : {}) };
  } finally {
    undo();
    block.restore();
  }
}
