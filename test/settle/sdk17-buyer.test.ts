import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { startSeller, type Seller } from "@quay/demo";
import { fund, usdcBalance } from "../devnet/helpers";
import { sdk17Fetch, sdk17Payment } from "../helpers/sdk17-buyer";
import { startQuay, transfers, USDC_SAC, type QuayHarness } from "./harness";
import { bodyFor, newPayee, post, PRICE, requirementsFor, settle } from "./payments";

/**
 * Buyers on @stellar/stellar-sdk 17 sign CAP-71 V2 auth entries by default (on the devnet at
 * protocol 28, as testnet runs): Quay verifies and settles them like V1, through its own routes
 * and behind a real @x402/express 2.27 seller.
 */
describe("a buyer on @stellar/stellar-sdk 17 (V2 auth)", () => {
  let quay: QuayHarness;
  let payTo: string;
  let seller: Seller;

  beforeAll(async () => {
    quay = await startQuay();
    payTo = await newPayee(quay);
    seller = await startSeller({ facilitatorUrl: quay.apiUrl, apiKey: quay.apiKey, network: "stellar:testnet", payTo, asset: USDC_SAC, amount: PRICE });
  });
  afterAll(async () => {
    await seller?.close();
    await quay?.stop();
  });

  async function fundedBuyer(): Promise<Keypair> {
    const buyer = Keypair.random();
    await fund(quay.t.devnet, buyer.publicKey(), { usdc: 1_000_000n });
    return buyer;
  }

  it("pays through /verify and /settle: exactly the amount moves, once", async () => {
    const buyer = await fundedBuyer();
    const requirements = requirementsFor(payTo);
    const { envelope, credentials } = await sdk17Payment(quay.t.devnet.rpcUrl, buyer.secret(), requirements);
    expect(credentials).toBe("sorobanCredentialsAddressV2");
    const body = bodyFor(envelope, requirements);
    expect((await post<Record<string, unknown>>(quay.apiUrl, "/verify", body, quay.apiKey)).body).toEqual({ isValid: true, payer: buyer.publicKey() });
    const answer = await settle(quay, body);
    expect(answer.body).toMatchObject({ success: true, payer: buyer.publicKey() });
    expect((await transfers(quay.t)).filter((t) => t.from === buyer.publicKey())).toEqual([
      { from: buyer.publicKey(), to: payTo, amount: PRICE, txHash: answer.body.transaction },
    ]);
    expect(await usdcBalance(quay.t.server, buyer.publicKey())).toBe(1_000_000n - PRICE);
  });

  it("pays a real @x402/express 2.27 seller: 200, and exactly the price moves once", async () => {
    const buyer = await fundedBuyer();
    const res = await sdk17Fetch(quay.t.devnet.rpcUrl, buyer.secret(), "stellar:testnet")(seller.url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ forecast: "sunny", temperatureC: 21 });
    const moved = (await transfers(quay.t)).filter((t) => t.from === buyer.publicKey());
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ to: payTo, amount: PRICE });
    expect(await usdcBalance(quay.t.server, buyer.publicKey())).toBe(1_000_000n - PRICE);
  });
});
