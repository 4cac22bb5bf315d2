import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createDb, createPool, migrate, schema, type Db, type DbPool } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { SUBMISSION_FINAL_CHANNEL, Records, type NewAttempt, type Submission } from "@quay/settlement";
import { eq } from "drizzle-orm";
import { freshDatabaseUrl } from "../helpers/services";
import { insertQueuedPayment } from "./rows";

// The statements every payment goes through, against a real Postgres: what they refuse is what
// keeps a payment to one transaction in flight and one final outcome.

let url: string;
let pool: DbPool;
let db: Db;

beforeAll(async () => {
  url = await freshDatabaseUrl();
  pool = createPool({ url, max: 12 });
  await migrate(pool);
  db = createDb(pool);
});

afterAll(async () => {
  await pool.end();
});


function attemptOf(payment: Submission, hash: string): NewAttempt {
  return {
    submissionId: payment.id,
    channelAccount: "GCHAN",
    sequence: "7",
    txHash: hash,
    innerTxHash: `inner-${hash}`,
    feeBidStroops: 12_345n,
    maxTime: 1_700_000_000,
    envelope: "AAAA",
  };
}

async function statusOf(paymentId: string): Promise<string> {
  const [row] = await db.select({ status: schema.submissions.status }).from(schema.submissions).where(eq(schema.submissions.id, paymentId));
  return row!.status;
}

describe("Records.recordBuilt", () => {
  it("records the attempt and makes the payment submitting; refuses a second while the first may land", async () => {
    const payment = await insertQueuedPayment(db);
    const first = await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-1`));
    expect(first).toMatchObject({ submissionId: payment.id, status: "built", feeBidStroops: 12_345n, txHash: `${payment.id}-1` });
    expect(await statusOf(payment.id)).toBe("submitting");
    const [stored] = await db.select().from(schema.submissionAttempts).where(eq(schema.submissionAttempts.id, first!.id));
    expect(stored).toEqual(first);

    expect(await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-2`))).toBeUndefined();
    await Records.markAttempt(db, first!.id, "sent");
    expect(await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-3`))).toBeUndefined();

    // Refused by the RPC: it can never land, so the next one may be recorded.
    await Records.markAttempt(db, first!.id, "rejected", "TRY_AGAIN_LATER");
    expect(await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-4`))).toMatchObject({ status: "built" });
  });

  it("refuses an attempt of a final payment, and of one whose attempt landed", async () => {
    const done = await insertQueuedPayment(db);
    await Records.finalize(db, done, { status: "failed", reason: "x" });
    expect(await Records.recordBuilt(db, attemptOf(done, `${done.id}-1`))).toBeUndefined();
    expect(await statusOf(done.id)).toBe("failed");

    const landed = await insertQueuedPayment(db);
    const attempt = await Records.recordBuilt(db, attemptOf(landed, `${landed.id}-1`));
    await pool.query("update submission_attempts set status = 'succeeded' where id = $1", [attempt!.id]);
    expect(await Records.recordBuilt(db, attemptOf(landed, `${landed.id}-2`))).toBeUndefined();
  });

  it("lets exactly one of ten concurrent writers record an attempt", async () => {
    const payment = await insertQueuedPayment(db);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => Records.recordBuilt(db, attemptOf(payment, `${payment.id}-c${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await db.select().from(schema.submissionAttempts).where(eq(schema.submissionAttempts.submissionId, payment.id));
    expect(rows).toHaveLength(1);
  });
});

describe("Records.markSent", () => {
  it("marks a built attempt sent, and never reopens one that ended", async () => {
    const payment = await insertQueuedPayment(db);
    const attempt = (await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-1`)))!;
    await Records.markSent(db, attempt.id);
    expect(await attemptStatusOf(attempt.id)).toBe("sent");
    await Records.finalize(db, payment, { status: "succeeded", txHash: attempt.txHash, ledger: 5 }, { id: attempt.id, status: "succeeded" });
    await Records.markSent(db, attempt.id);
    expect(await attemptStatusOf(attempt.id)).toBe("succeeded");
  });
});

describe("Records.finalize", () => {
  it("makes a payment succeeded once, ends its attempt in the same statement, and announces it", async () => {
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    const heard: string[] = [];
    listener.on("notification", (msg) => heard.push(msg.payload ?? ""));
    await listener.query(`listen ${SUBMISSION_FINAL_CHANNEL}`);
    try {
      const payment = await insertQueuedPayment(db);
      const attempt = await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-1`));
      const outcome = { status: "succeeded", txHash: attempt!.txHash, ledger: 42, feeChargedStroops: 100n, channelAccount: "GCHAN" } as const;
      const final = await Records.finalize(db, payment, outcome, { id: attempt!.id, status: "succeeded" });
      expect(final).toMatchObject({ id: payment.id, status: "succeeded", txHash: attempt!.txHash, ledger: 42, feeChargedStroops: 100n });
      expect(final!.settledAt).toBeInstanceOf(Date);
      const [ended] = await db.select().from(schema.submissionAttempts).where(eq(schema.submissionAttempts.id, attempt!.id));
      expect(ended).toMatchObject({ status: "succeeded", finishedAt: expect.any(Date) });

      expect(await Records.finalize(db, payment, { ...outcome, ledger: 43 })).toBeUndefined();
      expect(await Records.finalize(db, payment, { status: "failed", reason: "late" })).toBeUndefined();
      const [row] = await db.select().from(schema.submissions).where(eq(schema.submissions.id, payment.id));
      expect(row).toMatchObject({ status: "succeeded", ledger: 42 });

      await expect.poll(() => heard).toEqual([payment.id]);
    } finally {
      await listener.end();
    }
  });

  it("charges the fee to the payment's key once, however often and however concurrently the success is written", async () => {
    const key = await ApiKeys.create(db, { tenant: "records-test", networks: ["stellar:testnet"] });
    const payment = await insertQueuedPayment(db, key.id);
    const outcome = { status: "succeeded", txHash: "h", ledger: 7, feeChargedStroops: 250n } as const;
    const written = await Promise.all(Array.from({ length: 8 }, () => Records.finalize(db, payment, outcome)));
    expect(written.filter((final) => final !== undefined)).toHaveLength(1);
    expect(await Records.finalize(db, payment, outcome)).toBeUndefined();
    expect(await feeSpent(key.id)).toBe(250n);
  });

  it("adds up the fees of concurrent payments on one key exactly, failures' fees included", async () => {
    const key = await ApiKeys.create(db, { tenant: "records-test", networks: ["stellar:testnet"] });
    const fees = Array.from({ length: 20 }, (_, i) => 1_000_003n + BigInt(i));
    const paid = await Promise.all(fees.map(async (fee, i) => {
      const payment = await insertQueuedPayment(db, key.id);
      const outcome = i % 4 === 0
        ? ({ status: "failed", reason: "settle_exact_stellar_transaction_failed", ledger: 7, feeChargedStroops: fee } as const)
        : ({ status: "succeeded", txHash: `h-${payment.id}`, ledger: 7, feeChargedStroops: fee } as const);
      return Records.finalize(db, payment, outcome);
    }));
    expect(paid.every((final) => final !== undefined)).toBe(true);
    expect(await feeSpent(key.id)).toBe(fees.reduce((a, b) => a + b, 0n));
    // A payment without a key, or without a fee, charges no key.
    await Records.finalize(db, await insertQueuedPayment(db), { status: "succeeded", txHash: "anonymous", ledger: 7, feeChargedStroops: 99n });
    await Records.finalize(db, await insertQueuedPayment(db, key.id), { status: "failed", reason: "x" });
    expect(await feeSpent(key.id)).toBe(fees.reduce((a, b) => a + b, 0n));
  });

  it("refuses to fail a payment while one of its attempts may still land", async () => {
    const payment = await insertQueuedPayment(db);
    const attempt = await Records.recordBuilt(db, attemptOf(payment, `${payment.id}-1`));
    expect(await Records.finalize(db, payment, { status: "failed", reason: "x" })).toBeUndefined();
    expect(await statusOf(payment.id)).toBe("submitting");
    // Its own attempt's end, concluded in the same transaction, lets it fail.
    const final = await Records.finalize(db, payment, { status: "failed", reason: "x" }, { id: attempt!.id, status: "failed", reason: "txFAILED" });
    expect(final).toMatchObject({ status: "failed", reason: "x" });
  });
});

async function feeSpent(keyId: string): Promise<bigint> {
  const [row] = await db.select({ fee: schema.apiKeys.feeSpentStroops }).from(schema.apiKeys).where(eq(schema.apiKeys.id, keyId));
  return row!.fee;
}

async function attemptStatusOf(attemptId: string): Promise<string> {
  const [row] = await db.select({ status: schema.submissionAttempts.status }).from(schema.submissionAttempts).where(eq(schema.submissionAttempts.id, attemptId));
  return row!.status;
}
