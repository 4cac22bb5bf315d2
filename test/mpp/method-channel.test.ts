/**
 * stellar/channel end to end: a channel deployed on the devnet, an express app selling a route
 * through mppx with Quay's channel method in LOCAL mode, and an mppx client paying by voucher.
 * The cumulative grows by the price per request; lower/equal vouchers and bad signatures are
 * refused; a `close` credential closes on chain and pays the recipient exactly the cumulative.
 */
import { Keypair } from "@stellar/stellar-sdk";
import { Credential, Store } from "mppx";
import { Mppx as ClientMppx } from "mppx/client";
import { Mppx as ExpressMppx } from "mppx/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Commitment, STELLAR_TESTNET, Stellar, StoreKeys } from "@quay/mpp";
import { startTestDevnet, usdcBalance } from "../devnet/helpers";
import type { TestDevnet } from "../devnet/helpers";
import { challengeOf, listen, newApp, openChannel, receiptOf, refusal, UNIT } from "./method-helpers";
import type { Listening, OpenedChannel } from "./method-helpers";

const SECRET = "quay-mpp-channel-test-secret-key-0123456789";
const PRICE = 1_000_000n; // "0.1"

describe("stellar/channel through mppx, LOCAL mode, on the devnet", () => {
  let t: TestDevnet;
  let o: OpenedChannel;
  let http: Listening;
  const store = Store.memory();

  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 200 });
    o = await openChannel(t, 1n * UNIT, "method-channel");
    const mppx = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [
        Stellar.server.channel({
          channel: o.channel,
          commitmentKey: o.commitmentKey.publicKey(),
          store,
          network: STELLAR_TESTNET,
          rpcUrl: t.devnet.rpcUrl,
          closeSigner: o.recipient,
          pollIntervalMs: 100,
        }),
      ],
    });
    const app = newApp();
    app.get("/stream", mppx.channel({ amount: "0.1" }), (_req, res) => res.json({ chunk: "ok" }));
    http = await listen(app);
  });
  afterAll(async () => {
    await http?.close();
    await t?.close();
  });

  const cumulativeStored = async () => (await store.get(StoreKeys.channelCumulative(o.channel))) as { amount: string; signature: string } | null;

  it("the challenge names the channel, network and the server's cumulative", async () => {
    const challenge = await challengeOf(`${http.url}/stream`);
    expect(challenge.intent).toBe("channel");
    expect(challenge.request).toMatchObject({ amount: PRICE.toString(), channel: o.channel, methodDetails: { network: STELLAR_TESTNET, cumulativeAmount: "0" } });
    expect(challenge.request.methodDetails).toHaveProperty("reference");
  });

  it("pays several requests by voucher; the cumulative grows by the price each time", async () => {
    const client = ClientMppx.create({ polyfill: false, methods: [Stellar.client.channel({ commitmentKeypair: o.commitmentKey, channel: o.channel, rpcUrl: t.devnet.rpcUrl })] });
    const sent: string[] = [];
    client.onCredentialCreated(({ credential }) => {
      sent.push(credential);
    });
    for (let i = 1n; i <= 3n; i++) {
      const res = await client.fetch(`${http.url}/stream`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ chunk: "ok" });
      const credential = Credential.deserialize<{ action: string; amount: string; signature: string }>(sent.at(-1)!);
      expect(credential.payload).toMatchObject({ action: "voucher", amount: (i * PRICE).toString() });
      expect(receiptOf(res).reference).toBe(credential.challenge.request.methodDetails && (credential.challenge.request.methodDetails as { reference: string }).reference);
      expect(await cumulativeStored()).toEqual({ amount: (i * PRICE).toString(), signature: credential.payload.signature });
    }
    // Nothing moved on chain: vouchers are off-chain.
    expect(await usdcBalance(t.server, o.recipient.publicKey())).toBe(1n);
  });

  it("refuses an equal or lower cumulative, a voucher below the price, and a bad signature", async () => {
    const voucher = async (amount: bigint, signWith: Keypair = o.commitmentKey, flip = false) => {
      const challenge = await challengeOf(`${http.url}/stream`);
      let signature = Commitment.sign(signWith, { channel: o.channel, amount, networkPassphrase: t.passphrase });
      if (flip) signature = (signature[0] === "a" ? "b" : "a") + signature.slice(1);
      const credential = Credential.serialize({ challenge, payload: { action: "voucher", amount: amount.toString(), signature } });
      return fetch(`${http.url}/stream`, { headers: { authorization: credential } });
    };
    expect(await refusal(await voucher(3n * PRICE))).toMatchObject({ status: 402, code: "invalid_payment", reason: "cumulative_not_increasing" });
    expect(await refusal(await voucher(2n * PRICE))).toMatchObject({ reason: "cumulative_not_increasing" });
    expect(await refusal(await voucher(3n * PRICE + 1n))).toMatchObject({ reason: "amount_below_price" });
    expect(await refusal(await voucher(4n * PRICE, Keypair.random()))).toMatchObject({ reason: "invalid_signature" });
    expect(await refusal(await voucher(4n * PRICE, o.commitmentKey, true))).toMatchObject({ reason: "invalid_signature" });
    expect(await refusal(await voucher(20n * PRICE))).toMatchObject({ code: "insufficient_funds", reason: "exceeds_deposit" });
    expect((await cumulativeStored())?.amount).toBe((3n * PRICE).toString());
    // The right next voucher still passes.
    expect((await voucher(4n * PRICE)).status).toBe(200);
  });

  it("a replayed voucher credential is refused", async () => {
    const challenge = await challengeOf(`${http.url}/stream`);
    const amount = 5n * PRICE;
    const credential = Credential.serialize({
      challenge,
      payload: { action: "voucher", amount: amount.toString(), signature: Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: t.passphrase }) },
    });
    expect((await fetch(`${http.url}/stream`, { headers: { authorization: credential } })).status).toBe(200);
    expect(await refusal(await fetch(`${http.url}/stream`, { headers: { authorization: credential } }))).toMatchObject({ code: "already_used", reason: "challenge_used" });
  });

  it("a close credential closes on chain: the recipient gets the cumulative, the funder the rest; later vouchers are refused", async () => {
    const challenge = await challengeOf(`${http.url}/stream`);
    const amount = 6n * PRICE;
    const credential = Credential.serialize({
      challenge,
      payload: { action: "close", amount: amount.toString(), signature: Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: t.passphrase }) },
    });
    const res = await fetch(`${http.url}/stream`, { headers: { authorization: credential } });
    expect(res.status).toBe(200);
    const receipt = receiptOf(res);
    expect(receipt.reference).toMatch(/^[0-9a-f]{64}$/);
    expect((await t.server.getTransaction(receipt.reference)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, o.recipient.publicKey())).toBe(amount + 1n);
    expect(await usdcBalance(t.server, o.funder.publicKey())).toBe(100n * UNIT - amount);
    expect(await store.get(StoreKeys.channelClosed(o.channel))).toMatchObject({ txHash: receipt.reference, amount: amount.toString() });

    const next = await challengeOf(`${http.url}/stream`);
    const later = 7n * PRICE;
    const after = Credential.serialize({
      challenge: next,
      payload: { action: "voucher", amount: later.toString(), signature: Commitment.sign(o.commitmentKey, { channel: o.channel, amount: later, networkPassphrase: t.passphrase }) },
    });
    expect(await refusal(await fetch(`${http.url}/stream`, { headers: { authorization: after } }))).toMatchObject({ reason: "channel_closed" });
  });
});

describe("Stellar.client.channel", () => {
  it("refuses to sign for a channel it is not pinned to", async () => {
    const pinned = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
    const method = Stellar.client.channel({ commitmentKeypair: Keypair.random(), channel: pinned });
    const challenge = {
      id: "x",
      realm: "r",
      method: "stellar" as const,
      intent: "channel" as const,
      request: { amount: "1", channel: "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC", methodDetails: { network: STELLAR_TESTNET } },
    };
    await expect(method.createCredential({ challenge, context: {} })).rejects.toMatchObject({ code: "policy_denied", reason: "channel_not_pinned" });
  });
});
