import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createPool, migrate, schema, type Db, type DbPool } from "@quay/db";
import { OutcomeWaiter, Records } from "@quay/settlement";
import { eq } from "drizzle-orm";
import { freshDatabaseUrl } from "../helpers/services";
import { insertQueuedPayment } from "./rows";

// Both polls are a minute long, so well before a wait of 20 s runs out (when the waiter reads the
// row anyway) only a notification, or the waiter's reaction to losing its LISTEN connection, can
// bring the final payment.
const NEVER_POLL_MS = 60_000;
const WAIT_MS = 20_000;
const WELL_BEFORE_DEADLINE_MS = WAIT_MS / 2;

async function timed<T>(run: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run;
  return { value, ms: Date.now() - started };
}

let url: string;
let pool: DbPool;
let db: Db;
let waiter: OutcomeWaiter;

beforeAll(async () => {
  url = await freshDatabaseUrl();
  pool = createPool({ url });
  await migrate(pool);
  db = createDb(pool);
  waiter = new OutcomeWaiter(url, db, NEVER_POLL_MS, NEVER_POLL_MS);
});

afterAll(async () => {
  await waiter.close();
  await pool.end();
});


describe("OutcomeWaiter", () => {
  it("answers as soon as the payment is announced final", async () => {
    const payment = await insertQueuedPayment(db);
    const waiting = timed(waiter.wait(payment.id, WAIT_MS, payment));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Records.finalize(db, payment, { status: "succeeded", txHash: "h", ledger: 9 });
    const answer = await waiting;
    expect(answer.value).toMatchObject({ status: "succeeded", txHash: "h" });
    expect(answer.ms).toBeLessThan(WELL_BEFORE_DEADLINE_MS);
  });

  it("reads the row again when its LISTEN connection drops, so an announcement lost with it delays nothing", async () => {
    const payment = await insertQueuedPayment(db);
    const waiting = timed(waiter.wait(payment.id, WAIT_MS));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Made final without an announcement (as if it were lost), then the connection goes.
    await db.update(schema.submissions).set({ status: "succeeded", txHash: "silent" }).where(eq(schema.submissions.id, payment.id));
    const { rows } = await pool.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'quay-outcomes'");
    expect(rows).toHaveLength(1);
    const answer = await waiting;
    expect(answer.value).toMatchObject({ status: "succeeded", txHash: "silent" });
    expect(answer.ms).toBeLessThan(WELL_BEFORE_DEADLINE_MS);

    // And it listens again: the next payment's announcement reaches it.
    const next = await insertQueuedPayment(db);
    const again = timed(waiter.wait(next.id, WAIT_MS));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Records.finalize(db, next, { status: "failed", reason: "x" });
    const second = await again;
    expect(second.value).toMatchObject({ status: "failed" });
    expect(second.ms).toBeLessThan(WELL_BEFORE_DEADLINE_MS);
  });
});
