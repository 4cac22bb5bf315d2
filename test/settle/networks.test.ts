import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Asset, Keypair } from "@stellar/stellar-sdk";
import { ApiKeys } from "@quay/keys";
import { createMetrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import { StellarNetwork } from "@quay/stellar";
import { allowClientHttpRpc, blockNonLoopbackNetwork, payOnce, startSeller, type Seller } from "@quay/demo";
import { fund, startTestDevnet, USDC_ISSUER, usdcBalance, type TestDevnet } from "../devnet/helpers";
import { startQuay, USDC_SAC, type QuayHarness } from "./harness";
import { sdkPayment } from "./payments";

const PUBNET = "Public Global Stellar Network ; September 2015";
const PRICE = 7_000n;

describe("testnet and pubnet served at once, each with its own RPC and pool", () => {
  let pubnet: TestDevnet;
  let quay: QuayHarness;
  let pubnetPool: string[];
  const sellers: Seller[] = [];
  const undo: Array<() => void> = [];
  // On a devnet running pubnet's passphrase, the same USDC asset has pubnet's contract id.
  const pubnetUsdc = new Asset("USDC", USDC_ISSUER).contractId(PUBNET);

  beforeAll(async () => {
    const block = blockNonLoopbackNetwork();
    undo.push(() => block.restore(), allowClientHttpRpc());
    pubnet = await startTestDevnet({ ledgerCloseMs: 250, networkPassphrase: PUBNET });
    const pubnetFund = Keypair.random();
    await fund(pubnet.devnet, pubnetFund.publicKey());
    quay = await startQuay({
      env: {
        QUAY_NETWORKS: "stellar:testnet,stellar:pubnet",
        STELLAR_PUBNET_RPC_URL: pubnet.devnet.rpcUrl,
        STELLAR_PUBNET_NETWORK_PASSPHRASE: PUBNET,
        STELLAR_PUBNET_FUND_SECRET: pubnetFund.secret(),
        STELLAR_PUBNET_ASSETS: pubnetUsdc,
      },
    });
    const pubnetConfig = quay.config.networks.find((n) => n.id === "stellar:pubnet")!;
    pubnetPool = await PoolAdmin.create(
      { db: quay.db, network: new StellarNetwork(pubnetConfig, createMetrics({ defaultMetrics: false })), fund: pubnetFund, masterKey: quay.config.masterKey! },
      2,
      50_000_000n,
    );
  });
  afterAll(async () => {
    for (const seller of sellers) await seller.close();
    await quay?.stop();
    await pubnet?.close();
    undo.forEach((restore) => restore());
  });

  it("/supported lists one exact kind per network, fees sponsored, with each network's fee payer", async () => {
    const res = await fetch(`${quay.apiUrl}/supported`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { kinds: unknown; signers: unknown };
    expect(body.kinds).toEqual([
      { x402Version: 2, scheme: "exact", network: "stellar:testnet", extra: { areFeesSponsored: true } },
      { x402Version: 2, scheme: "exact", network: "stellar:pubnet", extra: { areFeesSponsored: true } },
    ]);
    expect(body.signers).toEqual({
      "stellar:testnet": [quay.fund.publicKey()],
      "stellar:pubnet": [Keypair.fromSecret(quay.config.networks[1]!.fundSecret).publicKey()],
    });
  });

  it("settles a paid request on stellar:testnet (@x402/express seller, @x402/fetch buyer) through testnet's pool", async () => {
    const payTo = Keypair.random().publicKey();
    await fund(quay.t.devnet, payTo, { usdc: 1n });
    const seller = await startSeller({ facilitatorUrl: quay.apiUrl, apiKey: quay.apiKey, network: "stellar:testnet", payTo, asset: USDC_SAC, amount: PRICE });
    sellers.push(seller);
    const paid = await payOnce(seller.url, { rpcUrl: quay.t.devnet.rpcUrl, friendbotUrl: quay.t.devnet.friendbotUrl });
    expect(paid.status).toBe(200);
    expect(await usdcBalance(quay.t.server, payTo)).toBe(1n + PRICE);
    await expectSettledThrough(paid.transaction!, "stellar:testnet", quay.channelAccounts);
  });

  // @x402/stellar 2.9's client only talks to a pubnet RPC over https, which the devnet does not
  // serve; the payment is built here with the SDK, step for step as that client builds it.
  it("settles a pubnet payment through pubnet's RPC and pool", async () => {
    const payer = Keypair.random();
    const payTo = Keypair.random().publicKey();
    await fund(pubnet.devnet, payer.publicKey(), { usdc: 1_000_000n });
    await fund(pubnet.devnet, payTo, { usdc: 1n });
    const requirements = { scheme: "exact", network: "stellar:pubnet", asset: pubnetUsdc, amount: PRICE.toString(), payTo, maxTimeoutSeconds: 60, extra: { areFeesSponsored: true } };
    const transaction = await sdkPayment(pubnet.server, payer, requirements);
    const { key } = await ApiKeys.create(quay.db, { tenant: "pubnet-seller", networks: ["stellar:pubnet"] });
    const res = await fetch(`${quay.apiUrl}/settle`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ x402Version: 2, paymentPayload: { x402Version: 2, accepted: requirements, payload: { transaction } }, paymentRequirements: requirements }),
    });
    const answer = (await res.json()) as { success: boolean; transaction: string; network: string };
    expect(answer).toMatchObject({ success: true, network: "stellar:pubnet" });
    expect(await usdcBalance(pubnet.server, payTo)).toBe(1n + PRICE);
    await expectSettledThrough(answer.transaction, "stellar:pubnet", pubnetPool);
  });

  async function expectSettledThrough(txHash: string, network: string, pool: readonly string[]) {
    const { rows } = await quay.pool.query("select network, channel_account, status from submissions where tx_hash = $1", [txHash]);
    expect(rows).toEqual([{ network, channel_account: expect.any(String), status: "succeeded" }]);
    expect(pool).toContain(rows[0].channel_account);
  }
});
