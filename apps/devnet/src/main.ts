import { parseArgs } from "node:util";
import pino from "pino";
import { DevnetConfigError } from "./config";
import type { StartOptions } from "./index";
import { startDevnet } from "./index";

/**
 * The devnet as its own process. Flags override DEVNET_* environment variables:
 *   --port (DEVNET_PORT, default 8000)   --host (DEVNET_HOST, default 127.0.0.1)
 *   --ledger-close-ms (DEVNET_LEDGER_CLOSE_MS)   --passphrase (DEVNET_PASSPHRASE)
 *   --max-tx-per-ledger (DEVNET_MAX_TX_PER_LEDGER)   --min-inclusion-fee (DEVNET_MIN_INCLUSION_FEE)
 *   --min-persistent-ttl / --min-temporary-ttl / --max-entry-ttl (DEVNET_MIN_PERSISTENT_TTL, ...)
 *   --log-level (DEVNET_LOG_LEVEL, default info)
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
    logger,
  };
  const devnet = await startDevnet(options);
  process.stdout.write(`devnet listening on ${devnet.rpcUrl}\n`);
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
