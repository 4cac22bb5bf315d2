import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowClientHttpRpc } from "@quay/cli/demo";
import { startQuay, transfers, type QuayHarness } from "./harness";
import { attempts, newPayee, newPayment, payments, PRICE, settle } from "./payments";

/**
 * The same payment asked to settle many times, one after another and all at once through two api
 * processes, moves money once: one payments row, one transaction sent, one transfer on chain, and
 * every caller told the same outcome.
 */
describe("duplicate /settle calls", () => {
  let quay: QuayHarness;
  let payTo: string;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ poolSize: 3 });
    payTo = await newPayee(quay);
  });
  afterAll(async () => {
    await quay?.stop();
    undo.forEach((u) => u());
  });

  async function expectSettledOnce(payer: string, hash: string): Promise<void> {
    const moved = (await transfers(quay.t)).filter((t) => t.from === payer);
    expect(moved).toEqual([{ from: payer, to: payTo, amount: PRICE, txHash: hash }]);
    const rows = (await payments(quay)).filter((p) => p.payer === payer);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "succeeded", tx_hash: hash });
    const tried = await attempts(quay, rows[0]!.id);
    expect(tried.map((a) => [a.status, a.tx_hash])).toEqual([["succeeded", hash]]);
  }

  it("settles a body sent twice in a row once, and answers the second call with the first's transaction", async () => {
    const { payer, body } = await newPayment(quay, payTo);
    const first = await settle(quay, body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, network: "stellar:testnet", payer: payer.publicKey() });
    expect(first.body.transaction).toMatch(/^[0-9a-f]{64}$/);

    // Settled, its nonce is spent: the body no longer verifies, and Quay answers from its record.
    const second = await settle(quay, body);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    await expectSettledOnce(payer.publicKey(), first.body.transaction);
  });

  it("settles 20 concurrent identical calls through two api processes once, and all 20 get the same answer", async () => {
    const other = await quay.startApi();
    const { payer, body } = await newPayment(quay, payTo);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => settle(quay, body, i % 2 === 0 ? quay.apiUrl : other.url)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const hash = answers[0]!.body.transaction;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    for (const answer of answers) {
      expect(answer.body).toEqual({ success: true, transaction: hash, network: "stellar:testnet", payer: payer.publicKey(), amount: PRICE.toString() });
    }
    await expectSettledOnce(payer.publicKey(), hash);
  });
});
