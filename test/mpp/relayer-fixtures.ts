/**
 * Quay as an MPP relayer on the devnet, for test/mpp/{relayer,channels,e2e}*.test.ts: a devnet
 * (with the TTL settings a test asks for), a fresh database, a pool of channel accounts, two
 * tenants' API keys, and the api and worker wired exactly as their processes wire them, with the
 * devnet's channel Wasm hash on the allow-list. `env` starts the same Quay as real processes.
 */
import { ApiKeys } from "@quay/keys";
import { CHANNEL_WASM_HASH } from "../../apps/devnet/src/soroban";
import { startQuay, type QuayHarness } from "../settle/harness";

export interface Relayer extends QuayHarness {
  /** Another tenant's key (tenant "seller" holds `apiKey`). */
  readonly otherApiKey: string;
  /** Calls the api with a tenant's bearer key; answers status and JSON body. */
  call(method: string, path: string, body?: unknown, options?: { key?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
}

export interface RelayerOptions {
  readonly ledgerCloseMs?: number;
  readonly minPersistentTtl?: number;
  /** How many ledgers of history the devnet's RPC keeps (getTransaction, getEvents). */
  readonly retentionLedgers?: number;
  readonly poolSize?: number;
  readonly withWorker?: boolean;
  /** Extra environment (e.g. MPP_TTL_SWEEP_SECONDS). */
  readonly env?: Record<string, string>;
}

/** Quay's test harness with the devnet's channel Wasm on the allow-list and the MPP jobs on a fast clock. */
export async function startRelayer(options: RelayerOptions = {}): Promise<Relayer> {
  const quay = await startQuay({
    ledgerCloseMs: options.ledgerCloseMs ?? 200,
    devnet: {
      ...(options.minPersistentTtl ? { minPersistentTtl: options.minPersistentTtl } : {}),
      ...(options.retentionLedgers ? { retentionLedgers: options.retentionLedgers } : {}),
    },
    ...(options.poolSize ? { poolSize: options.poolSize } : {}),
    ...(options.withWorker !== undefined ? { withWorker: options.withWorker } : {}),
    env: {
      MPP_CHANNEL_WASM_HASHES: CHANNEL_WASM_HASH.toString("hex"),
      MPP_EVENTS_POLL_SECONDS: "1",
      MPP_TTL_SWEEP_SECONDS: "1",
      ...options.env,
    },
  });
  const { key: otherApiKey } = await ApiKeys.create(quay.db, { tenant: "other-seller", networks: ["stellar:testnet"] });
  return Object.assign(quay, {
    otherApiKey,
    async call(method: string, path: string, body?: unknown, callOptions: { key?: string; headers?: Record<string, string> } = {}) {
      const res = await fetch(`${quay.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${callOptions.key ?? quay.apiKey}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...callOptions.headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: await res.json() };
    },
  });
}

/** Polls `read` until `done` holds for its value, or throws after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms: ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
