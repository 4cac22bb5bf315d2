import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { allowClientHttpRpc, createBuyer, startSeller, type Seller } from "@quay/demo";
import { fund } from "../devnet/helpers";
import { startQuay, transfers, USDC_SAC, type QuayHarness } from "./harness";
import { attempts, bodyFor, newPayee, newPayment, payments, post, PRICE, requirementsFor, sdkPayment, settle, type SettleAnswer } from "./payments";

/**
 * One payment buys one delivery: Quay answers `success: true` for a payment once, ever, whatever
 * the number of callers, api processes or sellers, and one (payer, nonce) never names two payments.
 */
describe("the delivery rule", () => {
  let quay: QuayHarness;
  let payTo: string;
  let seller: Seller;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ poolSize: 3 });
    payTo = await newPayee(quay);
    seller = await startSeller({ facilitatorUrl: quay.apiUrl, apiKey: quay.apiKey, network: "stellar:testnet", payTo, asset: USDC_SAC, amount: PRICE });
  });
  afterAll(async () => {
    await seller?.close();
    await quay?.stop();
    undo.forEach((u) => u());
  });

  async function expectSettledOnce(payer: string, hash: string, to = payTo, amount = PRICE): Promise<void> {
    const moved = (await transfers(quay.t)).filter((t) => t.from === payer);
    expect(moved).toEqual([{ from: payer, to, amount, txHash: hash }]);
    const rows = (await payments(quay)).filter((p) => p.payer === payer);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "succeeded", tx_hash: hash });
    expect((await attempts(quay, rows[0]!.id)).map((a) => [a.status, a.tx_hash])).toEqual([["succeeded", hash]]);
  }

  it("answers success once: a body sent again gets duplicate_settlement with the transaction, and /verify refuses it", async () => {
    const { payer, body } = await newPayment(quay, payTo);
    const first = await settle(quay, body);
    expect(first).toMatchObject({ status: 200, body: { success: true, network: "stellar:testnet", payer: payer.publicKey() } });
    expect(first.body.transaction).toMatch(/^[0-9a-f]{64}$/);

    const again = await settle(quay, body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      success: false,
      errorReason: "duplicate_settlement",
      transaction: first.body.transaction,
      payer: payer.publicKey(),
      network: "stellar:testnet",
    });
    const verified = await post<Record<string, unknown>>(quay.apiUrl, "/verify", body, quay.apiKey);
    expect(verified).toMatchObject({ status: 200, body: { isValid: false, invalidReason: "duplicate_settlement", payer: payer.publicKey() } });
    await expectSettledOnce(payer.publicKey(), first.body.transaction);
  });

  it("answers 50 concurrent identical calls through two api processes with exactly one success", async () => {
    const other = await quay.startApi();
    const { payer, body } = await newPayment(quay, payTo);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => settle(quay, body, i % 2 === 0 ? quay.apiUrl : other.url)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const successes = answers.filter((a) => a.body.success);
    expect(successes).toHaveLength(1);
    const hash = successes[0]!.body.transaction;
    for (const answer of answers.filter((a) => !a.body.success)) {
      expect(answer.body).toMatchObject({ success: false, errorReason: "duplicate_settlement", transaction: hash, payer: payer.publicKey() });
    }
    await expectSettledOnce(payer.publicKey(), hash);
  });

  it("serves one payment header replayed 50 times at once by a real @x402/express seller exactly once", async () => {
    const buyerKeys = Keypair.random();
    await fund(quay.t.devnet, buyerKeys.publicKey(), { usdc: 1_000_000n });
    const header = await capturePaymentHeader(buyerKeys, seller.url, quay.t.devnet.rpcUrl);
    const responses = await Promise.all(Array.from({ length: 50 }, () => fetch(seller.url, { headers: header })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    const moved = (await transfers(quay.t)).filter((t) => t.from === buyerKeys.publicKey());
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ to: payTo, amount: PRICE });
  });

  describe("a nonce names one payment", () => {
    async function twoPaymentsOneNonce() {
      const payer = Keypair.random();
      await fund(quay.t.devnet, payer.publicKey(), { usdc: 100_000_000n });
      const otherPayTo = await newPayee(quay);
      const nonce = BigInt(Math.floor(Math.random() * 2 ** 48));
      const small = requirementsFor(payTo, 10_000n);
      const large = requirementsFor(otherPayTo, 5_000_000n);
      return {
        payer: payer.publicKey(),
        small: { to: payTo, amount: 10_000n, body: bodyFor(await sdkPayment(quay.t.server, payer, small, { nonce }), small) },
        large: { to: otherPayTo, amount: 5_000_000n, body: bodyFor(await sdkPayment(quay.t.server, payer, large, { nonce }), large) },
      };
    }

    it("refuses the same (payer, nonce) with other terms after the first settled, at /verify and /settle", async () => {
      const { payer, small, large } = await twoPaymentsOneNonce();
      // Before either is recorded, both verify: the network would take either one.
      expect((await post<Record<string, unknown>>(quay.apiUrl, "/verify", large.body, quay.apiKey)).body).toMatchObject({ isValid: true });
      const first = await settle(quay, small.body);
      expect(first.body).toMatchObject({ success: true });

      const verified = await post<Record<string, unknown>>(quay.apiUrl, "/verify", large.body, quay.apiKey);
      expect(verified.body).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_nonce_reused" });
      const second = await settle(quay, large.body);
      expect(second.body).toMatchObject({ success: false, errorReason: "invalid_exact_stellar_payload_nonce_reused", transaction: "" });
      await expectSettledOnce(payer, first.body.transaction, small.to, small.amount);
    });

    it("settles one of two concurrent payments under one nonce and refuses the other", async () => {
      const { payer, small, large } = await twoPaymentsOneNonce();
      const both = [small, large];
      const answers = await Promise.all(both.map((p, i) => settle(quay, p.body, i === 0 ? quay.apiUrl : undefined)));
      const won = answers.findIndex((a) => a.body.success);
      expect(won).toBeGreaterThanOrEqual(0);
      const lost = answers[1 - won]!.body as SettleAnswer;
      expect(lost).toMatchObject({ success: false, errorReason: "invalid_exact_stellar_payload_nonce_reused" });
      const winner = both[won]!;
      await expectSettledOnce(payer, answers[won]!.body.transaction, winner.to, winner.amount);
    });
  });
});

/**
 * The payment header a real @x402/fetch buyer sends for `url`, taken off the wire instead of sent,
 * so a test can replay it as often as it likes.
 */
async function capturePaymentHeader(buyer: Keypair, url: string, rpcUrl: string): Promise<Record<string, string>> {
  let captured: Record<string, string> | undefined;
  const watching: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const signature = request.headers.get("PAYMENT-SIGNATURE");
    if (!signature) return fetch(request);
    captured = { "PAYMENT-SIGNATURE": signature };
    return new Response("captured", { status: 599 });
  };
  await createBuyer(buyer.secret(), "stellar:testnet", rpcUrl, watching).fetch(url);
  if (!captured) throw new Error("the buyer sent no payment header");
  return captured;
}
