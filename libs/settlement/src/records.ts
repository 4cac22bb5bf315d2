import { and, asc, eq, getTableColumns, gt, inArray, notInArray, sql } from "drizzle-orm";
import { preparedOnce, schema, type Db, type DbLike, type DbTx } from "@quay/db";

const { apiKeys, payments, paymentAttempts } = schema;

export type Payment = typeof payments.$inferSelect;
export type Attempt = typeof paymentAttempts.$inferSelect;
export type NewAttempt = Pick<
  Attempt,
  "paymentId" | "channelAccount" | "sequence" | "txHash" | "innerTxHash" | "feeBidStroops" | "maxTime" | "envelope"
>;

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

/**
 * The read every settle job and every waiting /settle makes, as a named prepared statement: built
 * by drizzle once per database, and parsed and planned by Postgres once per connection.
 */
const paymentById = preparedOnce((db) =>
  db.select().from(payments).where(eq(payments.id, sql.placeholder("id"))).prepare("quay_payment_by_id"),
);

/** Every sent transaction's attempt is marked so: prepared once. */
const attemptSent = preparedOnce((db) =>
  db
    .update(paymentAttempts)
    .set({ status: "sent" })
    .where(and(eq(paymentAttempts.id, sql.placeholder("id")), eq(paymentAttempts.status, "built")))
    .prepare("quay_attempt_sent"),
);

/** Reads and writes of one payment's settlement, each a single statement or transaction. */
export const Records = {
  async payment(db: Db, id: string): Promise<Payment | undefined> {
    const [row] = await paymentById(db).execute({ id });
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

  /**
   * Written before the transaction is sent, so a crash after sending still leaves its hash to look
   * up; the payment becomes `submitting` in the same statement. Refused (undefined) when the
   * payment is final or another attempt of it is live: with the payment row locked, at most one
   * transaction per payment is ever in flight, however many jobs run it at once.
   *
   * One statement, as it runs for every payment. The UPDATE takes the row lock (a writer that
   * waited on it re-reads the status, so a payment made final meanwhile inserts nothing). A built
   * or sent attempt makes the partial unique index refuse the insert, and a succeeded one is ruled
   * out by the NOT EXISTS; it only ever exists once its payment is final, which is refused anyway.
   */
  async recordBuilt(db: Db, attempt: NewAttempt): Promise<Attempt | undefined> {
    const { rows } = await db.execute<{ id: string; created_at: string }>(sql`
      with payment as (
        update ${payments} set status = 'submitting', updated_at = now()
         where id = ${attempt.paymentId} and status not in ('succeeded', 'failed')
        returning id)
      insert into ${paymentAttempts} (payment_id, channel_account, sequence, tx_hash, inner_tx_hash, fee_bid_stroops, max_time, envelope)
      select id, ${attempt.channelAccount}, ${attempt.sequence}, ${attempt.txHash}, ${attempt.innerTxHash}, ${attempt.feeBidStroops},
             ${attempt.maxTime}, ${attempt.envelope}
        from payment
       where not exists (select 1 from ${paymentAttempts} where payment_id = ${attempt.paymentId} and status = 'succeeded')
      on conflict (payment_id) where status in ('built', 'sent') do nothing
      returning id, created_at`);
    const row = rows[0];
    if (!row) return undefined;
    // Postgres' timestamptz text, read the way drizzle reads the column.
    const createdAt = new Date(row.created_at);
    return { ...attempt, id: row.id, createdAt, status: "built", reason: null, details: null, finishedAt: null };
  },

  /** The attempt's transaction was accepted by the network (a no-op once the attempt moved on). */
  async markSent(db: Db, id: string): Promise<void> {
    await attemptSent(db).execute({ id });
  },

  async markAttempt(
    db: DbLike,
    id: string,
    status: Attempt["status"],
    reason?: string,
    details?: Record<string, unknown>,
  ): Promise<void> {
    await attemptEnd(db, id, status, reason, details);
  },

  /**
   * Makes a payment final exactly once: only a payment that is not final yet changes, and a fee
   * paid is charged to the payment's key in the same statement, so a retried job charges nothing
   * twice. A failure is refused while any attempt is live (it may land, or did): only a success or
   * the last attempt's end can close such a payment. `concluded`, the attempt whose outcome this
   * is, is marked in the same statement, so no crash can leave a landed attempt with an open
   * payment. Returns the final payment, or undefined when nothing changed.
   *
   * A success is one statement. A failure first locks the row and then looks for live attempts in
   * a statement of its own, which sees any attempt committed while it waited.
   */
  async finalize(db: Db, payment: Pick<Payment, "id">, outcome: FinalOutcome, concluded?: ConcludedAttempt): Promise<Payment | undefined> {
    if (outcome.status === "succeeded") return makeFinal(db, payment.id, outcome, concluded);
    return db.transaction(async (tx) => {
      if (concluded) await attemptEnd(tx, concluded.id, concluded.status, concluded.reason);
      const [current] = await tx.select({ status: payments.status }).from(payments).where(eq(payments.id, payment.id)).for("update");
      if (!current || isFinal(current) || (await hasLiveAttempt(tx, payment.id))) return undefined;
      return makeFinalIn(tx, payment.id, outcome);
    });
  },
};

export interface ConcludedAttempt {
  readonly id: string;
  readonly status: "succeeded" | "failed";
  readonly reason?: string;
}

/** An attempt's end is final: a late writer (another run of the same payment) cannot reopen it. */
function attemptEnd(db: DbLike, id: string, status: Attempt["status"], reason?: string, details?: Record<string, unknown>) {
  const final = status !== "built" && status !== "sent";
  return db
    .update(paymentAttempts)
    .set({ status, reason: reason ?? null, ...(details ? { details } : {}), ...(final ? { finishedAt: sql`now()` } : {}) })
    .where(and(eq(paymentAttempts.id, id), inArray(paymentAttempts.status, ["built", "sent"])));
}

/**
 * The payment's final state, written unless it is final already, with the concluded attempt's end
 * and the fee's charge to the payment's key in the same statement, and the outcome announced on
 * commit. The charge reads the payment row this statement wrote, so it happens exactly when the
 * payment became final here; the fee was paid on chain, so it is recorded even past the key's
 * budget (the budget gate is at admission, which bounds any overshoot to fees in flight). Every
 * payment of a key charges the same row: in one statement its lock is held for microseconds, where
 * a transaction would hold it across round trips and queue that key's settlements behind it.
 *
 * Every payment runs it, so it is prepared (drizzle builds its SQL once); a failure, inside its
 * transaction, builds it on the spot.
 */
function finalStatement(db: DbLike, withConcluded: boolean) {
  const final = db.$with("final").as(
    db
      .update(payments)
      .set({
        status: sql`${sql.placeholder("status")}`,
        reason: sql`${sql.placeholder("reason")}`,
        txHash: sql`${sql.placeholder("txHash")}`,
        ledger: sql`${sql.placeholder("ledger")}`,
        feeChargedStroops: sql`${sql.placeholder("feeChargedStroops")}`,
        channelAccount: sql`${sql.placeholder("channelAccount")}`,
        updatedAt: sql`now()`,
        settledAt: sql`now()`,
      })
      .where(and(eq(payments.id, sql.placeholder("paymentId")), notInArray(payments.status, [...FINAL_STATUSES])))
      .returning({ ...getTableColumns(payments), announced: sql`pg_notify(${PAYMENT_FINAL_CHANNEL}, ${payments.id}::text)`.as("announced") }),
  );
  const charged = db.$with("charged").as(
    db
      .update(apiKeys)
      .set({ feeSpentStroops: sql`${apiKeys.feeSpentStroops} + ${final.feeChargedStroops}` })
      .from(final)
      .where(and(eq(apiKeys.id, final.apiKeyId), gt(final.feeChargedStroops, 0n)))
      .returning({ id: apiKeys.id }),
  );
  const concluded = db.$with("concluded", {}).as(
    db
      .update(paymentAttempts)
      .set({ status: sql`${sql.placeholder("attemptStatus")}`, reason: sql`${sql.placeholder("attemptReason")}`, finishedAt: sql`now()` })
      .where(and(eq(paymentAttempts.id, sql.placeholder("attemptId")), inArray(paymentAttempts.status, ["built", "sent"])))
      .getSQL(),
  );
  return db
    .with(...(withConcluded ? [concluded, final, charged] : [final, charged]))
    .select()
    .from(final)
    .prepare(withConcluded ? "quay_finalize_concluded" : "quay_finalize");
}

const finalPrepared = preparedOnce((db) => finalStatement(db, false));
const finalConcludedPrepared = preparedOnce((db) => finalStatement(db, true));

/** The payment's final state through the prepared statement: the path of every success. */
function makeFinal(db: Db, paymentId: string, outcome: FinalOutcome, concluded?: ConcludedAttempt): Promise<Payment | undefined> {
  return runFinal((concluded ? finalConcludedPrepared : finalPrepared)(db), paymentId, outcome, concluded);
}

/** The same statement on a transaction's connection: a failure, once its row is locked and checked. */
function makeFinalIn(tx: DbTx, paymentId: string, outcome: FinalOutcome): Promise<Payment | undefined> {
  return runFinal(finalStatement(tx, false), paymentId, outcome);
}

async function runFinal(
  statement: ReturnType<typeof finalStatement>,
  paymentId: string,
  outcome: FinalOutcome,
  concluded?: ConcludedAttempt,
): Promise<Payment | undefined> {
  const [row] = await statement.execute({
    paymentId,
    status: outcome.status,
    reason: outcome.reason ?? null,
    txHash: outcome.txHash ?? null,
    ledger: outcome.ledger ?? null,
    feeChargedStroops: outcome.feeChargedStroops ?? null,
    channelAccount: outcome.channelAccount ?? null,
    ...(concluded ? { attemptId: concluded.id, attemptStatus: concluded.status, attemptReason: concluded.reason ?? null } : {}),
  });
  if (!row) return undefined;
  const { announced: _, ...settled } = row;
  return settled;
}

async function hasLiveAttempt(db: DbLike, paymentId: string): Promise<boolean> {
  const [live] = await db
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.paymentId, paymentId), inArray(paymentAttempts.status, [...LIVE_ATTEMPT_STATUSES])))
    .limit(1);
  return live !== undefined;
}
