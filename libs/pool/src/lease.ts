import { randomUUID } from "node:crypto";
import { Signer } from "@quay/stellar";
import { and, eq, sql } from "drizzle-orm";
import { preparedOnce, schema, type Db } from "@quay/db";
import { Vault } from "@quay/vault";
import { isFreeToLease, POOL_COUNT_COLUMNS, type PoolCounts } from "./census";

const { channelAccounts } = schema;

/**
 * The longest pause between two looks for a free account. A release in this process wakes a
 * waiter at once; the oldest waiter's poll finds accounts freed by other processes or by expired leases,
 * soon enough not to leave one idle for long, rarely enough that a queue of waiters costs little.
 */
const MAX_POLL_MS = 250;

/** Every payment ends its lease with this: prepared once. */
const releaseLease = preparedOnce((db) =>
  db
    .update(channelAccounts)
    .set({ leaseOwner: null, leaseExpiresAt: null, lastUsedAt: sql`now()`, nextSequence: sql`${sql.placeholder("nextSequence")}` })
    .where(and(eq(channelAccounts.id, sql.placeholder("id")), eq(channelAccounts.leaseOwner, sql.placeholder("token"))))
    .prepare("quay_release_lease"),
);

/**
 * Every payment's lease: the network's free account used longest ago, taken in one statement. SKIP
 * LOCKED lets concurrent leasers pass over a row another is taking, instead of queueing on it.
 */
const leaseOldestFree = preparedOnce((db) =>
  db
    .update(channelAccounts)
    .set({ leaseOwner: sql`${sql.placeholder("token")}`, leaseExpiresAt: sql`now() + make_interval(secs => ${sql.placeholder("leaseSeconds")})` })
    .where(
      eq(
        channelAccounts.id,
        db
          .select({ id: channelAccounts.id })
          .from(channelAccounts)
          .where(and(eq(channelAccounts.network, sql.placeholder("network")), isFreeToLease))
          .orderBy(sql`${channelAccounts.lastUsedAt} asc nulls first`)
          .limit(1)
          .for("update", { skipLocked: true }),
      ),
    )
    .returning({
      id: channelAccounts.id,
      publicKey: channelAccounts.publicKey,
      secretEncrypted: channelAccounts.secretEncrypted,
      nextSequence: channelAccounts.nextSequence,
    })
    .prepare("quay_lease_oldest_free"),
);

export class PoolExhaustedError extends Error {
  override readonly name = "PoolExhaustedError";
  constructor(readonly network: string, waitedMs: number) {
    super(`no free channel account on ${network} after ${waitedMs} ms`);
  }
}

export interface LeasedAccount {
  readonly id: string;
  readonly network: string;
  readonly publicKey: string;
  /** The account's signing key, opened from the vault only for the lease holder. */
  readonly signer: Signer;
  /** The token that proves this holder still owns the lease. */
  readonly token: string;
  /** The sequence the account's next transaction takes, if its last holder knew it; else read it from the ledger. */
  readonly nextSequence: bigint | null;
}

export interface LeaseOptions {
  /** How long a lease lives without renewal: a crashed holder's lease ends after this. */
  readonly leaseMs?: number;
  /** How long acquire() waits for a free account before PoolExhaustedError. */
  readonly waitMs?: number;
}

/**
 * Exclusive use of one channel account at a time, across every worker process. A lease is a row
 * update guarded by `FOR UPDATE SKIP LOCKED`, with an expiry renewed while held; a holder that
 * dies simply stops renewing, and the account is free again once its lease has run out.
 */
export class ChannelLeases {
  private readonly leaseMs: number;
  private readonly waitMs: number;
  private readonly renewals = new Map<string, NodeJS.Timeout>();
  /**
   * Keys already opened, by account and sealed secret: importing a key costs more CPU than the
   * transaction it signs, and a busy worker leases every account many times a minute. Native key
   * objects, never strings, so a key cannot end up in a log or an error by accident.
   */
  private readonly signers = new Map<string, Signer>();
  /**
   * This process's waiters by network, oldest first. A release wakes one waiter: one freed
   * account serves one waiter, and waking them all would send them all to the database for it.
   * The oldest waiter's poll covers other processes' releases.
   */
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(
    private readonly db: Db,
    private readonly masterKey: Buffer,
    options: LeaseOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.waitMs = options.waitMs ?? 30_000;
  }

  /**
   * Takes the least recently used free account, waiting for one up to `waitMs` (first come, first
   * served in this process). Only the oldest waiter polls the database; the others sleep until a
   * release or their turn wakes them, so a queue of fifty costs no more queries than a queue of one.
   */
  async acquire(network: string): Promise<LeasedAccount> {
    const started = Date.now();
    const first = await this.tryAcquire(network);
    if (first) return first;
    let queue = this.waiters.get(network);
    if (!queue) this.waiters.set(network, (queue = new Set()));
    const waiter = new Waiter();
    queue.add(waiter);
    try {
      for (let pause = 20; ; ) {
        const left = this.waitMs - (Date.now() - started);
        if (left <= 0) throw new PoolExhaustedError(network, Date.now() - started);
        const polling = oldest(queue) === waiter;
        await waiter.sleep(polling ? Math.min(pause, left) : left);
        if (polling) pause = Math.min(pause * 2, MAX_POLL_MS);
        const leased = await this.tryAcquire(network);
        if (leased) return leased;
      }
    } finally {
      queue.delete(waiter);
      // The next in line tries at once (another account may be free too) and takes over the polling.
      wakeOne(queue);
    }
  }

  async tryAcquire(network: string): Promise<LeasedAccount | undefined> {
    const token = randomUUID();
    const [row] = await leaseOldestFree(this.db).execute({ network, token, leaseSeconds: this.leaseMs / 1000 });
    if (!row) return undefined;
    const signer = this.signerFor(row.publicKey, row.secretEncrypted);
    const leased: LeasedAccount = { id: row.id, network, publicKey: row.publicKey, signer, token, nextSequence: row.nextSequence };
    this.keepAlive(leased);
    return leased;
  }

  /**
   * Ends a lease now, so the account serves the next payment at once. Idempotent. `nextSequence`
   * is what the holder knows of the account's next sequence (null: unknown, read it from the ledger).
   */
  async release(lease: LeasedAccount, known: { nextSequence: bigint | null } = { nextSequence: null }): Promise<void> {
    clearInterval(this.renewals.get(lease.token));
    this.renewals.delete(lease.token);
    await releaseLease(this.db).execute({ id: lease.id, token: lease.token, nextSequence: known.nextSequence });
    const queue = this.waiters.get(lease.network);
    if (queue) wakeOne(queue);
  }

  /** True while this process holds the lease (acquired, not yet released or abandoned). */
  holds(lease: LeasedAccount): boolean {
    return this.renewals.has(lease.token);
  }

  /** Stops renewing every lease this process holds (on shutdown); the rows expire by themselves. */
  abandonAll(): void {
    for (const timer of this.renewals.values()) clearInterval(timer);
    this.renewals.clear();
  }

  async counts(network: string): Promise<PoolCounts> {
    const [row] = await this.db.select(POOL_COUNT_COLUMNS).from(channelAccounts).where(eq(channelAccounts.network, network));
    return row ?? { free: 0, leased: 0, disabled: 0 };
  }

  private signerFor(publicKey: string, sealed: string): Signer {
    const id = `${publicKey}:${sealed}`;
    let signer = this.signers.get(id);
    if (!signer) {
      signer = Signer.fromSecret(Vault.open(this.masterKey, sealed, publicKey));
      if (signer.publicKey !== publicKey) throw new Error(`channel account ${publicKey}: its sealed key is another account's`);
      this.signers.set(id, signer);
    }
    return signer;
  }

  private keepAlive(lease: LeasedAccount): void {
    const timer = setInterval(() => {
      void this.db
        .update(channelAccounts)
        .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${this.leaseMs / 1000})` })
        .where(and(eq(channelAccounts.id, lease.id), eq(channelAccounts.leaseOwner, lease.token)))
        .catch(() => {
          // A missed renewal is harmless while the lease has time left; the next tick retries.
        });
    }, this.leaseMs / 3);
    timer.unref();
    this.renewals.set(lease.token, timer);
  }
}

/** One acquire() waiting its turn. A wake that comes while it is not asleep ends its next sleep at once. */
class Waiter {
  private woken = false;
  private endSleep: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.endSleep = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.endSleep = end;
    });
  }

  wake(): void {
    if (this.endSleep) this.endSleep();
    else this.woken = true;
  }

  get asleep(): boolean {
    return this.endSleep !== undefined;
  }
}

function oldest(queue: Set<Waiter>): Waiter | undefined {
  return queue.values().next().value;
}

/**
 * Wakes the oldest waiter still asleep: releases in a burst (a ledger closing frees many accounts
 * at once) then reach as many waiters, which take the accounts in parallel. When every waiter is
 * already looking, the oldest looks once more when its current look ends.
 */
function wakeOne(queue: Set<Waiter>): void {
  for (const waiter of queue) {
    if (waiter.asleep) return waiter.wake();
  }
  oldest(queue)?.wake();
}
