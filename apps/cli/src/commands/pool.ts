import { parseArgs, type ParseArgsConfig } from "node:util";
import { Keypair, StrKey } from "@stellar/stellar-sdk";
import { Config, type NetworkConfig, type QuayConfig } from "@quay/config";
import { createDb, createPool } from "@quay/db";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin, type AccountStatus, type PoolAdminDeps } from "@quay/pool";
import { RpcResponseError, RpcUnavailableError, StellarNetwork, SubmissionError } from "@quay/stellar";
import { CliError } from "../errors";

/**
 * `quay pool create|status|top-up|drain|enable`: the channel accounts that submit settlements.
 * Reads Quay's whole configuration (DATABASE_URL, the network's RPC and fund account,
 * QUAY_MASTER_KEY), as the worker does. Amounts are XLM with up to 7 decimals, kept exact.
 */

const USAGE = [
  "usage: quay pool <create|status|top-up|drain|enable>",
  "  quay pool create --network stellar:testnet --count N [--balance XLM]   (default 10 XLM each, paid by the fund account)",
  "  quay pool status [--network NET]",
  "  quay pool top-up --below XLM --to XLM [--network NET]                  (enabled accounts below --below get --to)",
  "  quay pool drain [--network NET] (--all | ACCOUNT...)                   (take no new settlements; finish what they hold)",
  "  quay pool enable [--network NET] (--all | ACCOUNT...)",
  "--network may be left out when QUAY_NETWORKS enables one network.",
].join("\n");

const STROOPS_PER_XLM = 10_000_000n;
const DEFAULT_BALANCE = 10n * STROOPS_PER_XLM;
const MAX_CREATE = 1_000;

const say = (line: string) => process.stdout.write(`${line}\n`);

function options(
  args: string[],
  spec: NonNullable<ParseArgsConfig["options"]>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { network: { type: "string" }, ...spec }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`);
  }
}

/** "12.5" XLM as stroops, exactly; at most 7 decimals. */
export function parseXlm(flag: string, value: string | undefined): bigint {
  if (value === undefined) throw new CliError(`${flag} XLM is required`);
  const match = /^(\d{1,12})(?:\.(\d{1,7}))?$/.exec(value);
  if (!match) throw new CliError(`${flag} must be an amount of XLM with at most 7 decimals, got "${value}"`);
  return BigInt(match[1]!) * STROOPS_PER_XLM + BigInt((match[2] ?? "").padEnd(7, "0"));
}

export function formatXlm(stroops: bigint): string {
  const sign = stroops < 0n ? "-" : "";
  const abs = stroops < 0n ? -stroops : stroops;
  const fraction = (abs % STROOPS_PER_XLM).toString().padStart(7, "0").replace(/0+$/, "");
  return `${sign}${abs / STROOPS_PER_XLM}${fraction ? `.${fraction}` : ""}`;
}

function chooseNetwork(config: QuayConfig, given: string | undefined): NetworkConfig {
  const enabled = config.networks.map((n) => n.id).join(", ");
  if (given === undefined) {
    if (config.networks.length === 1) return config.networks[0]!;
    throw new CliError(`--network is required: QUAY_NETWORKS enables ${enabled}`);
  }
  const found = config.networks.find((n) => n.id === given);
  if (!found) throw new CliError(`network "${given.slice(0, 64)}" is not enabled (QUAY_NETWORKS enables ${enabled})`);
  return found;
}

/** Runs `work` against the configured database and network; known failures become one line. */
async function withPool<T>(given: string | undefined, work: (deps: PoolAdminDeps | Omit<PoolAdminDeps, "masterKey">, config: QuayConfig) => Promise<T>): Promise<T> {
  const config = Config.load();
  const networkConfig = chooseNetwork(config, given);
  const pool = createPool({ url: config.database.url, max: 2, applicationName: "quay-pool" });
  const deps = {
    db: createDb(pool),
    network: new StellarNetwork(networkConfig, createMetrics({ defaultMetrics: false })),
    fund: Keypair.fromSecret(networkConfig.fundSecret),
    ...(config.masterKey ? { masterKey: config.masterKey } : {}),
  };
  try {
    return await work(deps, config);
  } catch (error) {
    throw operatorError(error);
  } finally {
    await pool.end();
  }
}

function needMasterKey(deps: PoolAdminDeps | Omit<PoolAdminDeps, "masterKey">): PoolAdminDeps {
  if (!("masterKey" in deps)) throw new CliError("QUAY_MASTER_KEY must be set: channel-account seeds are sealed with it");
  return deps;
}

/** Known failures become one line; anything else is a bug and keeps its stack. */
function operatorError(error: unknown): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof RpcUnavailableError || error instanceof RpcResponseError) return new CliError(error.message);
  if (error instanceof SubmissionError) return new CliError(`the network refused the transaction ${error.hash}: ${error.message}`);
  const cause = (error as { cause?: unknown }).cause ?? error;
  const code = (cause as { code?: unknown }).code;
  if (code === "42P01") return new CliError("the database has no channel-account table yet: run `quay migrate` first");
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "28P01" || code === "3D000") {
    return new CliError(`cannot use the database at DATABASE_URL (${String((cause as Error).message).split("\n")[0]})`);
  }
  // The SDK's own "Account not found" when the fund account is not on the ledger.
  if (error instanceof Error && /account not found/i.test(error.message)) {
    return new CliError(`the fund account is not on the ledger: fund it first (${error.message.split("\n")[0]})`);
  }
  return error;
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = options(args, { count: { type: "string" }, balance: { type: "string" } });
  noPositionals(positionals);
  if (values.network === undefined) throw new CliError("--network is required (e.g. --network stellar:testnet)");
  const countText = values.count as string | undefined;
  if (countText === undefined || !/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > MAX_CREATE) {
    throw new CliError(`--count must be a whole number from 1 to ${MAX_CREATE}${countText === undefined ? "" : `, got "${countText}"`}`);
  }
  const balance = values.balance === undefined ? DEFAULT_BALANCE : parseXlm("--balance", values.balance as string);
  if (balance < STROOPS_PER_XLM) throw new CliError("--balance must be at least 1 XLM (the network's minimum balance for an account)");
  await withPool(values.network as string, async (deps) => {
    const created = await PoolAdmin.create(needMasterKey(deps), Number(countText), balance);
    say(`created ${created.length} channel account(s) on ${deps.network.id} with ${formatXlm(balance)} XLM each:`);
    for (const key of created) say(`  ${key}`);
  });
}

function stateOf(account: AccountStatus): string {
  if (account.disabled) return account.leasedUntil ? "draining" : "disabled";
  return account.leasedUntil ? "leased" : "free";
}

async function status(args: string[]): Promise<void> {
  const { values, positionals } = options(args, {});
  noPositionals(positionals);
  await withPool(values.network as string | undefined, async (deps, config) => {
    const accounts = await PoolAdmin.status(deps);
    const fundEntry = await deps.network.accountEntry(deps.fund.publicKey());
    const fundBalance = fundEntry ? BigInt(fundEntry.balance().toString()) : null;
    const count = (state: string) => accounts.filter((a) => stateOf(a) === state).length;
    const held = accounts.flatMap((a) => (a.balanceStroops === null ? [] : [a.balanceStroops]));
    const low = accounts.filter((a) => !a.disabled && a.balanceStroops !== null && a.balanceStroops < config.ops.channelMinBalanceStroops).length;
    say(`${deps.network.id}: ${accounts.length} channel account(s): ${count("free")} free, ${count("leased")} leased, ${count("draining")} draining, ${count("disabled")} disabled`);
    if (held.length > 0) {
      const min = held.reduce((a, b) => (b < a ? b : a));
      say(`balances: min ${formatXlm(min)} XLM, total ${formatXlm(held.reduce((a, b) => a + b, 0n))} XLM; ${low} enabled below ${formatXlm(config.ops.channelMinBalanceStroops)} XLM`);
    }
    say(`fund ${deps.fund.publicKey()}: ${fundBalance === null ? "not on the ledger" : `${formatXlm(fundBalance)} XLM`}`);
    if (accounts.length === 0) {
      say(`no channel accounts (create some with: quay pool create --network ${deps.network.id} --count 10)`);
      return;
    }
    const table = [
      ["ACCOUNT", "STATE", "BALANCE XLM", "LAST USED"],
      ...accounts.map((a) => [
        a.publicKey,
        stateOf(a),
        a.balanceStroops === null ? "not on ledger" : formatXlm(a.balanceStroops),
        a.lastUsedAt ? a.lastUsedAt.toISOString() : "never",
      ]),
    ];
    const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
    for (const cells of table) say(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());
  });
}

async function topUp(args: string[]): Promise<void> {
  const { values, positionals } = options(args, { below: { type: "string" }, to: { type: "string" } });
  noPositionals(positionals);
  const below = parseXlm("--below", values.below as string | undefined);
  const to = parseXlm("--to", values.to as string | undefined);
  if (to < below) throw new CliError("--to must be at least --below");
  await withPool(values.network as string | undefined, async (deps) => {
    const count = await PoolAdmin.topUp(needMasterKey(deps), below, to);
    say(
      count === 0
        ? `no enabled channel account on ${deps.network.id} is below ${formatXlm(below)} XLM`
        : `topped up ${count} channel account(s) on ${deps.network.id} to ${formatXlm(to)} XLM`,
    );
  });
}

/** The accounts a drain or enable names: --all, or public keys of this network's pool. */
async function selected(deps: Omit<PoolAdminDeps, "masterKey">, all: boolean, positionals: string[]): Promise<string[]> {
  if (all && positionals.length > 0) throw new CliError("give either --all or account public keys, not both");
  if (!all && positionals.length === 0) throw new CliError(`name the accounts (G...), or --all\n${USAGE}`);
  const known = await PoolAdmin.addresses(deps);
  if (all) return known;
  for (const key of positionals) {
    if (!StrKey.isValidEd25519PublicKey(key)) throw new CliError(`"${key.slice(0, 64)}" is not an account public key (G...)`);
    if (!known.includes(key)) throw new CliError(`${key} is not a channel account of ${deps.network.id}`);
  }
  return positionals;
}

async function drain(args: string[]): Promise<void> {
  const { values, positionals } = options(args, { all: { type: "boolean", default: false } });
  await withPool(values.network as string | undefined, async (deps) => {
    const keys = await selected(deps, values.all as boolean, positionals);
    const changed = await PoolAdmin.disable(deps, keys);
    const finishing = (await PoolAdmin.status(deps)).filter((a) => keys.includes(a.publicKey) && a.leasedUntil !== null).length;
    say(
      `drained ${changed} channel account(s) on ${deps.network.id}: they take no new settlements` +
        (finishing > 0 ? `; ${finishing} still finish the one they hold` : ""),
    );
  });
}

async function enable(args: string[]): Promise<void> {
  const { values, positionals } = options(args, { all: { type: "boolean", default: false } });
  await withPool(values.network as string | undefined, async (deps) => {
    const keys = await selected(deps, values.all as boolean, positionals);
    const changed = await PoolAdmin.enable(deps, keys);
    say(`enabled ${changed} channel account(s) on ${deps.network.id}${changed < keys.length ? ` (${keys.length - changed} already were)` : ""}`);
  });
}

const subcommands: Record<string, (args: string[]) => Promise<void>> = { create, status, "top-up": topUp, drain, enable };

export async function poolCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "help") {
    say(USAGE);
    return;
  }
  const subcommand = name === undefined ? undefined : subcommands[name];
  if (!subcommand) throw new CliError(name === undefined ? USAGE : `unknown pool command "${name}"\n${USAGE}`);
  await subcommand(rest);
}
