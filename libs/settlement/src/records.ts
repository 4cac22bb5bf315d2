import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { schema, type Db, type DbLike, type DbTx } from "@quay/db";

const { payments, paymentAttempts } = schema;

export type Payment = typeof payments.$inferSelect;
export type Attempt = typeof paymentAttempts.$inferSelect;

/** Postgres channel on which a payment's id is announced when it becomes final (sent on commit). */
export const PAYMENT_FINAL_CHANNEL = "quay_payment_final";

export const FINAL_STATUSES = ["succeeded", "failed"] as const;

/** Attempt states in which the transaction has landed or still could: while one exists, no other may be sent. */
const LIVE_ATTEMPT_STATUSES = ["built", "sent", "succeeded"] as const;

export function isFinal(payment: Pick<Payment, "status">): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(payment.status);
}

export interface FinalOutcome {
  readonly status: "succeeded" | "failed";
  readonly reason?: string;
  readonly txHash?: string;
  readonly ledger?: number;
  readonly feeChargedStroops?: bigint;
  readonly channelAccount?: string;
}

/** Reads and writes of one payment's settlement, each a single statement or transaction. */
export const Records = {
  async payment(db: Db, id: string): Promise<Payment | undefined> {
    const [row] = await db.select().from(payments).where(eq(payments.id, id));
    return row;
  },

  /** Attempts that may still land, or landed without the payment being final yet: each is settled before anything is sent. */
  async openAttempts(db: Db, paymentId: string): Promise<Attempt[]> {
    return db
      .select()
      .from(paymentAttempts)
      .where(and(eq(paymentAttempts.paymentId, paymentId), inArray(paymentAttempts.status, [...LIVE_ATTEMPT_STATUSES])))
      .orderBy(asc(paymentAttempts.createdAt));
  },

  async latestAttempt(db: Db, paymentId: string): Promise<Attempt | undefined> {
    const [row] = await db
      .select()
      .from(paymentAttempts)
      .where(eq(paymentAttempts.paymentId, paymentId))
      .orderBy(sql`${paymentAttempts.createdAt} desc`)
      .limit(1);
    return row;
  },

  async markSubmitting(db: Db, id: string): Promise<void> {
    await db
      .update(payments)
      .set({ status: "submitting", updatedAt: sql`now()` })
      .where(and(eq(payments.id, id), eq(payments.status, "queued")));
  },

  /**
   * Written before the transaction is sent, so a crash after sending still leaves its hash to look
   * up. Refused (undefined) when the payment is final or another attempt of it is live: with the
   * payment row locked, at most one transaction per payment is ever in flight, however many jobs
   * run it at once.
   */
  async recordBuilt(db: Db, attempt: typeof paymentAttempts.$inferInsert): Promise<Attempt | undefined> {
    return db.transaction(async (tx) => {
      const [payment] = await tx.select({ status: payments.status }).from(payments).where(eq(payments.id, attempt.paymentId)).for("update");
      if (!payment || isFinal(payment)) return undefined;
      if (await hasLiveAttempt(tx, attempt.paymentId)) return undefined;
      const [row] = await tx.insert(paymentAttempts).values(attempt).returning();
      return row;
    });
  },

  async markAttempt(
    db: DbLike,
    id: string,
    status: Attempt["status"],
    reason?: string,
    details?: Record<string, unknown>,
  ): Promise<void> {
    const final = status !== "built" && status !== "sent";
    // An attempt's end is final: a late writer (another run of the same payment) cannot reopen it.
    await db
      .update(paymentAttempts)
      .set({ status, reason: reason ?? null, ...(details ? { details } : {}), ...(final ? { finishedAt: sql`now()` } : {}) })
      .where(and(eq(paymentAttempts.id, id), inArray(paymentAttempts.status, ["built", "sent"])));
  },

  /**
   * Makes a payment final exactly once: only a payment that is not final yet changes, and the fee
   * is charged to its key in the same transaction, so a retried job charges nothing twice. A
   * failure is refused while any attempt is live (it may land, or did): only a success or the last
   * attempt's end can close such a payment. `concluded`, the attempt whose outcome this is, is
   * marked in the same transaction, so no crash can leave a landed attempt with an open payment.
   * Returns false when nothing changed.
   */
  async finalize(
    db: Db,
    paymentId: string,
    outcome: FinalOutcome,
    charge?: (tx: DbTx, apiKeyId: string, feeStroops: bigint) => Promise<void>,
    concluded?: { readonly id: string; readonly status: "succeeded" | "failed"; readonly reason?: string },
  ): Promise<boolean> {
    return db.transaction(async (tx) => {
      if (concluded) await Records.markAttempt(tx, concluded.id, concluded.status, concluded.reason);
      const [current] = await tx.select({ status: payments.status }).from(payments).where(eq(payments.id, paymentId)).for("update");
      if (!current || isFinal(current)) return false;
      if (outcome.status === "failed" && (await hasLiveAttempt(tx, paymentId))) return false;
      const [row] = await tx
        .update(payments)
        .set({
          status: outcome.status,
          reason: outcome.reason ?? null,
          txHash: outcome.txHash ?? null,
          ledger: outcome.ledger ?? null,
          feeChargedStroops: outcome.feeChargedStroops ?? null,
          channelAccount: outcome.channelAccount ?? null,
          updatedAt: sql`now()`,
          settledAt: sql`now()`,
        })
        .where(eq(payments.id, paymentId))
        .returning({ apiKeyId: payments.apiKeyId });
      if (!row) return false;
      if (row.apiKeyId && outcome.feeChargedStroops && charge) {
        await charge(tx, row.apiKeyId, outcome.feeChargedStroops);
      }
      await tx.execute(sql`select pg_notify(${PAYMENT_FINAL_CHANNEL}, ${paymentId})`);
      return true;
    });
  },
};

async function hasLiveAttempt(db: DbLike, paymentId: string): Promise<boolean> {
  const [live] = await db
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.paymentId, paymentId), inArray(paymentAttempts.status, [...LIVE_ATTEMPT_STATUSES])))
    .limit(1);
  return live !== undefined;
}
