import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Worker } from "bullmq";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate as runMigrations } from "drizzle-orm/node-postgres/migrator";
import { createDb, createPool, migrate, MIGRATIONS_FOLDER, type DbPool } from "@quay/db";
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
      expect.arrayContaining(["api_keys", "channel_accounts", "submission_attempts", "submissions", "tenants"]),
    );
  });

  it("make a payment's (network, payer, nonce) unique, so it can be recorded only once", async () => {
    const insert = () =>
      pool.query(
        `insert into submissions (network, kind, payer, auth_nonce, asset, pay_to, amount, client_transaction, signature_expiration_ledger)
         values ('stellar:testnet', 'x402', 'GPAYER', '42', 'CASSET', 'GPAYTO', 12345678901234567890123, 'AAAA', 100)`,
      );
    await insert();
    await expect(insert()).rejects.toMatchObject({ code: "23505" });
    const { rows } = await pool.query<{ amount: string }>("select amount::text from submissions");
    expect(rows).toEqual([{ amount: "12345678901234567890123" }]);
  });
});

describe("the upgrade from payments to submissions (migration 0006)", () => {
  it("keeps every payment, attempt and link, and names each row's kind from what it was", async () => {
    const pool = createPool({ url: await freshDatabaseUrl() });
    // The database as the last Quay with a payments table left it.
    const before = await mkdtemp(join(tmpdir(), "quay-migrations-"));
    await cp(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalPath = join(before, "meta", "_journal.json");
    const journal = JSON.parse(await readFile(journalPath, "utf8")) as { entries: { tag: string }[] };
    journal.entries = journal.entries.slice(0, journal.entries.findIndex((e) => e.tag === "0006_submissions"));
    await writeFile(journalPath, JSON.stringify(journal));
    await runMigrations(createDb(pool), { migrationsFolder: before });

    const payment = async (nonce: string) =>
      (
        await pool.query<{ id: string }>(
          `insert into payments (network, payer, auth_nonce, asset, pay_to, amount, client_transaction, signature_expiration_ledger)
           values ('stellar:testnet', 'GPAYER', $1, 'CASSET', 'GPAYTO', 100, 'AAAA', 100) returning id`,
          [nonce],
        )
      ).rows[0]!.id;
    const [x402, charge, close] = [await payment("1"), await payment("2"), await payment("3")];
    await pool.query(
      `insert into payment_attempts (payment_id, channel_account, sequence, tx_hash, inner_tx_hash, fee_bid_stroops, max_time, envelope, status)
       values ($1, 'GCHAN', '1', 'h1', 'i1', 100, 0, 'AAAA', 'sent')`,
      [x402],
    );
    const tenant = (await pool.query<{ id: string }>("insert into tenants (name) values ('t') returning id")).rows[0]!.id;
    await pool.query(`insert into mpp_charges (tenant_id, network, challenge_id, inner_tx_hash, payment_id) values ($1, 'stellar:testnet', 'c', 'x', $2)`, [tenant, charge]);
    const channel = (
      await pool.query<{ id: string }>(
        `insert into mpp_channels (tenant_id, network, address, funder, recipient, token, commitment_key, wasm_hash, refund_waiting_period, capacity)
         values ($1, 'stellar:testnet', 'CCHAN', 'GF', 'GR', 'CT', 'aa', 'ww', 10, 5) returning id`,
        [tenant],
      )
    ).rows[0]!.id;
    await pool.query(`insert into mpp_closes (channel_id, trigger, status, payment_id) values ($1, 'request', 'submitting', $2)`, [channel, close]);

    await migrate(pool);
    const kinds = await pool.query<{ id: string; kind: string; mode: string }>("select id, kind::text, mode::text from submissions order by auth_nonce");
    expect(kinds.rows).toEqual([
      { id: x402, kind: "x402", mode: "rebuild" },
      { id: charge, kind: "mpp_charge", mode: "rebuild" },
      { id: close, kind: "mpp_close", mode: "rebuild" },
    ]);
    expect((await pool.query("select submission_id, status::text from submission_attempts")).rows).toEqual([{ submission_id: x402, status: "sent" }]);
    expect((await pool.query("select submission_id from mpp_charges")).rows).toEqual([{ submission_id: charge }]);
    expect((await pool.query("select submission_id from mpp_closes")).rows).toEqual([{ submission_id: close }]);
    // The one-live-attempt rule survived the rename.
    await expect(
      pool.query(
        `insert into submission_attempts (submission_id, channel_account, sequence, tx_hash, inner_tx_hash, fee_bid_stroops, max_time, envelope)
         values ($1, 'GCHAN', '2', 'h2', 'i2', 100, 0, 'AAAA')`,
        [x402],
      ),
    ).rejects.toMatchObject({ code: "23505" });
    await pool.end();
  });
});

describe("payment attempts", () => {
  it("allow only one attempt of a payment that could still land", async () => {
    const pool = createPool({ url: await freshDatabaseUrl() });
    await migrate(pool);
    const { rows } = await pool.query<{ id: string }>(
      `insert into submissions (network, kind, payer, auth_nonce, asset, pay_to, amount, client_transaction, signature_expiration_ledger)
       values ('stellar:testnet', 'x402', 'GPAYER', '7', 'CASSET', 'GPAYTO', 100, 'AAAA', 100) returning id`,
    );
    const attempt = (hash: string, status: string) =>
      pool.query(
        `insert into submission_attempts (submission_id, channel_account, sequence, tx_hash, inner_tx_hash, fee_bid_stroops, max_time, envelope, status)
         values ($1, 'GCHAN', '1', $2, $2, 100, 0, 'AAAA', $3)`,
        [rows[0]!.id, hash, status],
      );
    await attempt("a1", "built");
    await expect(attempt("a2", "sent")).rejects.toMatchObject({ code: "23505" });
    await attempt("a3", "rejected"); // finished ones don't count
    await pool.query("update submission_attempts set status = 'failed' where tx_hash = 'a1'");
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
    const job = await queue.add("settle", { submissionId: paymentId }, { jobId: paymentId });
    expect(await received).toEqual({ submissionId: paymentId });
    // A job queued by a Quay from before submissions (its data named the payment) still runs.
    expect(JobSchemas.settle.parse({ paymentId })).toEqual({ submissionId: paymentId });
    await expect.poll(async () => (await queue.getJob(job.id!))?.returnvalue, { timeout: 10_000 }).toEqual({ done: true });
    // The job id is the payment id: adding the same payment again is not a second job.
    await queue.add("settle", { submissionId: paymentId }, { jobId: paymentId });
    expect(await queue.getJobCounts("completed", "waiting", "active")).toEqual({ completed: 1, waiting: 0, active: 0 });
    await queue.close();
    connection.disconnect();
  });
});
