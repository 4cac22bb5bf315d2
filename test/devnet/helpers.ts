/**
 * Shared helpers for devnet tests: start an in-process devnet with a fast ledger close, fund
 * accounts through its friendbot, drive its fault switch, and wait for transactions. Tests talk to
 * the devnet only over HTTP, through the real @stellar/stellar-sdk.
 */
import { Asset, Keypair, TransactionBuilder, rpc, xdr } from "@stellar/stellar-sdk";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { afterEach } from "vitest";
import { USDC_ISSUER, startDevnet } from "../../apps/devnet/src/index";
import type { Devnet, StartOptions } from "../../apps/devnet/src/index";

export { USDC_ISSUER };
export const USDC = new Asset("USDC", USDC_ISSUER);

export interface TestDevnet {
  readonly devnet: Devnet;
  readonly server: rpc.Server;
  readonly passphrase: string;
  close(): Promise<void>;
}

/**
 * Devnets a test starts and that are closed after it, even when it fails: call once at the top of
 * a file (`const devnet = devnetPerTest();`), then `await devnet(options)` in each test.
 */
export function devnetPerTest(): (options?: StartOptions) => Promise<TestDevnet> {
  const started: TestDevnet[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.close()));
  });
  return async (options = {}) => {
    const t = await startTestDevnet(options);
    started.push(t);
    return t;
  };
}

/** Starts a devnet on a free loopback port; ledgers close every 100 ms unless told otherwise. */
export async function startTestDevnet(options: StartOptions = {}): Promise<TestDevnet> {
  const devnet = await startDevnet({ ledgerCloseMs: 100, ...options });
  return {
    devnet,
    server: new rpc.Server(devnet.rpcUrl, { allowHttp: true }),
    passphrase: devnet.networkPassphrase,
    close: () => devnet.close(),
  };
}

/** Friendbot: creates `address` with 10 000 XLM (and, given `usdc` base units, a funded USDC trustline). */
export async function fund(devnet: Devnet, address: string, opts: { usdc?: bigint } = {}): Promise<FriendbotAnswer> {
  const url = new URL(devnet.friendbotUrl);
  url.searchParams.set("addr", address);
  if (opts.usdc !== undefined) url.searchParams.set("usdc", opts.usdc.toString());
  const res = await fetch(url);
  const body = (await res.json()) as FriendbotAnswer;
  if (!res.ok) throw new Error(`friendbot ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

export interface FriendbotAnswer {
  ok?: boolean;
  hash?: string | null;
  ledger?: number;
  error?: string;
  detail?: string;
}

/** A new keypair whose account exists (funded by friendbot). */
export async function fundedKeypair(devnet: Devnet, opts: { usdc?: bigint } = {}): Promise<Keypair> {
  const kp = Keypair.random();
  await fund(devnet, kp.publicKey(), opts);
  return kp;
}

export async function setFaults(devnet: Devnet, patch: Record<string, unknown>): Promise<Record<string, unknown>> {
  return control(devnet, "POST", "/faults", patch);
}

export async function getFaults(devnet: Devnet): Promise<Record<string, unknown>> {
  return control(devnet, "GET", "/faults");
}

export async function clearFaults(devnet: Devnet): Promise<Record<string, unknown>> {
  return control(devnet, "DELETE", "/faults");
}

/** Closes one ledger now (works while closing is paused). */
export async function closeLedger(devnet: Devnet): Promise<{ ledger: number; txCount: number; hashes: string[] }> {
  return control(devnet, "POST", "/close-ledger") as Promise<{ ledger: number; txCount: number; hashes: string[] }>;
}

async function control(devnet: Devnet, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${devnet.controlUrl}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`devnet control ${method} ${path} -> ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Polls getTransaction (every 25 ms) until the transaction is no longer NOT_FOUND. */
export async function waitForTx(server: rpc.Server, hash: string, timeoutMs = 10_000): Promise<rpc.Api.GetTransactionResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.getTransaction(hash);
    if (res.status !== rpc.Api.GetTransactionStatus.NOT_FOUND) return res;
    if (Date.now() > deadline) throw new Error(`transaction ${hash} not found within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends a signed transaction, requires PENDING, and waits for its outcome. */
export async function submitAndWait(server: rpc.Server, tx: Transaction | FeeBumpTransaction): Promise<rpc.Api.GetTransactionResponse> {
  const sent = await server.sendTransaction(tx);
  if (sent.status !== "PENDING") {
    throw new Error(`sendTransaction ${sent.status}${sent.errorResult ? ` ${txResultCode(sent.errorResult)}` : ""}`);
  }
  return waitForTx(server, sent.hash);
}

/** The transaction-level result code name, e.g. "txBadSeq" or "txFeeBumpInnerFailed". */
export function txResultCode(result: xdr.TransactionResult): string {
  return result.result().switch().name;
}

/** For fee bumps, the inner transaction's result code name. */
export function innerResultCode(result: xdr.TransactionResult): string {
  return result.result().innerResultPair().result().result().switch().name;
}

/** Operation result codes, e.g. ["paymentUnderfunded"] or ["opBadAuth"]. */
export function opResultCodes(result: xdr.TransactionResult): string[] {
  const r = result.result();
  const name = r.switch().name;
  const ops =
    name === "txFeeBumpInnerSuccess" || name === "txFeeBumpInnerFailed" ? r.innerResultPair().result().result().results() : r.results();
  return ops.map((op) => (op.switch().name === "opInner" ? op.tr().value().switch().name : op.switch().name));
}

export async function xlmBalance(server: rpc.Server, address: string): Promise<bigint> {
  const entry = await server.getAccountEntry(address);
  return BigInt(entry.balance().toString());
}

/** USDC held by a G account (its trustline balance), 0 when it has no trustline. */
export async function usdcBalance(server: rpc.Server, address: string): Promise<bigint> {
  try {
    const line = await server.getTrustline(address, USDC);
    return BigInt(line.balance().toString());
  } catch {
    return 0n;
  }
}

/** A TransactionBuilder on the account's current sequence number. */
export async function builderFor(t: TestDevnet, address: string, fee = "100"): Promise<TransactionBuilder> {
  const account = await t.server.getAccount(address);
  return new TransactionBuilder(account, { fee, networkPassphrase: t.passphrase });
}
