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
  /**
   * How many ledgers of transactions/events the RPC keeps answering for (stellar-rpc's
   * history-retention-window; default its 120 960, about 7 days; providers often keep ~17 280).
   */
  readonly retentionLedgers?: number;
  /**
   * Ledgers a pending transaction may wait in the queue before it is dropped (stellar-core's
   * TRANSACTION_QUEUE_TIMEOUT_LEDGERS, 4); 0 keeps it until included.
   */
  readonly queueTimeoutLedgers?: number;
  /**
   * Ledgers a dropped, refused-for-fee or just-applied transaction's hash answers TRY_AGAIN_LATER
   * (stellar-core's TRANSACTION_QUEUE_BAN_LEDGERS, 10); 0 bans nothing.
   */
  readonly queueBanLedgers?: number;
  /**
   * The queue holds at most this many ledgers' worth (x maxTxPerLedger) of transactions; a newcomer
   * must outbid the cheapest to evict it (stellar-core's TRANSACTION_QUEUE_SIZE_MULTIPLIER, 2); 0: unbounded.
   */
  readonly queueSizeMultiplier?: number;
  /**
   * Admission requires the fee source's available balance to cover the new fee plus the fees of
   * all its pending transactions, else txINSUFFICIENT_BALANCE (default true; false checks each alone).
   */
  readonly pendingFeeCheck?: boolean;
  /** Ledgers one getEvents call scans at most (stellar-rpc's LedgerScanLimit, 10 000); 0: unlimited. */
  readonly maxEventsScanLedgers?: number;
  /**
   * Soroban fees as the network charges them (default true): the non-refundable part priced on the
   * declared resources and the transaction size, the refundable part (rent, events and return
   * value) refunded in full when the transaction fails. False: priced on what the host used, and a
   * failed transaction keeps its whole declared resource fee.
   */
  readonly networkResourceFees?: boolean;
  /** A declared resource fee below what the declared resources need is txSOROBAN_INVALID at send (default true). */
  readonly resourceFeeCheckAtSend?: boolean;
  /** simulateTransaction pads as stellar-rpc does: instructions, transaction size, refundable fee (default true). */
  readonly simulationPadding?: boolean;
  /**
   * getFeeStats reports a Soroban transaction's inclusion fee whole (feeCharged - resource fee
   * charged) and a classic one per inner operation, as stellar-rpc does (default true; false: per fee operation).
   */
  readonly feeStatsPerTransaction?: boolean;
  /**
   * A transaction made invalid by an earlier one in the same ledger is applied as FAILED with its
   * code (e.g. txBAD_SEQ), fee charged, as stellar-core does (default true; false: silently left out).
   */
  readonly chargeInvalidAtApply?: boolean;
  /**
   * Replace-by-fee as stellar-core's queue judges it (default true): a fee bump replaces the
   * pending transaction of its inner source with the same sequence number; an older sequence number
   * is txBAD_SEQ. False: only a fee bump of the identical inner transaction replaces it.
   */
  readonly replaceBySequence?: boolean;
  /**
   * Admission refuses a transaction whose maxTime falls before the last close + 2 expected close
   * times + the drift since (stellar-core's upper-bound close-time offset) as txTOO_LATE, and one
   * whose minTime lies after the last close as txTOO_EARLY (default true; false: judged against
   * the next close time only).
   */
  readonly closeTimeSlack?: boolean;
  /**
   * The ledger protocol version (23..28, default 28): reported by getNetwork, getVersionInfo,
   * getLatestLedger and the ledger headers, and deciding which protocol rules apply (see Protocol).
   */
  readonly protocolVersion?: number;
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
  readonly protocolVersion: number;
  /** The network's harsh rules; the fault switch can override each at run time. */
  readonly rules: NetworkRules;
  readonly logger: DevnetLogger;
}

/** The rules the devnet can relax for a test; each defaults to the network's behaviour. See DevnetOptions. */
export interface NetworkRules {
  readonly queueTimeoutLedgers: number;
  readonly queueBanLedgers: number;
  readonly queueSizeMultiplier: number;
  readonly pendingFeeCheck: boolean;
  readonly maxEventsScanLedgers: number;
  readonly networkResourceFees: boolean;
  readonly resourceFeeCheckAtSend: boolean;
  readonly simulationPadding: boolean;
  readonly feeStatsPerTransaction: boolean;
  readonly chargeInvalidAtApply: boolean;
  readonly replaceBySequence: boolean;
  readonly closeTimeSlack: boolean;
}

/** The rules as the network has them (stellar-core, stellar-rpc and soroban-simulation defaults). */
export const NETWORK_RULES: NetworkRules = {
  queueTimeoutLedgers: 4,
  queueBanLedgers: 10,
  queueSizeMultiplier: 2,
  pendingFeeCheck: true,
  maxEventsScanLedgers: 10_000,
  networkResourceFees: true,
  resourceFeeCheckAtSend: true,
  simulationPadding: true,
  feeStatsPerTransaction: true,
  chargeInvalidAtApply: true,
  replaceBySequence: true,
  closeTimeSlack: true,
};

/** stellar-rpc's default history-retention-window: SevenDayOfLedgers = 7 x 17 280. */
export const DEFAULT_RETENTION_LEDGERS = 120_960;

/** The protocol the devnet speaks unless told otherwise: testnet's since 2026-08-27. */
export const DEFAULT_PROTOCOL_VERSION = 28;
/** The protocols the devnet can speak: 23 (automatic restore, CAP-66/67) up to 28. */
export const MIN_PROTOCOL_VERSION = 23;
export const MAX_PROTOCOL_VERSION = 28;

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
    retentionLedgers: options.retentionLedgers ?? DEFAULT_RETENTION_LEDGERS,
    protocolVersion: options.protocolVersion ?? DEFAULT_PROTOCOL_VERSION,
    rules: Rules.resolve(options),
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
  check(
    Number.isInteger(config.protocolVersion) && config.protocolVersion >= MIN_PROTOCOL_VERSION && config.protocolVersion <= MAX_PROTOCOL_VERSION,
    `protocolVersion must be an integer ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`,
  );
  Rules.check(config.rules, (ok, message) => check(ok, message));
  return config;
}

export namespace Rules {
  const COUNTS = ["queueTimeoutLedgers", "queueBanLedgers", "queueSizeMultiplier", "maxEventsScanLedgers"] as const;

  /** The options' rules over the network's. */
  export function resolve(options: Partial<NetworkRules>): NetworkRules {
    const out: Record<string, number | boolean> = { ...NETWORK_RULES };
    for (const name of Object.keys(NETWORK_RULES) as (keyof NetworkRules)[]) {
      const value = options[name];
      if (value !== undefined) out[name] = value;
    }
    return out as unknown as NetworkRules;
  }

  export function check(rules: NetworkRules, assert: (ok: boolean, message: string) => void): void {
    for (const name of COUNTS) {
      const v = rules[name];
      assert(Number.isInteger(v) && v >= 0 && v <= 1_000_000, `${name} must be an integer 0..1000000`);
    }
    for (const name of Object.keys(NETWORK_RULES) as (keyof NetworkRules)[]) {
      if (typeof NETWORK_RULES[name] === "boolean") assert(typeof rules[name] === "boolean", `${name} must be a boolean`);
    }
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new DevnetConfigError(message);
}
