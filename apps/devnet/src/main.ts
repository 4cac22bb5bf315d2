import { parseArgs } from "node:util";
import pino from "pino";
import { DevnetConfigError, NETWORK_RULES } from "./config";
import type { NetworkRules } from "./config";
import type { StartOptions } from "./index";
import { startDevnet } from "./index";

/**
 * The devnet as its own process. Flags override DEVNET_* environment variables:
 *   --port (DEVNET_PORT, default 8000)   --host (DEVNET_HOST, default 127.0.0.1)
 *   --ledger-close-ms (DEVNET_LEDGER_CLOSE_MS)   --passphrase (DEVNET_PASSPHRASE)
 *   --max-tx-per-ledger (DEVNET_MAX_TX_PER_LEDGER)   --min-inclusion-fee (DEVNET_MIN_INCLUSION_FEE)
 *   --min-persistent-ttl / --min-temporary-ttl / --max-entry-ttl (DEVNET_MIN_PERSISTENT_TTL, ...)
 *   --protocol-version (DEVNET_PROTOCOL_VERSION, 23..28, default 28)
 *   --extra-ports (DEVNET_EXTRA_PORTS: comma-separated ports, 0 = any; more RPC ports on the same ledger)
 *   --retention-ledgers (DEVNET_RETENTION_LEDGERS, default 120 960)
 *   --queue-timeout-ledgers / --queue-ban-ledgers / --queue-size-multiplier / --max-events-scan-ledgers
 *     (DEVNET_QUEUE_TIMEOUT_LEDGERS, ...; 0 switches the rule off)
 *   --relax (DEVNET_RELAX: comma-separated boolean rules to switch off, e.g. pendingFeeCheck,simulationPadding)
 *   --log-level (DEVNET_LOG_LEVEL, default info)
 * stdout carries one line, "devnet listening on <url>[ <url>...]" (the extra ports' URLs after the first).
 */
const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    "ledger-close-ms": { type: "string" },
    passphrase: { type: "string" },
    "max-tx-per-ledger": { type: "string" },
    "min-inclusion-fee": { type: "string" },
    "min-persistent-ttl": { type: "string" },
    "min-temporary-ttl": { type: "string" },
    "max-entry-ttl": { type: "string" },
    "protocol-version": { type: "string" },
    "extra-ports": { type: "string" },
    "retention-ledgers": { type: "string" },
    "queue-timeout-ledgers": { type: "string" },
    "queue-ban-ledgers": { type: "string" },
    "queue-size-multiplier": { type: "string" },
    "max-events-scan-ledgers": { type: "string" },
    relax: { type: "string" },
    "log-level": { type: "string" },
  },
  strict: true,
});

function setting(flag: keyof typeof values, env: string): string | undefined {
  const v = values[flag];
  return typeof v === "string" ? v : process.env[env];
}

function int(flag: keyof typeof values, env: string): number | undefined {
  const raw = setting(flag, env);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new DevnetConfigError(`--${flag} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

function list(flag: keyof typeof values, env: string): string[] | undefined {
  const raw = setting(flag, env);
  return raw === undefined ? undefined : raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

function intOf(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new DevnetConfigError(`--${flag} must be non-negative integers, got "${raw}"`);
  return Number(raw);
}

type BooleanRule = { [K in keyof NetworkRules]: NetworkRules[K] extends boolean ? K : never }[keyof NetworkRules];

/** The boolean network rules named in --relax, switched off. */
function relaxed(names: readonly string[]): Partial<Pick<NetworkRules, BooleanRule>> {
  const out: Partial<Record<BooleanRule, boolean>> = {};
  for (const name of names) {
    if (!(name in NETWORK_RULES) || typeof NETWORK_RULES[name as keyof NetworkRules] !== "boolean") {
      throw new DevnetConfigError(`--relax: unknown boolean rule "${name}" (rules: ${Object.keys(NETWORK_RULES).join(", ")})`);
    }
    out[name as BooleanRule] = false;
  }
  return out;
}

async function main(): Promise<void> {
  // Logs go to stderr so stdout carries only the "listening" line a supervisor waits for.
  const logger = pino({ level: setting("log-level", "DEVNET_LOG_LEVEL") ?? "info" }, pino.destination(2));
  const fee = setting("min-inclusion-fee", "DEVNET_MIN_INCLUSION_FEE");
  if (fee !== undefined && !/^\d+$/.test(fee)) throw new DevnetConfigError(`--min-inclusion-fee must be an integer, got "${fee}"`);
  const options: StartOptions = {
    port: int("port", "DEVNET_PORT") ?? 8000,
    ...opt("host", setting("host", "DEVNET_HOST")),
    ...opt("ledgerCloseMs", int("ledger-close-ms", "DEVNET_LEDGER_CLOSE_MS")),
    ...opt("networkPassphrase", setting("passphrase", "DEVNET_PASSPHRASE")),
    ...opt("maxTxPerLedger", int("max-tx-per-ledger", "DEVNET_MAX_TX_PER_LEDGER")),
    ...opt("minInclusionFee", fee === undefined ? undefined : BigInt(fee)),
    ...opt("minPersistentTtl", int("min-persistent-ttl", "DEVNET_MIN_PERSISTENT_TTL")),
    ...opt("minTemporaryTtl", int("min-temporary-ttl", "DEVNET_MIN_TEMPORARY_TTL")),
    ...opt("maxEntryTtl", int("max-entry-ttl", "DEVNET_MAX_ENTRY_TTL")),
    ...opt("protocolVersion", int("protocol-version", "DEVNET_PROTOCOL_VERSION")),
    ...opt("extraPorts", list("extra-ports", "DEVNET_EXTRA_PORTS")?.map((p) => intOf("extra-ports", p))),
    ...opt("retentionLedgers", int("retention-ledgers", "DEVNET_RETENTION_LEDGERS")),
    ...opt("queueTimeoutLedgers", int("queue-timeout-ledgers", "DEVNET_QUEUE_TIMEOUT_LEDGERS")),
    ...opt("queueBanLedgers", int("queue-ban-ledgers", "DEVNET_QUEUE_BAN_LEDGERS")),
    ...opt("queueSizeMultiplier", int("queue-size-multiplier", "DEVNET_QUEUE_SIZE_MULTIPLIER")),
    ...opt("maxEventsScanLedgers", int("max-events-scan-ledgers", "DEVNET_MAX_EVENTS_SCAN_LEDGERS")),
    ...relaxed(list("relax", "DEVNET_RELAX") ?? []),
    logger,
  };
  const devnet = await startDevnet(options);
  process.stdout.write(`devnet listening on ${devnet.rpcUrls.join(" ")}\n`);
  const shutdown = (signal: string): void => {
    logger.info({ signal }, "devnet stopping");
    devnet.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

main().catch((err: unknown) => {
  process.stderr.write(`devnet failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
