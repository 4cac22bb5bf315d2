import type { Queue } from "bullmq";
import { and, eq, inArray, isNull, lt, or, sql, TransactionRollbackError } from "drizzle-orm";
import pg from "pg";
import { preparedOnce, schema, type Db, type DbLike, type DbTx } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import type { JobData } from "@quay/queue";
import { FeeBudgetExceeded, LinkRefused } from "./errors";
import { isFinal, SUBMISSION_FINAL_CHANNEL, Records, type Submission } from "./records";

const { apiKeys, submissions } = schema;

export type SubmissionKind = (typeof schema.submissionKind.enumValues)[number];
export type SubmissionMode = (typeof schema.submissionMode.enumValues)[number];

/**
 * What a protocol layer knows of a call when it hands it to settlement. Its identity, the key
 * that makes it settle at most once, is the first of:
 * - (payer, authNonce): the first address authorisation the call carries, which the network
 *   lets be used once; `termsHash` then tells the call from another one under the same nonce;
 * - `envelopeHash`: the caller's own signed transaction (modes `fee_bump`, `as_is`);
 * - none: Quay's own maintenance calls, whose callers keep them unique.
 */
export interface NewSubmission {
  readonly network: string;
  readonly kind: SubmissionKind;
  /** Default `rebuild`. */
  readonly mode?: SubmissionMode;
  readonly payer?: string | null;
  readonly authNonce?: string | null;
  /** What the payer signed (`AuthEntry.termsHash`): another call under the same nonce is refused. */
  readonly termsHash?: string | null;
  readonly envelopeHash?: string | null;
  /** A payment's terms, for the layers that have them. */
  readonly asset?: string | null;
  readonly payTo?: string | null;
  readonly amount?: bigint | null;
  /** The contract a Channels API call invokes. */
  readonly contract?: string | null;
  readonly clientTransaction: string;
  /** The last ledger the call's authorisation can be used in; none for calls without one. */
  readonly signatureExpirationLedger?: number | null;
  readonly simulatedResources?: string | null;
  readonly simulatedAtLedger?: number | null;
  readonly apiKeyId?: string | null;
}

/**
 * What recording a submission came to:
 * - `recorded`: this call recorded it. `enqueueError` is set when its job could not be queued (Redis
 *   down): it is recorded all the same, and the worker's sweep queues it within a minute.
 * - `held`: Quay already holds this submission (same identity, same terms).
 * - `other_terms`: the payer's (network, nonce) names a submission recorded with other terms.
 */
export type Acceptance =
  | { readonly kind: "recorded"; readonly submission: Submission; readonly enqueueError?: unknown }
  | { readonly kind: "held"; readonly submission: Submission }
  | { readonly kind: "other_terms"; readonly submission: Submission };

export interface AcceptOptions {
  /**
   * Reserve this much of the key's fee budget (the most the submission may cost) with the submission:
   * for a key with a budget. The reservation fails, and nothing is recorded, when the budget
   * cannot hold it (FeeBudgetExceeded).
   */
  readonly reserveStroops?: bigint;
  /**
   * Ties the new submission to the caller's own record in the same database transaction (an MPP
   * close links it to its close row): false rolls the insert back, and `accept` throws
   * `LinkRefused` (another run linked its own submission first).
   */
  readonly link?: (tx: DbTx, submission: Submission) => Promise<boolean>;
}

/** Every /settle inserts its payment: prepared once, for x402 payments, whose terms are all set. */
const insertByIdentity = preparedOnce((db) =>
  db
    .insert(submissions)
    .values({
      network: sql.placeholder("network"),
      kind: sql.placeholder("kind"),
      mode: sql.placeholder("mode"),
      envelopeHash: sql.placeholder("envelopeHash"),
      payer: sql.placeholder("payer"),
      authNonce: sql.placeholder("authNonce"),
      asset: sql.placeholder("asset"),
      payTo: sql.placeholder("payTo"),
      amount: sql.placeholder("amount"),
      clientTransaction: sql.placeholder("clientTransaction"),
      signatureExpirationLedger: sql.placeholder("signatureExpirationLedger"),
      simulatedResources: sql.placeholder("simulatedResources"),
      simulatedAtLedger: sql.placeholder("simulatedAtLedger"),
      apiKeyId: sql.placeholder("apiKeyId"),
      termsHash: sql.placeholder("termsHash"),
    })
    .onConflictDoNothing({ target: [submissions.network, submissions.payer, submissions.authNonce] })
    .returning()
    .prepare("quay_insert_submission"),
);

export type SettleQueue = Queue<JobData<"settle">>;

/** How long recording a submission waits for its job to be queued: past it, the sweep queues it. */
const ENQUEUE_TIMEOUT_MS = 3_000;

function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the queue within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** BullMQ retry policy for settle jobs: RPC outages are waited out, up to about half an hour. */
export const SETTLE_JOB_ATTEMPTS = 60;
export function settleBackoffMs(attemptsMade: number): number {
  return Math.min(1_000 * 2 ** attemptsMade, 30_000);
}

/**
 * The api's side of settlement: record a verified submission once, hand it to the worker, and wait
 * for its outcome. Postgres decides what "once" means (the submission identity's unique index), so
 * any number of concurrent calls through any number of api processes converge on one row and
 * one job.
 */
export const Intake = {
  async find(db: Db, network: string, payer: string, authNonce: string): Promise<Submission | undefined> {
    const [row] = await db
      .select()
      .from(submissions)
      .where(and(eq(submissions.network, network), eq(submissions.payer, payer), eq(submissions.authNonce, authNonce)));
    return row;
  },

  /** The submission of a caller-signed transaction, by its hash. */
  async findEnvelope(db: Db, network: string, envelopeHash: string): Promise<Submission | undefined> {
    const [row] = await db.select().from(submissions).where(and(eq(submissions.network, network), eq(submissions.envelopeHash, envelopeHash)));
    return row;
  },

  /**
   * Records the submission unless its identity is recorded already, then queues its job. The unique
   * identity index decides between concurrent callers; the terms decide whether an existing row is
   * this submission. A queue outage does not undo the record: see `Acceptance`.
   */
  async accept(db: Db, queue: SettleQueue, submission: NewSubmission, options: AcceptOptions = {}): Promise<Acceptance> {
    const values = rowOf(submission);
    const identity = identityOf(values);
    const reserve = options.reserveStroops !== undefined && submission.apiKeyId ? { apiKeyId: submission.apiKeyId, stroops: options.reserveStroops } : undefined;
    const inserted =
      reserve || options.link
        ? await insertInTransaction(db, values, identity, reserve, options.link)
        : identity.kind === "auth" && values.kind === "x402"
          ? (await insertByIdentity(db).execute(values))[0]
          : await insertRow(db, values, identity);
    if (!inserted) {
      const row =
        identity.kind === "auth"
          ? await Intake.find(db, values.network, identity.payer, identity.authNonce)
          : identity.kind === "envelope"
            ? await Intake.findEnvelope(db, values.network, identity.envelopeHash)
            : undefined;
      if (!row) throw new Error("submission vanished between insert and read");
      if (!Intake.sameTerms(row, values)) return { kind: "other_terms", submission: row };
      if (!isFinal(row)) await withinDeadline(Intake.enqueue(queue, row.id), ENQUEUE_TIMEOUT_MS).catch(() => undefined); // else the sweep does
      return { kind: "held", submission: row };
    }
    try {
      // A row just inserted has no job yet (its id is new), so there is none to look up.
      await withinDeadline(Intake.enqueue(queue, inserted.id, { isNew: true }), ENQUEUE_TIMEOUT_MS);
      return { kind: "recorded", submission: inserted };
    } catch (error) {
      return { kind: "recorded", submission: inserted, enqueueError: error };
    }
  },

  /**
   * Whether a recorded submission is the one `terms` describe: the same signed invocation under
   * its identity's nonce, or the same signed transaction. Rows from before terms were recorded
   * compare what they kept of them.
   */
  sameTerms(known: Submission, terms: Pick<NewSubmission, "termsHash" | "envelopeHash" | "asset" | "payTo" | "amount">): boolean {
    if (known.envelopeHash !== null && known.payer === null) return known.envelopeHash === terms.envelopeHash;
    if (known.termsHash !== null) return known.termsHash === terms.termsHash;
    return known.asset === terms.asset && known.payTo === terms.payTo && known.amount === terms.amount;
  },

  /** Idempotent: the job id is the submission id. A job that gave up (retries spent) is revived. */
  async enqueue(queue: SettleQueue, submissionId: string, options: { isNew?: boolean } = {}): Promise<void> {
    const existing = options.isNew ? undefined : await queue.getJob(submissionId);
    if (existing && (await existing.isFailed())) {
      await existing.retry("failed");
      return;
    }
    if (existing) return;
    await queue.add("settle", { submissionId }, {
      jobId: submissionId,
      attempts: SETTLE_JOB_ATTEMPTS,
      backoff: { type: "settle" },
    });
  },

  /**
   * The sweep's step: queues the submission when it has no live job (none at all, or one whose
   * retries ran out). True when it queued or revived one.
   */
  async requeue(queue: SettleQueue, submissionId: string): Promise<boolean> {
    const existing = await queue.getJob(submissionId);
    if (existing && !(await existing.isFailed())) return false;
    await Intake.enqueue(queue, submissionId);
    return true;
  },

  /**
   * After a worker restart: makes sure a job will run the submission now. A job a killed worker was
   * running stays active, its lock held, until BullMQ notices the stall (the lock's 30 s and up to
   * two stall checks later); so such a submission gets a job of its own at once. Two runs of one
   * submission are safe: the engine sends at most one transaction per submission at a time.
   */
  async resume(queue: SettleQueue, submissionId: string): Promise<void> {
    const existing = await queue.getJob(submissionId);
    if (!existing || !(await existing.isActive())) return Intake.enqueue(queue, submissionId);
    await queue.add("settle", { submissionId }, {
      jobId: `${submissionId}-resumed-${Date.now()}`,
      attempts: SETTLE_JOB_ATTEMPTS,
      backoff: { type: "settle" },
    });
  },

  /**
   * Ids of submissions that are not final, for the worker's sweeps: all of them after a restart, or
   * those untouched for `idleSeconds` (a job lost with a dead api or a Redis outage).
   */
  async unfinished(db: Db, options: { idleSeconds?: number } = {}): Promise<string[]> {
    const rows = await db
      .select({ id: submissions.id })
      .from(submissions)
      .where(
        and(
          inArray(submissions.status, ["queued", "submitting"]),
          options.idleSeconds === undefined ? undefined : lt(submissions.updatedAt, sql`now() - make_interval(secs => ${options.idleSeconds})`),
        ),
      );
    return rows.map((r) => r.id);
  },
};

type SubmissionRow = typeof submissions.$inferInsert & { readonly network: string };

/** Which unique key makes a submission's insert idempotent. */
type Identity =
  | { readonly kind: "auth"; readonly payer: string; readonly authNonce: string }
  | { readonly kind: "envelope"; readonly envelopeHash: string }
  | { readonly kind: "none" };

function rowOf(submission: NewSubmission) {
  return {
    network: submission.network,
    kind: submission.kind,
    mode: submission.mode ?? "rebuild",
    payer: submission.payer ?? null,
    authNonce: submission.authNonce ?? null,
    termsHash: submission.termsHash ?? null,
    envelopeHash: submission.envelopeHash ?? null,
    asset: submission.asset ?? null,
    payTo: submission.payTo ?? null,
    amount: submission.amount ?? null,
    contract: submission.contract ?? null,
    clientTransaction: submission.clientTransaction,
    signatureExpirationLedger: submission.signatureExpirationLedger ?? null,
    simulatedResources: submission.simulatedResources ?? null,
    simulatedAtLedger: submission.simulatedAtLedger ?? null,
    apiKeyId: submission.apiKeyId ?? null,
  } satisfies SubmissionRow;
}

function identityOf(row: ReturnType<typeof rowOf>): Identity {
  if (row.payer !== null && row.authNonce !== null) return { kind: "auth", payer: row.payer, authNonce: row.authNonce };
  if (row.envelopeHash !== null) return { kind: "envelope", envelopeHash: row.envelopeHash };
  return { kind: "none" };
}

/** The insert, a no-op (undefined) when the identity's unique key holds another row already. */
async function insertRow(db: DbLike, values: SubmissionRow, identity: Identity): Promise<Submission | undefined> {
  const insert = db.insert(submissions).values(values);
  const [row] = await (identity.kind === "auth"
    ? insert.onConflictDoNothing({ target: [submissions.network, submissions.payer, submissions.authNonce] })
    : identity.kind === "envelope"
      ? insert.onConflictDoNothing({ target: [submissions.network, submissions.envelopeHash] })
      : insert
  ).returning();
  return row;
}

/**
 * The submission, its fee reservation and its link to the caller's record in one transaction. The
 * key's row is updated only while the reservation fits its budget (a key without a budget always
 * fits), so concurrent submissions can never reserve past it. Undefined when the submission
 * exists already (nothing reserved or linked then).
 */
async function insertInTransaction(
  db: Db,
  values: SubmissionRow,
  identity: Identity,
  reserve: { readonly apiKeyId: string; readonly stroops: bigint } | undefined,
  link: AcceptOptions["link"],
): Promise<Submission | undefined> {
  const outcome = await db.transaction(async (tx) => {
    const inserted = await insertRow(tx, reserve ? { ...values, feeReservedStroops: reserve.stroops } : values, identity);
    if (!inserted) return { inserted };
    if (link && !(await link(tx, inserted))) throw new LinkRefused();
    if (!reserve) return { inserted };
    const { apiKeyId, stroops } = reserve;
    await ApiKeys.startFeePeriod(tx, apiKeyId);
    const [fits] = await tx
      .update(apiKeys)
      .set({ feeReservedStroops: sql`${apiKeys.feeReservedStroops} + ${stroops}` })
      .where(
        and(
          eq(apiKeys.id, apiKeyId),
          or(isNull(apiKeys.feeBudgetStroops), sql`${apiKeys.feeSpentStroops} + ${apiKeys.feeReservedStroops} + ${stroops} <= ${apiKeys.feeBudgetStroops}`),
        ),
      )
      .returning({ id: apiKeys.id });
    if (!fits) {
      tx.rollback();
    }
    return { inserted };
  }).catch(async (error: unknown) => {
    if (!(error instanceof TransactionRollbackError) || !reserve) throw error;
    const [key] = await db.select().from(apiKeys).where(eq(apiKeys.id, reserve.apiKeyId));
    const left = key?.feeBudgetStroops == null ? 0n : key.feeBudgetStroops - key.feeSpentStroops - key.feeReservedStroops;
    throw new FeeBudgetExceeded(reserve.stroops, left > 0n ? left : 0n);
  });
  return outcome.inserted;
}

/**
 * Waits for submissions to become final. One LISTEN connection per process serves every waiter; a
 * poll backs it up, so a dropped notification only delays an answer, never loses it. While the
 * connection is up the poll is slow (every waiting /settle would otherwise read its row every
 * couple of seconds); when it drops, every waiter is woken to read its row and polls fast until
 * it is back.
 */
export class OutcomeWaiter {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly databaseUrl: string,
    private readonly db: Db,
    private readonly pollMs = 2_000,
    private readonly listeningPollMs = 15_000,
  ) {}

  /**
   * The submission once final, or as it stands when `timeoutMs` runs out. `known` is the row as the
   * caller just read it, which saves reading it again; a notification sent before this call
   * listens is then only caught by the poll, so pass it only for a submission whose job cannot have
   * finished yet (one just queued).
   */
  async wait(submissionId: string, timeoutMs: number, known?: Submission): Promise<Submission> {
    const deadline = Date.now() + timeoutMs;
    const notifications = this.subscribe(submissionId);
    try {
      let submission = known;
      for (;;) {
        // Listening before reading: a submission made final after the read is then announced to us.
        await this.listen().catch(() => undefined); // without LISTEN, the poll still answers
        submission ??= await Records.submission(this.db, submissionId);
        if (!submission) throw new Error(`submission ${submissionId} does not exist`);
        const left = deadline - Date.now();
        if (isFinal(submission) || left <= 0) return submission;
        await notifications.next(Math.min(left, this.client ? this.listeningPollMs : this.pollMs));
        submission = undefined;
      }
    } finally {
      notifications.close();
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /**
   * Notifications for one submission from now on. One that arrives while the waiter is reading the
   * row is kept, so the next `next()` returns at once instead of missing it.
   */
  private subscribe(submissionId: string): { next(ms: number): Promise<void>; close(): void } {
    let heard = false;
    let wake: (() => void) | undefined;
    const onNotify = () => {
      heard = true;
      wake?.();
    };
    const set = this.waiters.get(submissionId) ?? new Set();
    this.waiters.set(submissionId, set);
    set.add(onNotify);
    return {
      next: (ms) =>
        new Promise<void>((resolve) => {
          if (heard) {
            heard = false;
            return resolve();
          }
          const timer = setTimeout(() => {
            wake = undefined;
            resolve();
          }, ms);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            heard = false;
            resolve();
          };
        }),
      close: () => {
        set.delete(onNotify);
        if (set.size === 0) this.waiters.delete(submissionId);
      },
    };
  }

  private listen(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "quay-outcomes" });
      client.on("notification", (msg) => {
        if (msg.payload) for (const wake of [...(this.waiters.get(msg.payload) ?? [])]) wake();
      });
      const lost = () => {
        if (this.client !== client) return;
        this.client = undefined;
        // Notifications may have been missed: every waiter reads its row again, and reconnects.
        for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
      };
      client.on("error", lost);
      client.on("end", lost);
      await client.connect();
      await client.query(`listen ${SUBMISSION_FINAL_CHANNEL}`);
      this.client = client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }
}
