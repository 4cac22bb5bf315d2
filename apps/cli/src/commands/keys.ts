import { parseArgs, type ParseArgsConfig } from "node:util";
import { Config } from "@quay/config";
import { createDb, createPool, type Db } from "@quay/db";
import { AmbiguousApiKeyError, ApiKeyInputError, ApiKeys, UnknownApiKeyError, type KeyListing } from "@quay/keys";
import { CliError } from "../errors";

/**
 * `quay keys create|list|revoke`: tenants' bearer keys, straight against DATABASE_URL (the only
 * variable these commands read). The key is printed once, at creation; Quay keeps only its hash.
 */

const USAGE = [
  "usage: quay keys <create|list|revoke>",
  "  quay keys create --tenant NAME --networks stellar:testnet[,stellar:pubnet] [--fee-budget STROOPS] [--fee-reset-seconds S]",
  "                   [--rate-limit N] [--allow-contracts C...,C...] [--contract-share PERCENT]",
  "  quay keys list",
  "  quay keys revoke <id|prefix>",
].join("\n");

const say = (line: string) => process.stdout.write(`${line}\n`);

function options(args: string[], spec: NonNullable<ParseArgsConfig["options"]>) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (error) {
    // node's own parse errors are one clear line already ("Unknown option '--x'").
    throw new CliError(`${(error as Error).message}\n${USAGE}`);
  }
}

function wholeNumber(flag: string, value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliError(`${flag} must be a whole number, got "${value}"`);
  return BigInt(value);
}

async function withDb<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const pool = createPool({ url: Config.database().url, max: 1, applicationName: "quay-keys" });
  try {
    return await work(createDb(pool));
  } catch (error) {
    throw operatorError(error);
  } finally {
    await pool.end();
  }
}

/** Known failures become one line; anything else is a bug and keeps its stack. */
function operatorError(error: unknown): unknown {
  if (error instanceof ApiKeyInputError || error instanceof UnknownApiKeyError || error instanceof AmbiguousApiKeyError) {
    return new CliError(error.message);
  }
  // drizzle wraps the driver's error; its code is on the cause.
  const cause = (error as { cause?: unknown }).cause ?? error;
  const code = (cause as { code?: unknown }).code;
  if (code === "42P01") return new CliError("the database has no API key tables yet: run `quay migrate` first");
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "28P01" || code === "3D000") {
    return new CliError(`cannot use the database at DATABASE_URL (${String((cause as Error).message).split("\n")[0]})`);
  }
  return error;
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = options(args, {
    tenant: { type: "string" },
    networks: { type: "string" },
    "fee-budget": { type: "string" },
    "rate-limit": { type: "string" },
    "fee-reset-seconds": { type: "string" },
    "allow-contracts": { type: "string" },
    "contract-share": { type: "string" },
  });
  if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  const tenant = values.tenant as string | undefined;
  const networks = values.networks as string | undefined;
  if (!tenant) throw new CliError("--tenant NAME is required");
  if (!networks) throw new CliError(`--networks is required (comma-separated: ${Config.networkIds().join(", ")})`);
  const feeBudget = wholeNumber("--fee-budget", values["fee-budget"] as string | undefined);
  const rateLimit = wholeNumber("--rate-limit", values["rate-limit"] as string | undefined);
  if (rateLimit !== undefined && (rateLimit < 1n || rateLimit > BigInt(Number.MAX_SAFE_INTEGER))) {
    throw new CliError("--rate-limit must be a whole number of requests per minute, at least 1");
  }

  // Out-of-range values are refused by ApiKeys.create with the rule they break.
  const resetSeconds = wholeNumber("--fee-reset-seconds", values["fee-reset-seconds"] as string | undefined);
  const share = wholeNumber("--contract-share", values["contract-share"] as string | undefined);
  const contracts = values["allow-contracts"] as string | undefined;

  const created = await withDb((db) =>
    ApiKeys.create(db, {
      tenant,
      networks: networks.split(","),
      ...(feeBudget === undefined ? {} : { feeBudgetStroops: feeBudget }),
      ...(rateLimit === undefined ? {} : { rateLimitPerMinute: Number(rateLimit) }),
      ...(resetSeconds === undefined ? {} : { feeResetPeriodSeconds: Number(resetSeconds) }),
      ...(share === undefined ? {} : { contractCapacityPercent: Number(share) }),
      ...(contracts === undefined ? {} : { allowedContracts: contracts.split(",").filter(Boolean) }),
    }),
  );
  say(`created API key ${created.id} (prefix ${created.prefix}) for tenant "${tenant.trim()}":`);
  say(created.key);
  say("This key will not be shown again: Quay stores only its hash. Keep it somewhere safe now.");
}

function row(key: KeyListing): string[] {
  const budget = key.feeBudgetStroops === null ? `${key.feeSpentStroops}/unlimited` : `${key.feeSpentStroops}/${key.feeBudgetStroops}`;
  return [
    key.id,
    key.prefix,
    key.tenant,
    key.networks.join(","),
    budget,
    key.rateLimitPerMinute === null ? "default" : String(key.rateLimitPerMinute),
    key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : "active",
  ];
}

async function list(args: string[]): Promise<void> {
  const { positionals } = options(args, {});
  if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  const keys = await withDb((db) => ApiKeys.list(db));
  if (keys.length === 0) {
    say("no API keys (create one with: quay keys create --tenant NAME --networks stellar:testnet)");
    return;
  }
  const table = [["ID", "PREFIX", "TENANT", "NETWORKS", "FEES SPENT/BUDGET", "RATE/MIN", "STATUS"], ...keys.map(row)];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  for (const cells of table) say(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());
}

async function revoke(args: string[]): Promise<void> {
  const { positionals } = options(args, {});
  if (positionals.length !== 1) throw new CliError(`give exactly one key id or prefix\n${USAGE}`);
  const revoked = await withDb((db) => ApiKeys.revoke(db, positionals[0]!));
  say(
    revoked.alreadyRevoked
      ? `API key ${revoked.id} (${revoked.prefix}, tenant "${revoked.tenant}") was already revoked at ${revoked.revokedAt.toISOString()}`
      : `revoked API key ${revoked.id} (${revoked.prefix}, tenant "${revoked.tenant}"); running apis refuse it within seconds`,
  );
}

const subcommands: Record<string, (args: string[]) => Promise<void>> = { create, list, revoke };

export async function keysCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "help") {
    say(USAGE);
    return;
  }
  const subcommand = name === undefined ? undefined : subcommands[name];
  if (!subcommand) throw new CliError(name === undefined ? USAGE : `unknown keys command "${name}"\n${USAGE}`);
  await subcommand(rest);
}
