import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { createPool, migrate, type DbPool } from "@quay/db";
import { fund, startTestDevnet, xlmBalance, type TestDevnet } from "../devnet/helpers";
import { runQuayCli, type CliOutcome } from "../helpers/cli";
import { freshDatabaseUrl, redisUrl } from "../helpers/services";
import { CliError, runCli } from "../../apps/cli/src/cli";

type Outcome = CliOutcome;

/** `quay <args>` as an operator runs it: its own process, with Quay's environment. */
function quay(args: string[], env: Record<string, string>): Promise<Outcome> {
  return runQuayCli(args, env);
}

/**
 * The same command run inside this process (each real one pays ~3 s of start-up): the environment
 * set for the call, stdout captured, and a CliError printed as main.ts prints it.
 */
async function quayHere(args: string[], env: Record<string, string>): Promise<Outcome> {
  const saved = { ...process.env };
  const write = process.stdout.write;
  let stdout = "";
  for (const key of Object.keys(process.env)) if (key !== "PATH") delete process.env[key];
  Object.assign(process.env, env);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await runCli(args);
    return { code: 0, stdout, stderr: "" };
  } catch (error) {
    if (error instanceof CliError) return { code: 1, stdout, stderr: `quay: ${error.message}\n` };
    throw error;
  } finally {
    process.stdout.write = write;
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

function expectOneLineError(outcome: Outcome, message: RegExp) {
  expect(outcome.stdout).toBe("");
  expect(outcome.code).toBe(1);
  expect(outcome.stderr).toMatch(/^quay: /);
  expect(outcome.stderr.trimEnd()).toMatch(message);
  expect(outcome.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe("quay pool", () => {
  let t: TestDevnet;
  let pool: DbPool;
  let env: Record<string, string>;
  const fundKeys = Keypair.random();

  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 250 });
    await fund(t.devnet, fundKeys.publicKey());
    const url = await freshDatabaseUrl();
    pool = createPool({ url });
    await migrate(pool);
    env = {
      DATABASE_URL: url,
      REDIS_URL: redisUrl(),
      STELLAR_TESTNET_RPC_URL: t.devnet.rpcUrl,
      STELLAR_TESTNET_FUND_SECRET: fundKeys.secret(),
      QUAY_MASTER_KEY: randomBytes(32).toString("base64"),
    };
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  const accountRows = async () =>
    (await pool.query<{ public_key: string; disabled: boolean }>("select public_key, disabled_at is not null as disabled from channel_accounts order by public_key")).rows;

  it("creates accounts on the ledger, reports them, drains and enables them, and tops them up exactly", async () => {
    const created = await quayHere(["pool", "create", "--network", "stellar:testnet", "--count", "3", "--balance", "5"], env);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const keys = created.stdout.trim().split("\n").slice(1).map((l) => l.trim());
    expect(created.stdout).toMatch(/^created 3 channel account\(s\) on stellar:testnet with 5 XLM each:/);
    expect(keys).toHaveLength(3);
    expect((await accountRows()).map((r) => r.public_key).sort()).toEqual([...keys].sort());
    for (const key of keys) expect(await xlmBalance(t.server, key)).toBe(50_000_000n);

    const status = await quay(["pool", "status"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("stellar:testnet: 3 channel account(s): 3 free, 0 leased, 0 draining, 0 disabled");
    expect(status.stdout).toContain("balances: min 5 XLM, total 15 XLM; 0 enabled below 2 XLM");
    expect(status.stdout).toContain(`fund ${fundKeys.publicKey()}: `);
    for (const key of keys) expect(status.stdout).toMatch(new RegExp(`${key} +free +5 +never`));
    expect(status.stdout).not.toContain(fundKeys.secret());

    const drained = await quayHere(["pool", "drain", keys[0]!], env);
    expect(drained.stdout.trim()).toBe("drained 1 channel account(s) on stellar:testnet: they take no new settlements");
    expect((await accountRows()).filter((r) => r.disabled).map((r) => r.public_key)).toEqual([keys[0]]);
    expect((await quayHere(["pool", "status"], env)).stdout).toMatch(new RegExp(`${keys[0]} +disabled`));

    const enabled = await quayHere(["pool", "enable", "--all"], env);
    expect(enabled.stdout.trim()).toBe("enabled 1 channel account(s) on stellar:testnet (2 already were)");
    expect((await accountRows()).filter((r) => r.disabled)).toEqual([]);

    // 5 XLM is below 6: each gets topped up to 7.5 exactly; then nothing is below 6.
    const toppedUp = await quayHere(["pool", "top-up", "--below", "6", "--to", "7.5"], env);
    expect(toppedUp.stdout.trim()).toBe("topped up 3 channel account(s) on stellar:testnet to 7.5 XLM");
    for (const key of keys) expect(await xlmBalance(t.server, key)).toBe(75_000_000n);
    const again = await quayHere(["pool", "top-up", "--below", "6", "--to", "7.5"], env);
    expect(again.stdout.trim()).toBe("no enabled channel account on stellar:testnet is below 6 XLM");
  });

  it("answers operator mistakes with one line and exit 1, never a stack", async () => {
    const stranger = Keypair.random().publicKey();
    const noMaster = { ...env, QUAY_MASTER_KEY: "" };
    // One real process, for main.ts's one-line rendering; the rest in this process, one after another.
    const rpcDown = await quay(["pool", "create", "--network", "stellar:testnet", "--count", "1"], { ...env, STELLAR_TESTNET_RPC_URL: "http://127.0.0.1:1" });
    const noNetwork = await quayHere(["pool", "create", "--count", "2"], env);
    const badBalance = await quayHere(["pool", "create", "--network", "stellar:testnet", "--count", "2", "--balance", "1.12345678"], env);
    const badCount = await quayHere(["pool", "create", "--network", "stellar:testnet", "--count", "0"], env);
    const inverted = await quayHere(["pool", "top-up", "--below", "5", "--to", "2"], env);
    const unknownAccount = await quayHere(["pool", "drain", stranger], env);
    const notEnabled = await quayHere(["pool", "status", "--network", "stellar:pubnet"], env);
    const noMasterKey = await quayHere(["pool", "create", "--network", "stellar:testnet", "--count", "1"], noMaster);
    const unknownSub = await quayHere(["pool", "fill"], env);
    const before = await accountRows();
    expectOneLineError(noNetwork, /--network is required/);
    expectOneLineError(badBalance, /--balance must be an amount of XLM with at most 7 decimals, got "1.12345678"/);
    expectOneLineError(badCount, /--count must be a whole number from 1 to 1000, got "0"/);
    expectOneLineError(inverted, /--to must be at least --below/);
    expectOneLineError(unknownAccount, new RegExp(`${stranger} is not a channel account of stellar:testnet`));
    expectOneLineError(notEnabled, /network "stellar:pubnet" is not enabled \(QUAY_NETWORKS enables stellar:testnet\)/);
    expectOneLineError(noMasterKey, /QUAY_MASTER_KEY must be set/);
    expectOneLineError(unknownSub, /unknown pool command "fill"/);
    expectOneLineError(rpcDown, /Stellar RPC unavailable \(stellar:testnet getLedgerEntries\): ECONNREFUSED$/);
    for (const outcome of [noNetwork, badBalance, rpcDown, noMasterKey]) expect(outcome.stderr).not.toContain(fundKeys.secret());
    // none of them changed the pool
    expect(await accountRows()).toEqual(before);
  });
});
