import { createPublicKey, verify } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Keypair } from "@stellar/stellar-sdk";
import { Commitment } from "@quay/mpp";
import type { DbPool } from "@quay/db";
import { ProcStat } from "../processes";

/**
 * Where a voucher's time goes: CPU seconds of each process over a level (Quay's api, Postgres'
 * backends, Redis, the generator), the database transactions per voucher, and the in-process cost
 * of the pieces of the relay's per-voucher work, timed here on the same machine.
 */

/** Sum of CPU seconds of every process whose command name is `comm` (Postgres' backends, redis-server). */
export function cpuSecondsOfCommand(comm: string): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
    } catch {
      continue;
    }
    total += ProcStat.cpuSeconds(Number(entry)) ?? 0;
  }
  return total;
}

/** CPU seconds of named processes (by pid) and of Postgres and Redis (by command), read before and after. */
export class CpuMeter {
  private before: Record<string, number> = {};
  constructor(private readonly pids: () => Readonly<Record<string, number>>) {}

  private read(): Record<string, number> {
    const out: Record<string, number> = { postgres: cpuSecondsOfCommand("postgres"), redis: cpuSecondsOfCommand("redis-server") };
    for (const [name, pid] of Object.entries(this.pids())) out[name] = ProcStat.cpuSeconds(pid) ?? 0;
    return out;
  }

  start(): void {
    this.before = this.read();
  }

  /** CPU seconds since start, by process. */
  stop(): Record<string, number> {
    const after = this.read();
    return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, Math.max(0, value - (this.before[name] ?? value))]));
  }
}

/** Transactions committed in Quay's database so far (statements outside a transaction count one each). */
export async function committedTransactions(db: DbPool): Promise<number> {
  const { rows } = await db.query<{ n: string }>("select xact_commit::text as n from pg_stat_database where datname = current_database()");
  return Number(rows[0]?.n ?? 0);
}

/** µs per call of `fn`, over `iterations` after a warm-up. */
function time(iterations: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return ((performance.now() - start) * 1000) / iterations;
}

export interface MicroCosts {
  /** The commitment's XDR bytes (amount, channel, domain, network id). */
  readonly commitmentBytesUs: number;
  /** Commitment.verify as @quay/mpp does it (the SDK's Keypair.verify: pure-JS ed25519), bytes included. */
  readonly commitmentVerifyUs: number;
  /** The same signature checked by Node's native ed25519 (OpenSSL), the bytes given. */
  readonly nativeEd25519VerifyUs: number;
  /** JSON.parse of a voucher body. */
  readonly jsonParseUs: number;
}

export function measureMicroCosts(passphrase: string, channel: string): MicroCosts {
  const key = Keypair.random();
  const n = 2_000;
  const inputs = Array.from({ length: n }, (_, i) => ({ channel, amount: BigInt(i + 1), networkPassphrase: passphrase }));
  const signatures = inputs.map((input) => Commitment.sign(key, input));
  const messages = inputs.map((input) => Commitment.bytes(input));
  const spki = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), key.rawPublicKey()]), format: "der", type: "spki" });
  const bodies = signatures.map((signature, i) => JSON.stringify({ amount: String(i + 1), signature, challengeId: `bench-${i}`, requested: "1" }));
  const commitmentBytesUs = time(n, (i) => Commitment.bytes(inputs[i % n]!));
  const commitmentVerifyUs = time(n, (i) => Commitment.verify(key.publicKey(), inputs[i % n]!, signatures[i % n]!));
  const nativeEd25519VerifyUs = time(n, (i) => verify(null, messages[i % n]!, spki, Buffer.from(signatures[i % n]!, "hex")));
  const jsonParseUs = time(n, (i) => JSON.parse(bodies[i % n]!));
  return { commitmentBytesUs, commitmentVerifyUs, nativeEd25519VerifyUs, jsonParseUs };
}
