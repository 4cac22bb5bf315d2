import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { decodePaymentResponseHeader } from "@x402/fetch";
import { allowClientHttpRpc, createBuyer, startSeller, type Seller } from "@quay/demo";
import { fund, usdcBalance } from "../devnet/helpers";
import { startQuay, transfers, USDC_SAC, type QuayHarness } from "./harness";

const PRICE = 12_345n; // 0.0012345 USDC in base units

describe("a paid request through @x402/express and @x402/fetch, settled by Quay", () => {
  let quay: QuayHarness;
  let seller: Seller;
  const undo: Array<() => void> = [];
  const payTo = Keypair.random().publicKey();

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay();
    await fund(quay.t.devnet, payTo, { usdc: 1n }); // a trustline, with the 1 unit friendbot insists on
    seller = await startSeller({
      facilitatorUrl: quay.apiUrl,
      apiKey: quay.apiKey,
      network: "stellar:testnet",
      payTo,
      asset: USDC_SAC,
      amount: PRICE,
    });
  });
  afterAll(async () => {
    await seller?.close();
    await quay?.stop();
    undo.forEach((u) => u());
  });

  it("gets 200, moves exactly the price once from buyer to payTo, and records the settlement", async () => {
    const buyerKeys = Keypair.random();
    await fund(quay.t.devnet, buyerKeys.publicKey(), { usdc: 1_000_000n });
    const buyer = createBuyer(buyerKeys.secret(), "stellar:testnet", quay.t.devnet.rpcUrl);

    const unpaid = await fetch(seller.url);
    expect(unpaid.status).toBe(402);

    const res = await buyer.fetch(seller.url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ forecast: "sunny", temperatureC: 21 });
    const receipt = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE") ?? res.headers.get("X-PAYMENT-RESPONSE") ?? "");
    expect(receipt.success).toBe(true);
    expect(receipt.transaction).toMatch(/^[0-9a-f]{64}$/);

    expect(await usdcBalance(quay.t.server, buyerKeys.publicKey())).toBe(1_000_000n - PRICE);
    expect(await usdcBalance(quay.t.server, payTo)).toBe(1n + PRICE);
    const moved = (await transfers(quay.t)).filter((tr) => tr.to === payTo);
    expect(moved).toEqual([{ from: buyerKeys.publicKey(), to: payTo, amount: PRICE, txHash: receipt.transaction }]);

    const { rows } = await quay.pool.query(
      "select payer, amount::text, status, tx_hash, channel_account, fee_charged_stroops::text as fee, api_key_id is not null as keyed from submissions",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ payer: buyerKeys.publicKey(), amount: PRICE.toString(), status: "succeeded", tx_hash: receipt.transaction, keyed: true });
    expect(quay.channelAccounts).toContain(rows[0].channel_account);
    expect(BigInt(rows[0].fee)).toBeGreaterThan(0n);
    const spent = await quay.pool.query("select fee_spent_stroops::text as spent from api_keys");
    expect(spent.rows[0].spent).toBe(rows[0].fee);
  });
});
