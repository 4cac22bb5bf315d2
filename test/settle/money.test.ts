import { describe, expect, it } from "vitest";
import { Address, Contract, nativeToScVal, Operation } from "@stellar/stellar-sdk";
import { builderFor, usdcBalance, xlmBalance } from "../devnet/helpers";
import { transfers, USDC_SAC } from "./harness";
import { attempts, eventually, newPayment, payments, PRICE, settle, settlementSuite } from "./payments";

/**
 * Who pays and what is reported, read off the ledger: the fund account pays every fee bump (the
 * channel account, the transaction's source, pays nothing), the fee recorded is the fee the ledger
 * charged, and a transaction that lands FAILED is a failed payment, never a paid one.
 */
describe("the money a settlement moves", () => {
  // Verify's simulation is reused however old, so a payment whose payer emptied its balance after
  // /settle is submitted as verified, and lands FAILED.
  const suite = settlementSuite({ poolSize: 1, env: { SETTLE_REUSE_SIMULATION_LEDGERS: "1000" } });

  async function balances(channel: string) {
    const { quay } = suite;
    return { fund: await xlmBalance(quay.t.server, quay.fund.publicKey()), channel: await xlmBalance(quay.t.server, channel) };
  }

  async function feeOf(paymentId: string): Promise<bigint> {
    const { rows } = await suite.quay.pool.query<{ fee: string }>("select fee_charged_stroops::text as fee from submissions where id = $1", [paymentId]);
    return BigInt(rows[0]!.fee);
  }

  it("a settled payment's fee bump is paid by the fund account, to the stroop the payment records", async () => {
    const { quay, payTo } = suite;
    const channel = quay.channelAccounts[0]!;
    const { payer, body } = await newPayment(quay, payTo);
    const before = await balances(channel);
    const answer = await settle(quay, body);
    expect(answer.body).toMatchObject({ success: true });
    const row = (await payments(quay)).find((p) => p.payer === payer.publicKey())!;
    const fee = await feeOf(row.id);
    expect(fee).toBeGreaterThan(0n);
    const after = await balances(channel);
    expect(after.channel).toBe(before.channel);
    expect(before.fund - after.fund).toBe(fee);
  });

  it("a transaction that lands FAILED is reported failed, its fee paid by the fund account, and no money moves", async () => {
    const { quay, payTo } = suite;
    const channel = quay.channelAccounts[0]!;
    const { payer, body } = await newPayment(quay, payTo);
    await quay.stopWorker();
    const answer = settle(quay, body);
    const row = await eventually(async () => (await payments(quay)).find((p) => p.payer === payer.publicKey()), 30_000, "the payment row");

    // The payer spends its whole balance elsewhere before Quay submits.
    const held = await usdcBalance(quay.t.server, payer.publicKey());
    const drain = (await builderFor(quay.t, payer.publicKey()))
      .addOperation(
        Operation.invokeContractFunction({
          contract: USDC_SAC,
          function: "transfer",
          args: [new Address(payer.publicKey()).toScVal(), new Address(payTo).toScVal(), nativeToScVal(held, { type: "i128" })],
        }),
      )
      .setTimeout(30)
      .build();
    const prepared = await quay.t.server.prepareTransaction(drain);
    prepared.sign(payer);
    const sent = await quay.t.server.sendTransaction(prepared);
    await eventually(async () => (await quay.t.server.getTransaction(sent.hash)).status === "SUCCESS", 30_000, "the drain");

    const before = await balances(channel);
    await quay.startWorker();
    const final = await answer;
    expect(final.body).toMatchObject({ success: false, errorReason: "settle_exact_stellar_transaction_failed", payer: payer.publicKey() });
    expect(final.body.transaction).toMatch(/^[0-9a-f]{64}$/);
    const [attempt] = await attempts(quay, row.id);
    expect(attempt).toMatchObject({ status: "failed", tx_hash: final.body.transaction });
    expect((await payments(quay)).find((p) => p.id === row.id)).toMatchObject({ status: "failed" });

    const fee = await feeOf(row.id);
    expect(fee).toBeGreaterThan(0n);
    const after = await balances(channel);
    expect(after.channel).toBe(before.channel);
    expect(before.fund - after.fund).toBe(fee);
    // Only the drain moved the payer's money; the payment moved none.
    expect((await transfers(quay.t)).filter((t) => t.from === payer.publicKey()).map((t) => t.amount)).toEqual([held]);
    expect(held).toBe(1_000_000n);
    expect(PRICE).toBeLessThan(held);
  });
});
