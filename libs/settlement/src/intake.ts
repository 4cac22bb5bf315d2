import type { Queue } from "bullmq";
import { and, eq, inArray, sql } from "drizzle-orm";
import pg from "pg";
import { preparedOnce, schema, type Db } from "@quay/db";
import type { JobData } from "@quay/queue";
import { isFinal, PAYMENT_FINAL_CHANNEL, Records, type Payment } from "./records";

const { payments } = schema;

/** What the api knows of a payment when it accepts it. */
export interface NewPayment {
  readonly network: string;
  readonly payer: string;
  readonly authNonce: string;
  readonly asset: string;
  readonly payTo: string;
  readonly amount: bigint;
  readonly clientTransaction: string;
  readonly signatureExpirationLedger: number;
  readonly simulatedResources?: string | null;
  readonly simulatedAtLedger?: number | null;
  readonly apiKeyId?: string | null;
}

/** Every /settle inserts its payment: prepared once. */
const insertPayment = preparedOnce((db) =>
  db
    .insert(payments)
    .values({
      network: sql.placeholder("network"),
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
    })
    .onConflictDoNothing()
    .returning()
    .prepare("quay_insert_payment"),
);

export type SettleQueue = Queue<JobData<"settle">>;

/** BullMQ retry policy for settle jobs: RPC outages are waited out, up to about half an hour. */
export const SETTLE_JOB_ATTEMPTS = 60;
export function settleBackoffMs(attemptsMade: number): number {
  return Math.min(1_000 * 2 ** attemptsMade, 30_000);
}

/**
 * The api's side of settlement: record a verified payment once, hand it to the worker, and wait
 * for its outcome. Postgres decides what "once" means (the payment identity's unique index), so
 * any number of concurrent calls through any number of api processes converge on one row and
 * one job.
 */
export const Intake = {
  async find(db: Db, network: string, payer: string, authNonce: string): Promise<Payment | undefined> {
    const [row] = await db
      .select()
      .from(payments)
      .where(and(eq(payments.network, network), eq(payments.payer, payer), eq(payments.authNonce, authNonce)));
    return row;
  },

  /** Inserts the payment unless it exists, then makes sure a job is queued for it while it is not final. */
  async accept(db: Db, queue: SettleQueue, payment: NewPayment): Promise<{ payment: Payment; created: boolean }> {
    const [inserted] = await insertPayment(db).execute({
      ...payment,
      simulatedResources: payment.simulatedResources ?? null,
      simulatedAtLedger: payment.simulatedAtLedger ?? null,
      apiKeyId: payment.apiKeyId ?? null,
    });
    const row = inserted ?? (await Intake.find(db, payment.network, payment.payer, payment.authNonce));
    if (!row) throw new Error("payment vanished between insert and read");
    // A row just inserted has no job yet (its id is new), so there is none to look up.
    if (!isFinal(row)) await Intake.enqueue(queue, row.id, { isNew: inserted !== undefined });
    return { payment: row, created: inserted !== undefined };
  },

  /** Idempotent: the job id is the payment id. A job that gave up (retries spent) is revived. */
  async enqueue(queue: SettleQueue, paymentId: string, options: { isNew?: boolean } = {}): Promise<void> {
    const existing = options.isNew ? undefined : await queue.getJob(paymentId);
    if (existing && (await existing.isFailed())) {
      await existing.retry("failed");
      return;
    }
    if (existing) return;
    await queue.add("settle", { paymentId }, {
      jobId: paymentId,
      attempts: SETTLE_JOB_ATTEMPTS,
      backoff: { type: "settle" },
    });
  },

  /**
   * After a worker restart: makes sure a job will run the payment now. A job a killed worker was
   * running stays active, its lock held, until BullMQ notices the stall (the lock's 30 s and up to
   * two stall checks later); so such a payment gets a job of its own at once. Two runs of one
   * payment are safe: the engine sends at most one transaction per payment at a time.
   */
  async resume(queue: SettleQueue, paymentId: string): Promise<void> {
    const existing = await queue.getJob(paymentId);
    if (!existing || !(await existing.isActive())) return Intake.enqueue(queue, paymentId);
    await queue.add("settle", { paymentId }, {
      jobId: `${paymentId}-resumed-${Date.now()}`,
      attempts: SETTLE_JOB_ATTEMPTS,
      backoff: { type: "settle" },
    });
  },

  /** Ids of payments that are not final, for the worker's sweep after a restart. */
  async unfinished(db: Db): Promise<string[]> {
    const rows = await db.select({ id: payments.id }).from(payments).where(inArray(payments.status, ["queued", "submitting"]));
    return rows.map((r) => r.id);
  },
};

/**
 * Waits for payments to become final. One LISTEN connection per process serves every waiter; a
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
   * The payment once final, or as it stands when `timeoutMs` runs out. `known` is the row as the
   * caller just read it, which saves reading it again; a notification sent before this call
   * listens is then only caught by the poll, so pass it only for a payment whose job cannot have
   * finished yet (one just queued).
   */
  async wait(paymentId: string, timeoutMs: number, known?: Payment): Promise<Payment> {
    const deadline = Date.now() + timeoutMs;
    const notifications = this.subscribe(paymentId);
    try {
      let payment = known;
      for (;;) {
        // Listening before reading: a payment made final after the read is then announced to us.
        await this.listen().catch(() => undefined); // without LISTEN, the poll still answers
        payment ??= await Records.payment(this.db, paymentId);
        if (!payment) throw new Error(`payment ${paymentId} does not exist`);
        const left = deadline - Date.now();
        if (isFinal(payment) || left <= 0) return payment;
        await notifications.next(Math.min(left, this.client ? this.listeningPollMs : this.pollMs));
        payment = undefined;
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
   * Notifications for one payment from now on. One that arrives while the waiter is reading the
   * row is kept, so the next `next()` returns at once instead of missing it.
   */
  private subscribe(paymentId: string): { next(ms: number): Promise<void>; close(): void } {
    let heard = false;
    let wake: (() => void) | undefined;
    const onNotify = () => {
      heard = true;
      wake?.();
    };
    const set = this.waiters.get(paymentId) ?? new Set();
    this.waiters.set(paymentId, set);
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
        if (set.size === 0) this.waiters.delete(paymentId);
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
      await client.query(`listen ${PAYMENT_FINAL_CHANNEL}`);
      this.client = client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }
}
