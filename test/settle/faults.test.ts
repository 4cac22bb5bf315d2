import { afterEach, describe, expect, it } from "vitest";
import { Asset, Keypair, Operation } from "@stellar/stellar-sdk";
import { Vault } from "@quay/vault";
import { builderFor, clearFaults, fund, getFaults, setFaults, submitAndWait } from "../devnet/helpers";
import { metricValue } from "../x402/fixtures";
import { transfers } from "./harness";
import { attempts, bodyFor, eventually, newPayment, payments, PRICE, requirementsFor, sdkPayment, settle, settlementSuite } from "./payments";

/**
 * The RPC misbehaving as real ones do, through the devnet's fault switch: each payment still
 * settles once, by the recovery meant for that fault, or fails with the reason that names it.
 */
describe("settlement recovers from RPC and network faults", () => {
  const suite = settlementSuite({ poolSize: 1 });
  afterEach(async () => {
    await clearFaults(suite.quay.t.devnet);
  });

  const retries = (cause: string) =>
    metricValue(suite.quay.worker!.metrics, "quay_submission_retries_total", { network: "stellar:testnet", cause });

  /** Settles a fresh payment through /settle; returns the payer, the answer and the payment's attempts. */
  /** `validLedgers`: a payment whose authorisation lasts that many ledgers (the client's default is ~120 here). */
  async function settleFresh(beforeSettle?: () => Promise<unknown>, options: { validLedgers?: number } = {}) {
    const { payer, body } = options.validLedgers === undefined ? await newPayment(suite.quay, suite.payTo) : await shortLivedPayment(options.validLedgers);
    await beforeSettle?.();
    const answer = await settle(suite.quay, body);
    const row = (await payments(suite.quay)).find((p) => p.payer === payer.publicKey())!;
    return { payer: payer.publicKey(), answer, row, tried: await attempts(suite.quay, row.id) };
  }

  async function expectOneTransfer(payer: string, hash: string): Promise<void> {
    const moved = (await transfers(suite.quay.t)).filter((t) => t.from === payer);
    expect(moved).toEqual([{ from: payer, to: suite.payTo, amount: PRICE, txHash: hash }]);
  }

  it("TRY_AGAIN_LATER: re-wraps the same inner transaction with a 10x bid, which lands", async () => {
    const before = await retries("try_again_later");
    const { payer, answer, tried } = await settleFresh(() => setFaults(suite.quay.t.devnet, { sendTransaction: { status: "TRY_AGAIN_LATER", count: 1 } }));
    expect(answer.body).toMatchObject({ success: true });
    expect(tried.map((a) => [a.status, a.reason])).toEqual([
      ["rejected", "TRY_AGAIN_LATER"],
      ["succeeded", null],
    ]);
    expect(tried[1]!.sequence).toBe(tried[0]!.sequence); // the same inner transaction, re-wrapped
    expect(BigInt(tried[1]!.fee_bid)).toBe(BigInt(tried[0]!.fee_bid) * 10n);
    expect(tried[1]!.tx_hash).toBe(answer.body.transaction);
    expect(await retries("try_again_later")).toBe(before + 1);
    await expectOneTransfer(payer, answer.body.transaction);
  });

  it("ERROR txInternalError on send, four times: the same transaction is offered again each ledger, and lands", async () => {
    const before = await retries("internal_error");
    const { payer, answer, tried } = await settleFresh(() =>
      setFaults(suite.quay.t.devnet, { sendTransaction: { status: "ERROR", code: "txInternalError", count: 4 } }),
    );
    expect(answer.body).toMatchObject({ success: true });
    expect(tried.map((a) => [a.status, a.tx_hash])).toEqual([["succeeded", answer.body.transaction]]);
    expect(await retries("internal_error")).toBe(before + 4);
    await expectOneTransfer(payer, answer.body.transaction);
  });

  it("a refusal that can never succeed (txMalformed) ends the payment at once, with nothing moved", async () => {
    const { payer, answer, row, tried } = await settleFresh(() => setFaults(suite.quay.t.devnet, { sendTransaction: { status: "ERROR", code: "txMalformed", count: 1 } }));
    expect(answer.body).toMatchObject({ success: false, errorReason: "settle_exact_stellar_transaction_submission_failed", payer });
    expect(row).toMatchObject({ status: "failed" });
    expect(tried.map((a) => [a.status, a.reason])).toEqual([["rejected", "ERROR:txMalformed"]]);
    expect((await transfers(suite.quay.t)).filter((t) => t.from === payer)).toEqual([]);
  });

  it("insufficient fee: a raised minimum inclusion fee is met by doubling the bid within the cap", async () => {
    const before = await retries("insufficient_fee");
    const { payer, answer, tried } = await settleFresh(() => setFaults(suite.quay.t.devnet, { minInclusionFee: 1_000 }));
    expect(answer.body).toMatchObject({ success: true });
    const refused = tried.filter((a) => a.status === "rejected");
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) expect(a.reason).toBe("ERROR:txInsufficientFee");
    const landed = tried.at(-1)!;
    expect(landed).toMatchObject({ status: "succeeded", tx_hash: answer.body.transaction });
    expect(BigInt(landed.fee_bid)).toBeGreaterThanOrEqual(1_000n);
    expect(BigInt(landed.fee_bid)).toBeLessThan(2_000n); // doubling overshoots by less than 2x
    expect(await retries("insufficient_fee")).toBe(before + refused.length);
    await expectOneTransfer(payer, answer.body.transaction);
  });

  async function shortLivedPayment(validLedgers: number) {
    const payer = Keypair.random();
    await fund(suite.quay.t.devnet, payer.publicKey(), { usdc: 1_000_000n });
    const requirements = requirementsFor(suite.payTo);
    return { payer, body: bodyFor(await sdkPayment(suite.quay.t.server, payer, requirements, { validLedgers }), requirements) };
  }

  it("insufficient fee above the cap: waits while the authorisation lasts, then fails with fee_exceeds_maximum, and nothing moves", async () => {
    // The cap is 1 000 000 stroops for the whole fee bump: a 600 000 per-operation minimum cannot fit,
    // unless the network's price falls back; the payer's authorisation lasts 16 ledgers (4 s).
    const { payer, answer, row, tried } = await settleFresh(() => setFaults(suite.quay.t.devnet, { minInclusionFee: 600_000 }), { validLedgers: 16 });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: false,
      errorReason: "invalid_exact_stellar_payload_fee_exceeds_maximum",
      network: "stellar:testnet",
      payer,
    });
    expect(typeof answer.body.transaction).toBe("string");
    expect(row).toMatchObject({ status: "failed", reason: "invalid_exact_stellar_payload_fee_exceeds_maximum" });
    expect(tried.length).toBeGreaterThan(0);
    for (const a of tried) expect([a.status, a.reason]).toEqual(["rejected", "ERROR:txInsufficientFee"]);
    for (const a of tried) expect(BigInt(a.fee_bid) * 2n).toBeLessThanOrEqual(1_000_000n); // never bid past the cap
    expect((await transfers(suite.quay.t)).filter((t) => t.from === payer)).toEqual([]);
  });

  it("bad sequence: the channel account used behind Quay's back is re-read, and the rebuilt transaction lands", async () => {
    const [channel] = (await suite.quay.pool.query<{ public_key: string; secret_encrypted: string }>("select public_key, secret_encrypted from channel_accounts")).rows;
    const channelKeys = Keypair.fromSecret(Vault.open(suite.quay.config.masterKey!, channel!.secret_encrypted, channel!.public_key));
    const before = await retries("bad_sequence");
    const { payer, body } = await newPayment(suite.quay, suite.payTo);
    // Quay's send is held back 2 s; meanwhile the channel account's sequence number moves on.
    await setFaults(suite.quay.t.devnet, { delay: { ms: 2_000, methods: ["sendTransaction"], count: 1 } });
    const answer = settle(suite.quay, body);
    await eventually(async () => (await getFaults(suite.quay.t.devnet)).delay === null, 30_000, "Quay's send to be held");
    const behindTheBack = (await builderFor(suite.quay.t, channelKeys.publicKey()))
      .addOperation(Operation.payment({ destination: suite.quay.fund.publicKey(), asset: Asset.native(), amount: "0.0000001" }))
      .setTimeout(30)
      .build();
    behindTheBack.sign(channelKeys);
    await submitAndWait(suite.quay.t.server, behindTheBack);

    const { body: settled } = await answer;
    expect(settled).toMatchObject({ success: true });
    const row = (await payments(suite.quay)).find((p) => p.payer === payer.publicKey())!;
    const tried = await attempts(suite.quay, row.id);
    expect(tried.map((a) => [a.status, a.reason])).toEqual([
      ["rejected", "ERROR:txBadSeq"],
      ["succeeded", null],
    ]);
    expect(BigInt(tried[1]!.sequence)).toBe(BigInt(tried[0]!.sequence) + 1n);
    expect(await retries("bad_sequence")).toBe(before + 1);
    await expectOneTransfer(payer.publicKey(), settled.transaction);
  });

  it("RPC down: the job is retried with backoff and the payment lands once the RPC is back", async () => {
    const unavailable = () =>
      metricValue(suite.quay.worker!.metrics, "quay_rpc_call_duration_seconds", { network: "stellar:testnet", method: "sendTransaction", outcome: "unavailable" });
    const before = await unavailable();
    const { payer, body } = await newPayment(suite.quay, suite.payTo);
    // Verify (in the api) still works; every call only the worker makes is cut off.
    await setFaults(suite.quay.t.devnet, { drop: { methods: ["getLedgerEntries", "getFeeStats", "sendTransaction", "getTransaction"] } });
    const answer = settle(suite.quay, body);
    await eventually(async () => (await unavailable()) > before, 30_000, "the worker to fail on the RPC");
    await clearFaults(suite.quay.t.devnet);

    const { body: settled } = await answer;
    expect(settled).toMatchObject({ success: true });
    const row = (await payments(suite.quay)).find((p) => p.payer === payer.publicKey())!;
    expect((await attempts(suite.quay, row.id)).map((a) => a.status)).toEqual(["succeeded"]);
    await expectOneTransfer(payer.publicKey(), settled.transaction);
  });
});
