import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowClientHttpRpc } from "@quay/demo";
import { clearFaults, setFaults } from "../devnet/helpers";
import { startQuay, transfers, type QuayHarness, type WorkerProcess } from "./harness";
import { attempts, eventually, newPayee, newPayment, payments, PRICE, settle, type AttemptRow, type HttpAnswer, type SettleAnswer, type SettleBody } from "./payments";

/**
 * The worker is a real process here, SIGKILLed mid-settlement at the worst moments: after it
 * recorded a transaction but before the network saw it, after the network accepted it, and after
 * the network accepted it and then dropped it. A new worker process must finish each payment with
 * exactly one transfer, never sending a second transaction while the first could still land.
 */
/** One Quay with its worker as a child process, and the steps the scenarios below share. */
function crashableQuay(options: { txTimeoutSeconds: number }) {
  const undo: Array<() => void> = [];
  const ctx = {} as { quay: QuayHarness; payTo: string; worker: WorkerProcess };

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    // Half-second ledgers: the client's auth then lasts ~60 s of real time (see requirementsFor).
    ctx.quay = await startQuay({ withWorker: false, poolSize: 1, ledgerCloseMs: 500, txTimeoutSeconds: options.txTimeoutSeconds });
    ctx.payTo = await newPayee(ctx.quay);
    ctx.worker = await ctx.quay.spawnWorker();
  });
  afterAll(async () => {
    await ctx.quay?.stop();
    undo.forEach((u) => u());
  });

  return {
    ctx,
    /** Starts settling `body` (its answer comes once the worker that replaces the dying one settles it) and returns its payment id. */
    async startSettling(body: SettleBody, payer: string): Promise<{ paymentId: string; answer: Promise<HttpAnswer<SettleAnswer>> }> {
      const answer = settle(ctx.quay, body);
      answer.catch(() => undefined);
      const row = await eventually(async () => (await payments(ctx.quay)).find((r) => r.payer === payer), 30_000, "the payment row");
      return { paymentId: row.id, answer };
    },
    attemptIn(paymentId: string, status: string): Promise<AttemptRow> {
      return eventually(async () => (await attempts(ctx.quay, paymentId)).find((a) => a.status === status), 30_000, `an attempt '${status}'`);
    },
    async killAndReplace(): Promise<void> {
      await ctx.worker.kill("SIGKILL");
      ctx.worker = await ctx.quay.spawnWorker();
    },
    async settledOnce(
      { paymentId, answer }: { paymentId: string; answer: Promise<HttpAnswer<SettleAnswer>> },
      payer: string,
      body: SettleBody,
      timeoutMs = 30_000,
    ): Promise<string> {
      const { quay } = ctx;
      const done = await eventually(async () => {
        const row = (await payments(quay)).find((p) => p.id === paymentId);
        return row && (row.status === "succeeded" || row.status === "failed") && row;
      }, timeoutMs, `payment ${paymentId} to be final\n${ctx.worker.output()}`);
      expect(done, JSON.stringify(await attempts(quay, paymentId))).toMatchObject({ status: "succeeded" });
      const moved = (await transfers(quay.t)).filter((t) => t.from === payer);
      expect(moved).toEqual([{ from: payer, to: ctx.payTo, amount: PRICE, txHash: done.tx_hash }]);
      // The first caller, or the identical body asked again if the first wait ran out, gets the one
      // delivery; the other is told it was delivered, with the same transaction.
      const first = await answer;
      const again = await settle(quay, body);
      const delivered = [first, again].filter((a) => a.body.success);
      expect(delivered.map((a) => a.body.transaction)).toEqual([done.tx_hash]);
      if (first.body.success) expect(again.body).toMatchObject({ success: false, errorReason: "duplicate_settlement", transaction: done.tx_hash });
      return done.tx_hash!;
    },
  };
}

describe("a worker killed while its transaction may be in flight", () => {
  // Time bounds long enough that the replacement worker always starts within them.
  const q = crashableQuay({ txTimeoutSeconds: 60 });

  it("after recording a transaction the network never saw ('built'): the new worker sends that same transaction", async () => {
    const { quay, payTo } = q.ctx;
    const { payer, body } = await newPayment(quay, payTo);
    // Every sendTransaction is cut off, so the recorded transaction cannot have reached the network.
    await setFaults(quay.t.devnet, { drop: { methods: ["sendTransaction"] } });
    const settling = await q.startSettling(body, payer.publicKey());
    const { paymentId } = settling;
    const built = await q.attemptIn(paymentId, "built");
    await q.killAndReplace();
    await clearFaults(quay.t.devnet);

    const hash = await q.settledOnce(settling, payer.publicKey(), body);
    expect(hash).toBe(built.tx_hash);
    expect((await attempts(quay, paymentId)).map((a) => [a.tx_hash, a.status])).toEqual([[built.tx_hash, "succeeded"]]);
  });

  it("after the network accepted the transaction ('sent'): the new worker confirms it and sends nothing else", async () => {
    const { quay, payTo } = q.ctx;
    const { payer, body } = await newPayment(quay, payTo);
    await setFaults(quay.t.devnet, { paused: true }); // accepted, but no ledger includes it yet
    const settling = await q.startSettling(body, payer.publicKey());
    const { paymentId } = settling;
    const sent = await q.attemptIn(paymentId, "sent");
    await q.killAndReplace();
    await setFaults(quay.t.devnet, { paused: false });

    const hash = await q.settledOnce(settling, payer.publicKey(), body);
    expect(hash).toBe(sent.tx_hash);
    expect((await attempts(quay, paymentId)).map((a) => [a.tx_hash, a.status])).toEqual([[sent.tx_hash, "succeeded"]]);
  });
});

describe("a worker killed after the network accepted its transaction and then dropped it", () => {
  const TX_TIMEOUT_SECONDS = 10; // the configuration's minimum
  const q = crashableQuay({ txTimeoutSeconds: TX_TIMEOUT_SECONDS });

  it("the new worker waits out the transaction's time bounds, then rebuilds, and the payment lands once", async () => {
    const { quay, payTo } = q.ctx;
    const { payer, body } = await newPayment(quay, payTo);
    await setFaults(quay.t.devnet, { swallow: { count: 1 } });
    const settling = await q.startSettling(body, payer.publicKey());
    const { paymentId } = settling;
    const sent = await q.attemptIn(paymentId, "sent");
    await q.killAndReplace();

    const hash = await q.settledOnce(settling, payer.publicKey(), body, (TX_TIMEOUT_SECONDS + 20) * 1000);
    const tried = await attempts(quay, paymentId);
    expect(tried.map((a) => [a.tx_hash, a.status, a.reason])).toEqual([
      [sent.tx_hash, "failed", "expired"],
      [hash, "succeeded", null],
    ]);
    // The second transaction was built only once the first could no longer be included.
    const { rows } = await quay.pool.query<{ max_time: string }>("select max_time::text from submission_attempts where tx_hash = $1", [sent.tx_hash]);
    expect(tried[1]!.created_at.getTime() / 1000).toBeGreaterThan(Number(rows[0]!.max_time));
  });
});
