import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Express } from "express";
import { Address, Asset, FeeBumpTransaction, hash, Keypair, nativeToScVal, Operation, rpc, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { Receipt } from "mppx";
import { Mppx as ClientMppx } from "mppx/client";
import { Mppx as ServerMppx } from "mppx/express";
import { STELLAR_TESTNET, Units, USDC_SAC_TESTNET } from "@quay/mpp";
import * as chargeClient from "@quay/mpp/charge/client";
import * as chargeServer from "@quay/mpp/charge/server";
import * as channelClient from "@quay/mpp/channel/client";
import * as channelServer from "@quay/mpp/channel/server";
import { CHANNEL_WASM, CHANNEL_WASM_HASH } from "@quay/wasm";
import { friendbot } from "./pay";

/**
 * MPP beside Quay in a local run, built as an MPP developer builds it: mppx servers and clients on
 * @quay/mpp's Stellar method, written as the MPP docs' Stellar examples (`stellar.charge(...)`,
 * `stellar.channel(...)` from the `charge/*` and `channel/*` subpaths) with Quay as the fee payer,
 * so the servers run in relay mode. A charge server and a client paying it; a one-way channel
 * opened on the devnet, registered with Quay, paid by voucher through a channel server, and closed
 * by Quay's worker. Money is bigint base units (7 decimals for USDC, stroops for XLM).
 */

/** The Quay an MPP server names as its fee payer: its URL and a tenant's API key. */
export interface QuayAccess {
  readonly url: string;
  readonly apiKey: string;
}

/** The devnet (or any RPC with a friendbot that can fund USDC). */
export interface DevnetAccess {
  readonly rpcUrl: string;
  readonly friendbotUrl: string;
}

/** A balance before and after, in base units. */
export interface Moved {
  readonly before: bigint;
  readonly after: bigint;
}

export interface MppServer {
  readonly url: string;
  close(): Promise<void>;
}

const NETWORK = STELLAR_TESTNET;
const DECIMALS = 7;

/** Testnet USDC as a classic asset (Circle's issuer): USDC_SAC_TESTNET is its contract; the devnet holds it too. */
export const USDC_TESTNET = new Asset("USDC", "GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5");

/** An RPC client for `rpcUrl` (http allowed: the devnet is on loopback). */
export function rpcServer(rpcUrl: string): rpc.Server {
  return new rpc.Server(rpcUrl, { allowHttp: new URL(rpcUrl).protocol === "http:" });
}

/** A G… account's testnet USDC balance (its trustline), in base units. */
export async function usdcBalance(server: rpc.Server, address: string): Promise<bigint> {
  return BigInt((await server.getTrustline(address, USDC_TESTNET)).balance().toString());
}

/** A G… account's XLM balance, in stroops. */
export async function xlmBalance(server: rpc.Server, address: string): Promise<bigint> {
  return BigInt((await server.getAccountEntry(address)).balance().toString());
}

/** Base units as the human amount an mppx route takes ("0.001" for 10 000 at 7 decimals). */
export function humanAmount(baseUnits: bigint): string {
  return Units.fromBaseUnits(baseUnits, DECIMALS).replace(/0+$/, "").replace(/\.$/, "");
}

async function listen(app: Express, port: number, path: string): Promise<MppServer> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- charge ----------------------------------------------------------------------------------

export interface MppChargeServerOptions {
  readonly quay: QuayAccess;
  /** Who is paid (G…). */
  readonly recipient: string;
  /** The route's price in the currency's base units. */
  readonly amount: bigint;
  /** SEP-41 token contract; default testnet USDC. */
  readonly currency?: string;
  readonly path?: string;
  /** 0 or absent: any free port. */
  readonly port?: number;
}

/**
 * An mppx charge server using Quay's Stellar method with Quay as fee payer (relay mode): Quay
 * validates each credential, sponsors the transaction's fee and settles it, and the receipt names
 * the settled transaction. The docs' server with `feePayer` set to Quay.
 */
export async function startMppChargeServer(options: MppChargeServerOptions): Promise<MppServer> {
  const mppx = ServerMppx.create({
    secretKey: randomBytes(32).toString("hex"),
    methods: [
      chargeServer.charge({
        recipient: options.recipient,
        currency: options.currency ?? USDC_SAC_TESTNET,
        network: NETWORK,
        feePayer: { url: options.quay.url, apiKey: options.quay.apiKey },
      }),
    ],
  });
  const path = options.path ?? "/report";
  const app = express();
  app.get(path, mppx.charge({ amount: humanAmount(options.amount) }), (_req, res) => {
    res.json({ report: "markets calm", paidWith: "mpp charge" });
  });
  return listen(app, options.port ?? 0, path);
}

export interface MppCharge {
  readonly status: number;
  readonly body: unknown;
  readonly receipt: Receipt.Receipt;
  readonly payer: string;
  readonly payerUsdc: Moved;
  readonly recipientUsdc: Moved;
  /** The payer's XLM (stroops): unchanged when the charge was sponsored. */
  readonly payerXlm: Moved;
  /** The transaction the receipt names: who paid its fee (a fee bump's fee source) and how much (stroops). */
  readonly fee: { readonly source: string; readonly charged: bigint };
}

/**
 * One paid request to an MPP charge server from a new payer the friendbot funds with `usdc` (base
 * units; default 1 USDC): the docs' client in pull mode (it signs the transfer's auth entry, the
 * server has it settled). Throws unless the server answers 200 with a receipt.
 */
export async function payMppCharge(url: string, devnet: DevnetAccess, recipient: string, options: { usdc?: bigint } = {}): Promise<MppCharge> {
  const server = rpcServer(devnet.rpcUrl);
  const payer = Keypair.random();
  await friendbot(devnet.friendbotUrl, payer.publicKey(), options.usdc ?? 10_000_000n);
  const read = () => Promise.all([usdcBalance(server, payer.publicKey()), usdcBalance(server, recipient), xlmBalance(server, payer.publicKey())]);
  const before = await read();

  const mppx = ClientMppx.create({ polyfill: false, methods: [chargeClient.charge({ keypair: payer, mode: "pull", rpcUrl: devnet.rpcUrl })] });
  const res = await mppx.fetch(url);
  const body = await bodyOf(res);
  if (res.status !== 200) throw new Error(`the MPP charge server answered ${res.status}: ${JSON.stringify(body)}`);
  const receipt = Receipt.fromResponse(res);
  const fee = await feeOf(server, receipt.reference);
  const after = await read();
  return {
    status: res.status,
    body,
    receipt,
    payer: payer.publicKey(),
    payerUsdc: { before: before[0], after: after[0] },
    recipientUsdc: { before: before[1], after: after[1] },
    payerXlm: { before: before[2], after: after[2] },
    fee,
  };
}

async function bodyOf(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function feeOf(server: rpc.Server, txHash: string): Promise<{ source: string; charged: bigint }> {
  const tx = await server.getTransaction(txHash);
  if (tx.status !== rpc.Api.GetTransactionStatus.SUCCESS) throw new Error(`the receipt's transaction ${txHash} is ${tx.status}`);
  const { passphrase } = await server.getNetwork();
  const envelope = TransactionBuilder.fromXDR(tx.envelopeXdr.toXDR("base64"), passphrase);
  const source = envelope instanceof FeeBumpTransaction ? envelope.feeSource : envelope.source;
  return { source, charged: BigInt(tx.resultXdr.feeCharged().toString()) };
}

// ---- channel ---------------------------------------------------------------------------------

export interface OpenedChannel {
  /** The channel contract (C…). */
  readonly channel: string;
  readonly funder: Keypair;
  readonly recipient: Keypair;
  /** Signs the vouchers (its public key is in the contract). */
  readonly commitmentKey: Keypair;
  readonly deposit: bigint;
  /** The createContract transaction, and its ledger. */
  readonly txHash: string;
  readonly ledger: number;
}

export interface OpenChannelOptions {
  /** Base units moved from the funder into the channel. */
  readonly deposit: bigint;
  /** Ledgers the funder waits after close_start before taking the rest back; default 100. */
  readonly refundWaitingPeriod?: number;
  /** USDC the friendbot gives the funder (base units); default exactly the deposit. */
  readonly funderUsdc?: bigint;
}

/**
 * Opens a one-way payment channel on the devnet, as a funder does: a new funder (friendbot, USDC),
 * a new recipient (an account with a USDC trustline holding 1 base unit), a fresh commitment key, the channel's Wasm
 * uploaded and the contract created with the deposit (two transactions, each waited for).
 */
export async function openChannel(devnet: DevnetAccess, options: OpenChannelOptions): Promise<OpenedChannel> {
  const server = rpcServer(devnet.rpcUrl);
  const { passphrase } = await server.getNetwork();
  const funder = Keypair.random();
  const recipient = Keypair.random();
  const commitmentKey = Keypair.random();
  await Promise.all([
    friendbot(devnet.friendbotUrl, funder.publicKey(), options.funderUsdc ?? options.deposit),
    friendbot(devnet.friendbotUrl, recipient.publicKey(), 1n),
  ]);
  await submitOperation(server, passphrase, funder, ChannelDeploy.upload());
  const created = await submitOperation(
    server,
    passphrase,
    funder,
    ChannelDeploy.create({
      token: USDC_TESTNET.contractId(passphrase),
      funder: funder.publicKey(),
      commitmentKey: commitmentKey.rawPublicKey(),
      recipient: recipient.publicKey(),
      deposit: options.deposit,
      refundWaitingPeriod: options.refundWaitingPeriod ?? 100,
    }),
  );
  return {
    channel: ChannelDeploy.addressOf(created),
    funder,
    recipient,
    commitmentKey,
    deposit: options.deposit,
    txHash: created.txHash,
    ledger: created.ledger,
  };
}

/** The one-way channel contract's constructor arguments, in its own terms. */
export interface ChannelTerms {
  /** The SEP-41 token (C…) the channel holds. */
  readonly token: string;
  /** Who deposits, tops up and may take the rest back after the waiting period (G…). */
  readonly funder: string;
  /** The ed25519 public key the vouchers are signed with (32 bytes). */
  readonly commitmentKey: Buffer;
  /** Who is paid by the vouchers (G… or C…). */
  readonly recipient: string;
  /** Base units moved from the funder into the channel. */
  readonly deposit: bigint;
  /** Ledgers the funder waits after close_start before the refund. */
  readonly refundWaitingPeriod: number;
  /** Names the contract's address with the funder; default random. */
  readonly salt?: Buffer;
}

/** The operations that deploy the channel contract (its Wasm from @quay/wasm), and the address a deploy returned. */
export const ChannelDeploy = {
  upload(): xdr.Operation {
    return Operation.uploadContractWasm({ wasm: CHANNEL_WASM });
  },
  /** Created by the funder: the address is derived from the funder and the salt. */
  create(terms: ChannelTerms): xdr.Operation {
    return Operation.createCustomContract({
      address: Address.fromString(terms.funder),
      wasmHash: CHANNEL_WASM_HASH,
      salt: hash(terms.salt ?? randomBytes(32)),
      constructorArgs: [
        Address.fromString(terms.token).toScVal(),
        Address.fromString(terms.funder).toScVal(),
        xdr.ScVal.scvBytes(terms.commitmentKey),
        Address.fromString(terms.recipient).toScVal(),
        nativeToScVal(terms.deposit, { type: "i128" }),
        xdr.ScVal.scvU32(terms.refundWaitingPeriod),
      ],
    });
  },
  addressOf(created: rpc.Api.GetSuccessfulTransactionResponse): string {
    if (!created.returnValue) throw new Error(`createCustomContract ${created.txHash} returned no address`);
    return Address.fromScVal(created.returnValue).toString();
  },
};

/**
 * Prepares (simulate + assemble) `op` from `signer`'s account, signs, sends and waits; throws
 * unless the transaction succeeded. `fee` is the inclusion bid in stroops (default 100).
 */
export async function submitOperation(
  server: rpc.Server,
  passphrase: string,
  signer: Keypair,
  op: xdr.Operation,
  options: { readonly fee?: string; readonly timeoutSeconds?: number } = {},
): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
  const account = await server.getAccount(signer.publicKey());
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  const built = new TransactionBuilder(account, { fee: options.fee ?? "100", networkPassphrase: passphrase }).addOperation(op).setTimeout(timeoutSeconds).build();
  const tx = await server.prepareTransaction(built);
  tx.sign(signer);
  const sent = await server.sendTransaction(tx);
  if (sent.status !== "PENDING") throw new Error(`sendTransaction answered ${sent.status}`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const outcome = await server.getTransaction(sent.hash);
    if (outcome.status === rpc.Api.GetTransactionStatus.SUCCESS) return outcome;
    if (outcome.status === rpc.Api.GetTransactionStatus.FAILED) throw new Error(`transaction ${sent.hash} failed`);
    if (Date.now() > deadline) throw new Error(`transaction ${sent.hash} not final within ${timeoutSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Registers the channel with Quay (POST /mpp/channels), entrusting it with the recipient's key
 * (sealed under Quay's master key) so that Quay's worker can close the channel on its own: on
 * request, when the funder starts a close, or by policy.
 */
export async function registerChannel(quay: QuayAccess, opened: OpenedChannel): Promise<void> {
  const res = await quayCall(quay, "POST", "/mpp/channels", {
    address: opened.channel,
    network: NETWORK,
    commitmentKey: opened.commitmentKey.publicKey(),
    recipientSecret: opened.recipient.secret(),
  });
  if (res.status !== 201) throw new Error(`Quay refused to register the channel: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface MppChannelServerOptions {
  readonly quay: QuayAccess;
  readonly channel: string;
  /** The channel's commitment key: G… or 64 hex. */
  readonly commitmentKey: string;
  /** The price of one request, in base units. */
  readonly amount: bigint;
  readonly path?: string;
  /** 0 or absent: any free port. */
  readonly port?: number;
}

/**
 * An mppx channel server using Quay's Stellar method with Quay as fee payer (relay mode): each
 * voucher is checked and kept by Quay (the highest, with its signature, in Postgres), and Quay
 * closes the channel. The docs' channel server with `feePayer` set to Quay and no store.
 */
export async function startMppChannelServer(options: MppChannelServerOptions): Promise<MppServer> {
  const mppx = ServerMppx.create({
    secretKey: randomBytes(32).toString("hex"),
    methods: [
      channelServer.channel({
        channel: options.channel,
        commitmentKey: options.commitmentKey,
        network: NETWORK,
        feePayer: { url: options.quay.url, apiKey: options.quay.apiKey },
      }),
    ],
  });
  const path = options.path ?? "/stream";
  const app = express();
  let served = 0;
  app.get(path, mppx.channel({ amount: humanAmount(options.amount) }), (_req, res) => {
    served += 1;
    res.json({ chunk: served });
  });
  return listen(app, options.port ?? 0, path);
}

export interface ChannelPayments {
  /** One receipt per paid request, in order. */
  readonly receipts: readonly Receipt.Receipt[];
  /** The cumulative amount of the last voucher the client signed. */
  readonly cumulative: bigint;
  readonly elapsedMs: number;
}

/** `count` paid requests over the channel: the docs' channel client, pinned to the channel, signing each cumulative voucher. */
export async function payOverChannel(url: string, opened: Pick<OpenedChannel, "channel" | "commitmentKey">, count: number): Promise<ChannelPayments> {
  let cumulative = 0n;
  const mppx = ClientMppx.create({
    polyfill: false,
    methods: [
      channelClient.channel({
        commitmentKey: opened.commitmentKey,
        channel: opened.channel,
        onProgress(event) {
          if (event.type === "signed") cumulative = BigInt(event.cumulativeAmount);
        },
      }),
    ],
  });
  const receipts: Receipt.Receipt[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const res = await mppx.fetch(url);
    const body = await bodyOf(res);
    if (res.status !== 200) throw new Error(`voucher ${i + 1} of ${count}: the channel server answered ${res.status}: ${JSON.stringify(body)}`);
    receipts.push(Receipt.fromResponse(res));
  }
  return { receipts, cumulative, elapsedMs: Math.round(performance.now() - started) };
}

export interface ChannelClose {
  /** The close transaction (final and successful). */
  readonly txHash: string;
  /** What the close paid the recipient and refunded the funder, in base units, as Quay recorded them. */
  readonly paid: bigint;
  readonly refunded: bigint;
  readonly trigger: string;
}

/**
 * Asks Quay to close the channel with the highest voucher it holds (POST /mpp/channels/:address/close):
 * the api records the close transaction, Quay's worker submits it, and the answer comes once it is
 * final. A 202 (still pending when Quay's wait ran out) is asked again.
 */
export async function closeThroughQuay(quay: QuayAccess, channel: string, timeoutMs = 60_000): Promise<ChannelClose> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await quayCall(quay, "POST", `/mpp/channels/${channel}/close`, {});
    if (res.status === 200 && typeof res.body.txHash === "string") break;
    if (res.status !== 202) throw new Error(`Quay could not close the channel: ${res.status} ${JSON.stringify(res.body)}`);
    if (Date.now() > deadline) throw new Error(`the close was still pending after ${timeoutMs} ms`);
  }
  // The answer comes once the transaction is final; its outcome (paid, refunded) may be recorded a moment later.
  for (;;) {
    const { body } = await quayCall(quay, "GET", `/mpp/channels/${channel}`);
    const close = body.close as { status?: string; paid?: string | null; refunded?: string | null; trigger?: string } | null;
    if (close?.status === "succeeded" && typeof body.txHash === "string" && close.paid != null && close.refunded != null) {
      return { txHash: body.txHash, paid: BigInt(close.paid), refunded: BigInt(close.refunded), trigger: close.trigger ?? "request" };
    }
    if (close?.status === "failed") throw new Error(`the close failed: ${JSON.stringify(close)}`);
    if (Date.now() > deadline) throw new Error(`the close's outcome was not recorded within ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function quayCall(quay: QuayAccess, method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, quay.url), {
    method,
    headers: { authorization: `Bearer ${quay.apiKey}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}
