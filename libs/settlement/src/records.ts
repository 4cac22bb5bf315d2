import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { schema, type Db, type DbTx } from "@quay/db";

const { payments, paymentAttempts } = schema;

export type Payment = typeof payments.$inferSelect;
export type Attempt = typeof paymentAttempts.$inferSelect;

/** Postgres channel on which a payment's id is announced when it becomes final (sent on commit). */
export const PAYMENT_FINAL_CHANNEL = "quay_payment_final";

export const FINAL_STATUSES = ["succeeded", "failed"] as const;

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

  async openAttempts(db: Db, paymentId: string): Promise<Attempt[]> {
    return db
      .select()
      .from(paymentAttempts)
      .where(and(eq(paymentAttempts.paymentId, paymentId), inArray(paymentAttempts.status, ["built", "sent"])))
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

  /** Written before the transaction is sent, so a crash after sending still leaves its hash to look up. */
  async recordBuilt(db: Db, attempt: typeof paymentAttempts.$inferInsert): Promise<Attempt> {
    const [row] = await db.insert(paymentAttempts).values(attempt).returning();
    return row!;
  },

  async markAttempt(
    db: Db,
    id: string,
    status: Attempt["status"],
    reason?: string,
    details?: Record<string, unknown>,
  ): Promise<void> {
    const final = status !== "built" && status !== "sent";
    await db
      .update(paymentAttempts)
      .set({ status, reason: reason ?? null, ...(details ? { details } : {}), ...(final ? { finishedAt: sql`now()` } : {}) })
      .where(eq(paymentAttempts.id, id));
  },

  /**
   * Makes a payment final exactly once: the update only matches a payment that is not final yet,
   * and the fee is charged to its key in the same transaction, so a retried job charges nothing twice.
   * Returns false when the payment was already final.
   */
  async finalize(
    db: Db,
    paymentId: string,
    outcome: FinalOutcome,
    charge?: (tx: DbTx, apiKeyId: string, feeStroops: bigint) => Promise<void>,
  ): Promise<boolean> {
    return db.transaction(async (tx) => {
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
        .where(and(eq(payments.id, paymentId), sql`${payments.status} not in ('succeeded', 'failed')`))
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
