import { and, asc, eq, getTableColumns, gt, inArray, isNull, ne, notInArray, or, sql } from "drizzle-orm";
import { columnName, enumLiteral, preparedOnce, schema, type Db, type DbLike, type DbTx } from "@quay/db";

const { apiKeys, submissions, submissionAttempts } = schema;

export type Submission = typeof submissions.$inferSelect;
export type Attempt = typeof submissionAttempts.$inferSelect;
export type NewAttempt = Pick<
  Attempt,
  "submissionId" | "channelAccount" | "sequence" | "txHash" | "innerTxHash" | "feeBidStroops" | "maxTime" | "envelope"
>;

/** Postgres channel on which a submission's id is announced when it becomes final (sent on commit). */
export const SUBMISSION_FINAL_CHANNEL = "quay_submission_final";

export const FINAL_STATUSES = ["succeeded", "failed", "unresolved"] as const;

/** The predicate of the partial unique index submission_attempts_one_live (schema.ts): ON CONFLICT must repeat it. */
const ONE_LIVE_INDEX_STATUSES = ["built", "sent"] as const satisfies ReadonlyArray<Attempt["status"]>;

/** Attempt states in which the transaction has landed or still could: while one exists, no other may be sent. */
const LIVE_ATTEMPT_STATUSES = ["built", "sent", "succeeded"] as const;

export function isFinal(submission: Pick<Submission, "status">): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(submission.status);
}

export interface FinalOutcome {
  readonly status: (typeof FINAL_STATUSES)[number];
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
const submissionById = preparedOnce((db) =>
  db.select().from(submissions).where(eq(submissions.id, sql.placeholder("id"))).prepare("quay_submission_by_id"),
);

/** Every sent transaction's attempt is marked so: prepared once. */
const attemptSent = preparedOnce((db) =>
  db
    .update(submissionAttempts)
    .set({ status: "sent" })
    .where(and(eq(submissionAttempts.id, sql.placeholder("id")), eq(submissionAttempts.status, "built")))
    .prepare("quay_attempt_sent"),
);

/** Every delivered submission is claimed so: prepared once. */
const deliveryClaim = preparedOnce((db) =>
  db
    .update(submissions)
    .set({ deliveredAt: sql`now()` })
    .where(and(eq(submissions.id, sql.placeholder("id")), eq(submissions.status, "succeeded"), isNull(submissions.deliveredAt)))
    .returning({ id: submissions.id })
    .prepare("quay_claim_delivery"),
);

/** Percentiles of the fee bids attempts made, per network (for monitoring). */
export interface FeeBidSpread {
  readonly p50: bigint;
  readonly p90: bigint;
  readonly max: bigint;
}

/** Reads and writes of one submission's settlement, each a single statement or transaction. */
export const Records = {
  /** The fee bids of the attempts built in the last `minutes`, by the submission's network: what the state gauges report. */
  async recentFeeBids(db: Db, minutes = 15): Promise<Map<string, FeeBidSpread>> {
    const bid = submissionAttempts.feeBidStroops;
    const rows = await db
      .select({
        network: submissions.network,
        p50: sql<string>`(percentile_disc(0.5) within group (order by ${bid}))::text`,
        p90: sql<string>`(percentile_disc(0.9) within group (order by ${bid}))::text`,
        max: sql<string>`max(${bid})::text`,
      })
      .from(submissionAttempts)
      .innerJoin(submissions, eq(submissions.id, submissionAttempts.submissionId))
      .where(gt(submissionAttempts.createdAt, sql`now() - make_interval(mins => ${minutes})`))
      .groupBy(submissions.network);
    return new Map(rows.map((r) => [r.network, { p50: BigInt(r.p50), p90: BigInt(r.p90), max: BigInt(r.max) }]));
  },

  async submission(db: Db, id: string): Promise<Submission | undefined> {
    const [row] = await submissionById(db).execute({ id });
    return row;
  },

  /** Attempts that may still land, or landed without the submission being final yet: each is settled before anything is sent. */
  async openAttempts(db: Db, submissionId: string): Promise<Attempt[]> {
    return db
      .select()
      .from(submissionAttempts)
      .where(and(eq(submissionAttempts.submissionId, submissionId), inArray(submissionAttempts.status, [...LIVE_ATTEMPT_STATUSES])))
      .orderBy(asc(submissionAttempts.createdAt));
  },

  /**
   * Claims the submission's delivery: true for exactly one caller ever (a conditional update), and only
   * once the submission succeeded. That caller answers `success: true`; every other one is told the
   * submission was delivered already.
   */
  async claimDelivery(db: Db, submissionId: string): Promise<boolean> {
    const [claimed] = await deliveryClaim(db).execute({ id: submissionId });
    return claimed !== undefined;
  },

  async latestAttempt(db: Db, submissionId: string): Promise<Attempt | undefined> {
    const [row] = await db
      .select()
      .from(submissionAttempts)
      .where(eq(submissionAttempts.submissionId, submissionId))
      .orderBy(sql`${submissionAttempts.createdAt} desc`)
      .limit(1);
    return row;
  },

  /**
   * Written before the transaction is sent, so a crash after sending still leaves its hash to look
   * up; the submission becomes `submitting` in the same statement. Refused (undefined) when the
   * submission is final or another attempt of it is live: with the submission row locked, at most one
   * transaction per submission is ever in flight, however many jobs run it at once.
   *
   * One statement, as it runs for every submission. The UPDATE takes the row lock (a writer that
   * waited on it re-reads the status, so a submission made final meanwhile inserts nothing). A built
   * or sent attempt makes the partial unique index refuse the insert, and a succeeded one is ruled
   * out by the NOT EXISTS; it only ever exists once its submission is final, which is refused anyway.
   */
  async recordBuilt(db: Db, attempt: NewAttempt): Promise<Attempt | undefined> {
    const s = submissions;
    const a = submissionAttempts;
    const name = columnName;
    const submissionStatus = (value: Submission["status"]) => enumLiteral(schema.submissionStatus, value);
    const attemptStatus = (value: Attempt["status"]) => enumLiteral(schema.attemptStatus, value);
    const { rows } = await db.execute(sql`
      with submission as (
        update ${s} set ${name(s.status)} = ${submissionStatus("submitting")}, ${name(s.updatedAt)} = now()
         where ${s.id} = ${attempt.submissionId} and ${s.status} not in (${submissionStatus("succeeded")}, ${submissionStatus("failed")})
        returning ${s.id})
      insert into ${a} (${name(a.submissionId)}, ${name(a.channelAccount)}, ${name(a.sequence)}, ${name(a.txHash)}, ${name(a.innerTxHash)},
                        ${name(a.feeBidStroops)}, ${name(a.maxTime)}, ${name(a.envelope)})
      select ${name(s.id)}, ${attempt.channelAccount}, ${attempt.sequence}, ${attempt.txHash}, ${attempt.innerTxHash}, ${attempt.feeBidStroops},
             ${attempt.maxTime}, ${attempt.envelope}
        from submission
       where not exists (select 1 from ${a} where ${a.submissionId} = ${attempt.submissionId} and ${a.status} = ${attemptStatus("succeeded")})
      on conflict (${name(a.submissionId)}) where ${name(a.status)} in (${sql.join(ONE_LIVE_INDEX_STATUSES.map(attemptStatus), sql`, `)}) do nothing
      returning ${name(a.id)} as id, ${name(a.createdAt)}::text as created_at`);
    const row = rows[0];
    if (!row) return undefined;
    const { id, created_at } = row;
    if (typeof id !== "string" || typeof created_at !== "string") throw new Error("recordBuilt: the insert returned no id and created_at");
    // Postgres' timestamptz text, read the way drizzle reads the column.
    const createdAt = new Date(created_at);
    return { ...attempt, id, createdAt, status: "built", reason: null, details: null, finishedAt: null, feeChargedStroops: null };
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
    feeChargedStroops?: bigint,
  ): Promise<void> {
    await attemptEnd(db, id, status, reason, details, feeChargedStroops);
  },

  /** Every attempt of a submission, oldest first. */
  async attemptsOf(db: Db, submissionId: string): Promise<Attempt[]> {
    return db.select().from(submissionAttempts).where(eq(submissionAttempts.submissionId, submissionId)).orderBy(asc(submissionAttempts.createdAt));
  },

  /** Whether an attempt of another submission was built on the same channel account and sequence number. */
  async sequenceShared(db: Db, attempt: Pick<Attempt, "submissionId" | "channelAccount" | "sequence">): Promise<boolean> {
    const [other] = await db
      .select({ id: submissionAttempts.id })
      .from(submissionAttempts)
      .where(
        and(
          eq(submissionAttempts.channelAccount, attempt.channelAccount),
          eq(submissionAttempts.sequence, attempt.sequence),
          ne(submissionAttempts.submissionId, attempt.submissionId),
        ),
      )
      .limit(1);
    return other !== undefined;
  },

  /**
   * Makes a submission final exactly once: only a submission that is not final yet changes, and a fee
   * paid is charged to the submission's key in the same statement, so a retried job charges nothing
   * twice. A failure is refused while any attempt is live (it may land, or did): only a success or
   * the last attempt's end can close such a submission. `concluded`, the attempt whose outcome this
   * is, is marked in the same statement, so no crash can leave a landed attempt with an open
   * submission. Returns the final submission, or undefined when nothing changed.
   *
   * A success is one statement. A failure first locks the row and then looks for live attempts in
   * a statement of its own, which sees any attempt committed while it waited.
   */
  async finalize(db: Db, submission: Pick<Submission, "id">, outcome: FinalOutcome, concluded?: ConcludedAttempt): Promise<Submission | undefined> {
    // A success ends every attempt's story; an unresolved submission keeps its attempt open on purpose
    // (its outcome is not known, so nothing may be sent after it).
    if (outcome.status !== "failed") return makeFinal(db, submission.id, outcome, concluded);
    return db.transaction(async (tx) => {
      if (concluded) await attemptEnd(tx, concluded.id, concluded.status, concluded.reason, undefined, concluded.feeChargedStroops);
      const [current] = await tx.select({ status: submissions.status }).from(submissions).where(eq(submissions.id, submission.id)).for("update");
      if (!current || isFinal(current) || (await hasLiveAttempt(tx, submission.id))) return undefined;
      return makeFinalIn(tx, submission.id, outcome);
    });
  },
};

export interface ConcludedAttempt {
  readonly id: string;
  readonly status: "succeeded" | "failed";
  readonly reason?: string;
  /** What the ledger charged for it. */
  readonly feeChargedStroops?: bigint;
}

/** An attempt's end is final: a late writer (another run of the same submission) cannot reopen it. */
function attemptEnd(db: DbLike, id: string, status: Attempt["status"], reason?: string, details?: Record<string, unknown>, feeChargedStroops?: bigint) {
  const final = status !== "built" && status !== "sent";
  return db
    .update(submissionAttempts)
    .set({
      status,
      reason: reason ?? null,
      ...(details ? { details } : {}),
      ...(final ? { finishedAt: sql`now()` } : {}),
      ...(feeChargedStroops !== undefined ? { feeChargedStroops } : {}),
    })
    .where(and(eq(submissionAttempts.id, id), inArray(submissionAttempts.status, ["built", "sent"])));
}

/**
 * The submission's final state, written unless it is final already, with the concluded attempt's end
 * and the fee's charge to the submission's key in the same statement, and the outcome announced on
 * commit. The charge reads the submission row this statement wrote, so it happens exactly when the
 * submission became final here: the fee the ledger charged is added to the key's spending and the
 * submission's reservation (the most it could cost, held since admission) is released. Every
 * submission of a key charges the same row: in one statement its lock is held for microseconds, where
 * a transaction would hold it across round trips and queue that key's settlements behind it.
 *
 * Every submission runs it, so it is prepared (drizzle builds its SQL once); a failure, inside its
 * transaction, builds it on the spot.
 */
function finalStatement(db: DbLike, withConcluded: boolean) {
  const final = db.$with("final").as(
    db
      .update(submissions)
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
      .where(and(eq(submissions.id, sql.placeholder("submissionId")), notInArray(submissions.status, [...FINAL_STATUSES])))
      .returning({ ...getTableColumns(submissions), announced: sql`pg_notify(${SUBMISSION_FINAL_CHANNEL}, ${submissions.id}::text)`.as("announced") }),
  );
  const charged = db.$with("charged").as(
    db
      .update(apiKeys)
      .set({
        feeSpentStroops: sql`${apiKeys.feeSpentStroops} + coalesce(${final.feeChargedStroops}, 0)`,
        feeReservedStroops: sql`${apiKeys.feeReservedStroops} - ${final.feeReservedStroops}`,
      })
      .from(final)
      .where(and(eq(apiKeys.id, final.apiKeyId), or(gt(final.feeChargedStroops, 0n), gt(final.feeReservedStroops, 0n))))
      .returning({ id: apiKeys.id }),
  );
  const concluded = db.$with("concluded", {}).as(
    db
      .update(submissionAttempts)
      .set({
        status: sql`${sql.placeholder("attemptStatus")}`,
        reason: sql`${sql.placeholder("attemptReason")}`,
        feeChargedStroops: sql`${sql.placeholder("attemptFee")}`,
        finishedAt: sql`now()`,
      })
      .where(and(eq(submissionAttempts.id, sql.placeholder("attemptId")), inArray(submissionAttempts.status, ["built", "sent"])))
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

/** The submission's final state through the prepared statement: the path of every success. */
function makeFinal(db: Db, submissionId: string, outcome: FinalOutcome, concluded?: ConcludedAttempt): Promise<Submission | undefined> {
  return runFinal((concluded ? finalConcludedPrepared : finalPrepared)(db), submissionId, outcome, concluded);
}

/** The same statement on a transaction's connection: a failure, once its row is locked and checked. */
function makeFinalIn(tx: DbTx, submissionId: string, outcome: FinalOutcome): Promise<Submission | undefined> {
  return runFinal(finalStatement(tx, false), submissionId, outcome);
}

async function runFinal(
  statement: ReturnType<typeof finalStatement>,
  submissionId: string,
  outcome: FinalOutcome,
  concluded?: ConcludedAttempt,
): Promise<Submission | undefined> {
  const [row] = await statement.execute({
    submissionId,
    status: outcome.status,
    reason: outcome.reason ?? null,
    txHash: outcome.txHash ?? null,
    ledger: outcome.ledger ?? null,
    feeChargedStroops: outcome.feeChargedStroops ?? null,
    channelAccount: outcome.channelAccount ?? null,
    ...(concluded
      ? { attemptId: concluded.id, attemptStatus: concluded.status, attemptReason: concluded.reason ?? null, attemptFee: concluded.feeChargedStroops ?? null }
      : {}),
  });
  if (!row) return undefined;
  const { announced: _, ...settled } = row;
  return settled;
}

async function hasLiveAttempt(db: DbLike, submissionId: string): Promise<boolean> {
  const [live] = await db
    .select({ id: submissionAttempts.id })
    .from(submissionAttempts)
    .where(and(eq(submissionAttempts.submissionId, submissionId), inArray(submissionAttempts.status, [...LIVE_ATTEMPT_STATUSES])))
    .limit(1);
  return live !== undefined;
}
