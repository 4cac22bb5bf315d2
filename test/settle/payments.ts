/**
 * What the settlement tests share beyond the harness: real x402 payment bodies built by the
 * @x402/stellar client against the devnet, POSTs to Quay's api, and reads of what Quay recorded.
 */
import { afterAll, beforeAll } from "vitest";
import { Account, Address, Contract, Keypair, Operation, TransactionBuilder, authorizeEntry, nativeToScVal, rpc, xdr } from "@stellar/stellar-sdk";
import { createEd25519Signer, ExactStellarScheme as ClientScheme } from "@x402/stellar";
import { allowClientHttpRpc } from "@quay/demo";
import { fund } from "../devnet/helpers";
import type { Requirements } from "../x402/fixtures";
import { startQuay, USDC_SAC, type HarnessOptions, type QuayHarness } from "./harness";

export type { Requirements };

export interface SettleBody {
  x402Version: number;
  paymentPayload: { x402Version: number; accepted: Requirements; payload: Record<string, unknown> };
  paymentRequirements: Requirements;
}

export interface SettleAnswer {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  payer?: string;
  transaction: string;
  network: string;
  amount?: string;
}

export const PRICE = 10_000n;

export function requirementsFor(payTo: string, amount = PRICE, maxTimeoutSeconds = 600): Requirements {
  return {
    scheme: "exact",
    network: "stellar:testnet",
    asset: USDC_SAC,
    amount: amount.toString(),
    payTo,
    // The client, unable to measure this devnet's 250 ms ledgers, assumes 5 s ones: its auth
    // expires after maxTimeoutSeconds/5 ledgers, so 600 s gives a payment ~30 s of real time.
    maxTimeoutSeconds,
    extra: { areFeesSponsored: true },
  };
}

export function bodyFor(envelope: string, requirements: Requirements): SettleBody {
  return {
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: requirements, payload: { transaction: envelope } },
    paymentRequirements: requirements,
  };
}

/**
 * One Quay and one payee for the tests of a describe block: started before them, stopped after,
 * with the x402 client allowed the devnet's plain-http RPC meanwhile. Read them inside the tests.
 */
export function settlementSuite(options: HarnessOptions = {}): { readonly quay: QuayHarness; readonly payTo: string } {
  let quay: QuayHarness | undefined;
  let payTo: string | undefined;
  let undo: (() => void) | undefined;
  beforeAll(async () => {
    undo = allowClientHttpRpc();
    quay = await startQuay(options);
    payTo = await newPayee(quay);
  });
  afterAll(async () => {
    await quay?.stop();
    undo?.();
  });
  return {
    get quay() {
      if (!quay) throw new Error("Quay is not started yet: read it inside a test");
      return quay;
    },
    get payTo() {
      if (!payTo) throw new Error("Quay is not started yet: read it inside a test");
      return payTo;
    },
  };
}

/** A payee with a USDC trustline; pays in PRICE from fresh payers. `allowClientHttpRpc()` must be on. */
export async function newPayee(quay: QuayHarness): Promise<string> {
  const payTo = Keypair.random().publicKey();
  await fund(quay.t.devnet, payTo, { usdc: 1n });
  return payTo;
}

/** A fresh funded payer and its payment of `amount` to `payTo`, as the @x402/stellar client builds it. */
export async function newPayment(quay: QuayHarness, payTo: string, amount = PRICE, maxTimeoutSeconds?: number): Promise<{ payer: Keypair; body: SettleBody }> {
  const payer = Keypair.random();
  await fund(quay.t.devnet, payer.publicKey(), { usdc: 1_000_000n });
  const requirements = requirementsFor(payTo, amount, maxTimeoutSeconds);
  const client = new ClientScheme(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: quay.t.devnet.rpcUrl });
  const payload = await client.createPaymentPayload(2, requirements as Parameters<ClientScheme["createPaymentPayload"]>[1]);
  return { payer, body: bodyFor(String(payload.payload.transaction), requirements) };
}

/** The SDK's null account: the @x402/stellar client's transaction source. */
const NULL_ACCOUNT = "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF";

/**
 * What @x402/stellar's client sends, built with the SDK Quay runs on: an unsigned transfer from the
 * null account, its payer's auth entry signed. `nonce` sets the auth nonce (the client draws a
 * random one); `validLedgers` how long the signature lasts. Returns the base64 envelope.
 */
export async function sdkPayment(
  server: rpc.Server,
  payer: Keypair,
  req: { asset: string; payTo: string; amount: string },
  options: { nonce?: bigint; validLedgers?: number } = {},
): Promise<string> {
  const { passphrase } = await server.getNetwork();
  const build = (auth?: xdr.SorobanAuthorizationEntry[]) => {
    const call = new Contract(req.asset).call("transfer", new Address(payer.publicKey()).toScVal(), new Address(req.payTo).toScVal(), nativeToScVal(BigInt(req.amount), { type: "i128" }));
    const op = auth ? Operation.invokeHostFunction({ func: call.body().invokeHostFunctionOp().hostFunction(), auth }) : call;
    return new TransactionBuilder(new Account(NULL_ACCOUNT, "0"), { fee: "100", networkPassphrase: passphrase }).addOperation(op).setTimeout(300).build();
  };
  const recorded = await server.simulateTransaction(build());
  if (!rpc.Api.isSimulationSuccess(recorded)) throw new Error("recording simulation failed");
  const expiration = (await server.getLatestLedger()).sequence + (options.validLedgers ?? 100);
  const entries = (recorded.result?.auth ?? []).map((entry) => {
    if (options.nonce !== undefined) entry.credentials().address().nonce(xdr.Int64.fromString(options.nonce.toString()));
    return entry;
  });
  const auth = await Promise.all(entries.map((entry) => authorizeEntry(entry, payer, expiration, passphrase)));
  const signed = build(auth);
  const enforced = await server.simulateTransaction(signed);
  if (!rpc.Api.isSimulationSuccess(enforced)) throw new Error(`enforcing simulation failed: ${rpc.Api.isSimulationError(enforced) ? enforced.error : "restore"}`);
  return rpc.assembleTransaction(signed, enforced).build().toXDR();
}

export interface HttpAnswer<T> {
  readonly status: number;
  readonly body: T;
}

export async function post<T = SettleAnswer>(
  url: string,
  path: "/settle" | "/verify",
  body: unknown,
  apiKey: string | undefined,
  init: { raw?: string; contentType?: string } = {},
): Promise<HttpAnswer<T>> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": init.contentType ?? "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: init.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export function settle(quay: QuayHarness, body: unknown, url = quay.apiUrl): Promise<HttpAnswer<SettleAnswer>> {
  return post(url, "/settle", body, quay.apiKey);
}

export interface AttemptRow {
  id: string;
  submission_id: string;
  channel_account: string;
  sequence: string;
  tx_hash: string;
  fee_bid: string;
  status: string;
  reason: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export async function attempts(quay: QuayHarness, paymentId?: string): Promise<AttemptRow[]> {
  const { rows } = await quay.pool.query<AttemptRow>(
    `select id, submission_id, channel_account, sequence, tx_hash, fee_bid_stroops::text as fee_bid, status, reason, created_at, finished_at
       from submission_attempts ${paymentId ? "where submission_id = $1" : ""} order by created_at, id`,
    paymentId ? [paymentId] : [],
  );
  return rows;
}

export interface PaymentRow {
  id: string;
  payer: string;
  status: string;
  reason: string | null;
  tx_hash: string | null;
  channel_account: string | null;
}

export async function payments(quay: QuayHarness): Promise<PaymentRow[]> {
  const { rows } = await quay.pool.query<PaymentRow>("select id, payer, status, reason, tx_hash, channel_account from submissions order by created_at");
  return rows;
}

/** Polls `read` until it returns something truthy, or fails after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T | undefined | false | null>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
