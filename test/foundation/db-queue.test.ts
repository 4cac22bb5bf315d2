import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Worker } from "bullmq";
import { createPool, migrate, type DbPool } from "@quay/db";
import { createRedis, openQueue, QueueNames, JobSchemas } from "@quay/queue";
import { freshDatabaseUrl, redisPrefix, redisUrl } from "../helpers/services";

describe("migrations on a real Postgres", () => {
  let pool: DbPool;
  beforeAll(async () => {
    pool = createPool({ url: await freshDatabaseUrl() });
  });
  afterAll(async () => {
    await pool.end();
  });

  it("apply every migration, and applying again is a no-op", async () => {
    await migrate(pool);
    await migrate(pool);
    const { rows } = await pool.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(["api_keys", "channel_accounts", "payment_attempts", "payments", "tenants"]),
    );
  });

  it("make a payment's (network, payer, nonce) unique, so it can be recorded only once", async () => {
    const insert = () =>
      pool.query(
        `insert into payments (network, payer, auth_nonce, asset, pay_to, amount, client_transaction, signature_expiration_ledger)
         values ('stellar:testnet', 'GPAYER', '42', 'CASSET', 'GPAYTO', 12345678901234567890123, 'AAAA', 100)`,
      );
    await insert();
    await expect(insert()).rejects.toMatchObject({ code: "23505" });
    const { rows } = await pool.query<{ amount: string }>("select amount::text from payments");
    expect(rows).toEqual([{ amount: "12345678901234567890123" }]);
  });
});

describe("payment attempts", () => {
  it("allow only one attempt of a payment that could still land", async () => {
    const pool = createPool({ url: await freshDatabaseUrl() });
    await migrate(pool);
    const { rows } = await pool.query<{ id: string }>(
      `insert into payments (network, payer, auth_nonce, asset, pay_to, amount, client_transaction, signature_expiration_ledger)
       values ('stellar:testnet', 'GPAYER', '7', 'CASSET', 'GPAYTO', 100, 'AAAA', 100) returning id`,
    );
    const attempt = (hash: string, status: string) =>
      pool.query(
        `insert into payment_attempts (payment_id, channel_account, sequence, tx_hash, inner_tx_hash, fee_bid_stroops, max_time, envelope, status)
         values ($1, 'GCHAN', '1', $2, $2, 100, 0, 'AAAA', $3)`,
        [rows[0]!.id, hash, status],
      );
    await attempt("a1", "built");
    await expect(attempt("a2", "sent")).rejects.toMatchObject({ code: "23505" });
    await attempt("a3", "rejected"); // finished ones don't count
    await pool.query("update payment_attempts set status = 'failed' where tx_hash = 'a1'");
    await attempt("a4", "built");
    await pool.end();
  });
});

describe("BullMQ on a real Redis", () => {
  it("round-trips a settle job from a queue to a worker", async () => {
    const prefix = redisPrefix();
    const connection = createRedis({ url: redisUrl(), forBullWorker: true });
    const queue = openQueue(QueueNames.settle, { connection, prefix });
    const paymentId = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const received = new Promise<unknown>((resolve) => {
      const worker = new Worker(
        QueueNames.settle,
        async (job) => {
          resolve(JobSchemas.settle.parse(job.data));
          return { done: true };
        },
        { connection, prefix },
      );
      worker.on("completed", () => void worker.close());
    });
    const job = await queue.add("settle", { paymentId }, { jobId: paymentId });
    expect(await received).toEqual({ paymentId });
    await expect.poll(async () => (await queue.getJob(job.id!))?.returnvalue, { timeout: 10_000 }).toEqual({ done: true });
    // The job id is the payment id: adding the same payment again is not a second job.
    await queue.add("settle", { paymentId }, { jobId: paymentId });
    expect(await queue.getJobCounts("completed", "waiting", "active")).toEqual({ completed: 1, waiting: 0, active: 0 });
    await queue.close();
    connection.disconnect();
  });
});
