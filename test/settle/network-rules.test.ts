import { describe, expect, it } from "vitest";
import { Asset, Keypair, Operation } from "@stellar/stellar-sdk";
import { builderFor, fund, setFaults, submitAndWait, usdcBalance, xlmBalance } from "../devnet/helpers";
import { allowClientHttpRpc } from "@quay/demo";
import { metricValue } from "../x402/fixtures";
import { startQuay, transfers } from "./harness";
import { attempts, eventually, newPayee, newPayment, payments, PRICE, settle, settlementSuite } from "./payments";

/**
 * The network's harsh rules (apps/devnet models them by default: queue eviction, the fee source's
 * pending total, RPC retention, drift between simulation and apply, several RPCs), and Quay
 * surviving each without losing, doubling or misreporting a payment.
 */
describe("a surge: one transaction per ledger, and the queue drops what waits 4 ledgers", () => {
  const suite = settlementSuite({ poolSize: 6, devnet: { maxTxPerLedger: 1 } });

  it("settles six payments at once, each once, within about two eviction windows of the last", async () => {
    const { quay, payTo } = suite;
    const paid = await Promise.all(Array.from({ length: 6 }, () => newPayment(quay, payTo)));
    const startLedger = (await quay.t.server.getLatestLedger()).sequence;
    const answers = await Promise.all(paid.map(({ body }) => settle(quay, body)));
    for (const answer of answers) expect(answer.body).toMatchObject({ success: true });
    const ledgers = await Promise.all(
      answers.map(async (a) => {
        const got = await quay.t.server.getTransaction(a.body.transaction);
        if (got.status !== "SUCCESS") throw new Error(`${a.body.transaction} is ${got.status}`);
        return got.ledger;
      }),
    );
    // Six transactions need six ledgers; the ones the queue dropped are offered again (a higher bid)
    // once Quay sees them gone, instead of waiting out their 10 s (40 ledger) time bounds. About
    // two eviction windows (20 ledgers) on a quiet machine; the bound leaves a busy one 10 more
    // ledgers of reaction time and still tells a resend from waiting the time bounds out.
    expect(Math.max(...ledgers) - startLedger).toBeLessThanOrEqual(30);
    for (const { payer } of paid) expect((await transfers(quay.t)).filter((t) => t.from === payer.publicKey())).toHaveLength(1);
  });
});

describe("a fund account whose balance covers only a few fees in flight", () => {
  const suite = settlementSuite({ poolSize: 10, env: { FUND_MIN_BALANCE_STROOPS: "1" } });

  it("waits, not fails: 10 concurrent payments on a pool of 10, the refused ones retried until the operator tops the fund up", async () => {
    const { quay, payTo } = suite;
    // Leave the fund account 0.006 XLM above its reserve: two or three fee bumps' worth.
    const fundKeys = quay.fund;
    const spare = (await xlmBalance(quay.t.server, fundKeys.publicKey())) - 10_000_000n - 60_000n;
    const sink = await newPayee(quay);
    const move = async (from: Keypair, to: string, stroops: bigint) => {
      const tx = (await builderFor(quay.t, from.publicKey()))
        .addOperation(Operation.payment({ destination: to, asset: Asset.native(), amount: (Number(stroops) / 1e7).toFixed(7) }))
        .setTimeout(30)
        .build();
      tx.sign(from);
      await submitAndWait(quay.t.server, tx);
    };
    await move(fundKeys, sink, spare);

    const retries = () => metricValue(quay.worker!.metrics, "quay_submission_retries_total", { network: "stellar:testnet", cause: "fund_insufficient_balance" });
    const paid = await Promise.all(Array.from({ length: 10 }, () => newPayment(quay, payTo)));
    const answers = Promise.all(paid.map(({ body }) => settle(quay, body)));
    // The network refuses fee bumps the fund cannot cover on top of its pending ones: Quay waits.
    await eventually(async () => (await retries()) > 0, 30_000, "a refusal for the fund's pending fees");
    const ready = await quay.worker!.running.http.inject({ method: "GET", url: "/readyz" });
    expect(ready.json().components["fund:stellar:testnet"]).toMatchObject({ ok: false, error: "fund_overcommitted" });
    // The operator tops the fund up (QuayFundOvercommitted); the waiting payments go through.
    const donor = Keypair.random();
    await fund(quay.t.devnet, donor.publicKey());
    await move(donor, fundKeys.publicKey(), 1_000n * 10_000_000n);

    expect((await answers).map((a) => a.body.success)).toEqual(Array(10).fill(true));
    expect((await payments(quay)).filter((p) => p.status === "failed")).toEqual([]);
    for (const { payer } of paid) expect((await transfers(quay.t)).filter((t) => t.from === payer.publicKey())).toHaveLength(1);
  });
});

describe("a transaction that fails on state that drifted between simulation and apply", () => {
  const suite = settlementSuite({ poolSize: 1 });

  it("is simulated afresh and sent once more: one transfer, the payment's fee the sum of both", async () => {
    const { quay, payTo } = suite;
    const { payer, body } = await newPayment(quay, payTo);
    await setFaults(quay.t.devnet, { resourceDrift: { kind: "resourceLimitExceeded", count: 1 } });
    const answer = await settle(quay, body);
    expect(answer.body).toMatchObject({ success: true });
    const row = (await payments(quay)).find((p) => p.payer === payer.publicKey())!;
    const tried = await attempts(quay, row.id);
    expect(tried.map((a) => [a.status, a.reason])).toEqual([
      ["failed", "invokeHostFunctionResourceLimitExceeded"],
      ["succeeded", null],
    ]);
    expect((await transfers(quay.t)).filter((t) => t.from === payer.publicKey())).toEqual([{ from: payer.publicKey(), to: payTo, amount: PRICE, txHash: answer.body.transaction }]);
    const fees = await quay.pool.query<{ attempt: string | null; payment: string }>(
      "select a.fee_charged_stroops::text as attempt, p.fee_charged_stroops::text as payment from submission_attempts a join submissions p on p.id = a.submission_id where p.id = $1",
      [row.id],
    );
    const sum = fees.rows.reduce((s, r) => s + BigInt(r.attempt ?? "0"), 0n);
    expect(sum).toBeGreaterThan(0n);
    expect(BigInt(fees.rows[0]!.payment)).toBe(sum);
  });
});

describe("a worker killed after its transaction landed, back after the RPC's history forgot it", () => {
  it("ends the payment succeeded (read from the ledger: the account's sequence and the payer's nonce), never rebuilt", async () => {
    // The RPC keeps 16 ledgers (4 s); the transactions live 10 s.
    const undo = allowClientHttpRpc();
    const quay = await startQuay({ withWorker: false, poolSize: 1, devnet: { retentionLedgers: 16 } });
    try {
      const payTo = await newPayee(quay);
      // The authorisation outlives the wait below (~2 min of 250 ms ledgers) even on a loaded
      // machine: past it, the ledger could no longer tell, and "unresolved" would be right.
      const { payer, body } = await newPayment(quay, payTo, undefined, 2_400);
      let worker = await quay.spawnWorker();
      await setFaults(quay.t.devnet, { paused: true }); // accepted, not yet in a ledger
      void settle(quay, body).catch(() => undefined);
      const row = await eventually(async () => (await payments(quay)).find((p) => p.payer === payer.publicKey()), 30_000, "the payment");
      const sent = await eventually(async () => (await attempts(quay, row.id)).find((a) => a.status === "sent"), 30_000, "a sent attempt");
      await worker.kill("SIGKILL");
      await setFaults(quay.t.devnet, { paused: false });
      await eventually(async () => (await quay.t.server.getTransaction(sent.tx_hash)).status === "SUCCESS", 30_000, "the transaction to land");
      // Past its time bounds and past the RPC's history: getTransaction no longer knows it.
      await eventually(async () => (await quay.t.server.getTransaction(sent.tx_hash)).status === "NOT_FOUND", 30_000, "the RPC to forget it");
      const { rows } = await quay.pool.query<{ max_time: string }>("select max_time::text from submission_attempts where id = $1", [sent.id]);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(rows[0]!.max_time) * 1000 - Date.now() + 1_500)));

      worker = await quay.spawnWorker();
      const done = await eventually(async () => {
        const current = (await payments(quay)).find((p) => p.id === row.id)!;
        return current.status !== "queued" && current.status !== "submitting" && current;
      }, 30_000, `the payment to be final\n${worker.output()}`);
      expect(done).toMatchObject({ status: "succeeded", tx_hash: sent.tx_hash });
      expect((await attempts(quay, row.id)).map((a) => a.tx_hash)).toEqual([sent.tx_hash]);
      // The RPC's events are gone too; the ledger's balance says the price moved once.
      expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(1_000_000n - PRICE);
    } finally {
      await quay.stop();
      undo();
    }
  });
});

describe("several RPCs for one network", () => {
  const suite = settlementSuite({ poolSize: 2, devnet: { extraPorts: 1 }, allRpcUrls: true });

  it("settles on while the first of two RPCs answers 503, and while it lags", async () => {
    const { quay, payTo } = suite;
    expect(quay.config.networks[0]!.rpcUrls).toEqual(quay.t.devnet.rpcUrls);
    expect(quay.t.devnet.rpcUrls).toHaveLength(2);
    for (const fault of [{ fail: "http503" }, { lagLedgers: 8 }] as const) {
      const { payer, body } = await newPayment(quay, payTo);
      await setFaults(quay.t.devnet, { ports: { "0": fault } });
      const answer = await settle(quay, body);
      expect(answer.body, `${JSON.stringify(fault)}: ${JSON.stringify(answer.body)}`).toMatchObject({ success: true });
      await setFaults(quay.t.devnet, { ports: null });
      expect((await transfers(quay.t)).filter((t) => t.from === payer.publicKey())).toHaveLength(1);
    }
    await setFaults(quay.t.devnet, { ports: null });
    expect(await metricValue(quay.worker!.metrics, "quay_rpc_failovers_total", { network: "stellar:testnet", method: "sendTransaction" })).toBeGreaterThanOrEqual(0);
  });
});
