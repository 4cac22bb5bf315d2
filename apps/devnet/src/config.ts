import { Networks } from "@stellar/stellar-sdk";
import type { DevnetLogger } from "./logger";
import { silentLogger } from "./logger";

/** What a caller may set when starting a devnet; every field has a network-like default. */
export interface DevnetOptions {
  /** TCP port; 0 (default) picks any free port. */
  readonly port?: number;
  /** Interface to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Ledger close period in ms (default 5000; works down to ~100). */
  readonly ledgerCloseMs?: number;
  readonly networkPassphrase?: string;
  /** Transactions applied per ledger; more pending than this triggers surge pricing. */
  readonly maxTxPerLedger?: number;
  /** Stroops per base reserve (network: 5_000_000 = 0.5 XLM). */
  readonly baseReserve?: bigint;
  /** Minimum inclusion fee per operation, in stroops (network: 100). */
  readonly minInclusionFee?: bigint;
  readonly minPersistentTtl?: number;
  readonly minTemporaryTtl?: number;
  readonly maxEntryTtl?: number;
  /** XLM (in stroops) friendbot gives a new account (default 10 000 XLM). */
  readonly friendbotStroops?: bigint;
  /** How many ledgers of transactions/events the RPC keeps answering for. */
  readonly retentionLedgers?: number;
  readonly logger?: DevnetLogger;
}

export interface DevnetConfig {
  readonly port: number;
  readonly host: string;
  readonly ledgerCloseMs: number;
  readonly networkPassphrase: string;
  readonly maxTxPerLedger: number;
  readonly baseReserve: bigint;
  readonly minInclusionFee: bigint;
  readonly minPersistentTtl: number;
  readonly minTemporaryTtl: number;
  readonly maxEntryTtl: number;
  readonly friendbotStroops: bigint;
  readonly retentionLedgers: number;
  readonly logger: DevnetLogger;
}

/** The protocol the devnet speaks; @stellar/stellar-sdk 14 targets protocol 23. */
export const PROTOCOL_VERSION = 23;

/** The testnet USDC issuer (Circle); the devnet holds its account entry but not its key. */
export const USDC_ISSUER = "GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5";

export class DevnetConfigError extends Error {
  override readonly name = "DevnetConfigError";
}

export function resolveConfig(options: DevnetOptions = {}): DevnetConfig {
  const config: DevnetConfig = {
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    ledgerCloseMs: options.ledgerCloseMs ?? 5000,
    networkPassphrase: options.networkPassphrase ?? Networks.TESTNET,
    maxTxPerLedger: options.maxTxPerLedger ?? 100,
    baseReserve: options.baseReserve ?? 5_000_000n,
    minInclusionFee: options.minInclusionFee ?? 100n,
    // Mainnet/testnet StateArchivalSettings (protocol 23).
    minPersistentTtl: options.minPersistentTtl ?? 2_073_600,
    minTemporaryTtl: options.minTemporaryTtl ?? 17_280,
    maxEntryTtl: options.maxEntryTtl ?? 3_110_400,
    friendbotStroops: options.friendbotStroops ?? 10_000n * 10_000_000n,
    retentionLedgers: options.retentionLedgers ?? 17_280,
    logger: options.logger ?? silentLogger,
  };
  check(Number.isInteger(config.port) && config.port >= 0 && config.port <= 65535, "port must be an integer 0-65535");
  check(Number.isInteger(config.ledgerCloseMs) && config.ledgerCloseMs >= 10, "ledgerCloseMs must be an integer >= 10");
  check(config.networkPassphrase.length > 0, "networkPassphrase must not be empty");
  check(Number.isInteger(config.maxTxPerLedger) && config.maxTxPerLedger >= 1, "maxTxPerLedger must be an integer >= 1");
  check(config.baseReserve >= 0n, "baseReserve must be >= 0");
  // Both travel in the ledger header as uint32.
  check(config.minInclusionFee >= 1n && config.minInclusionFee <= 4_294_967_295n, "minInclusionFee must be 1..4294967295");
  check(config.baseReserve <= 4_294_967_295n, "baseReserve must be <= 4294967295");
  for (const [name, v] of [
    ["minPersistentTtl", config.minPersistentTtl],
    ["minTemporaryTtl", config.minTemporaryTtl],
    ["maxEntryTtl", config.maxEntryTtl],
  ] as const) {
    check(Number.isInteger(v) && v >= 1, `${name} must be an integer >= 1`);
  }
  check(config.maxEntryTtl >= config.minPersistentTtl, "maxEntryTtl must be >= minPersistentTtl");
  check(config.friendbotStroops > 0n, "friendbotStroops must be > 0");
  check(Number.isInteger(config.retentionLedgers) && config.retentionLedgers >= 10, "retentionLedgers must be >= 10");
  return config;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new DevnetConfigError(message);
}
