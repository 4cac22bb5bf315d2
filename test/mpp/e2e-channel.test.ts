/**
 * Channels end to end on the devnet through real HTTP: an mppx server using @quay/mpp's channel
 * method in RELAY mode, an mppx client paying by voucher, and Quay holding the vouchers and
 * closing: on request (the recipient receives exactly the sum of the prices, the funder the
 * rest), and on its own when the funder starts a unilateral close and walks away.
 */
import { Keypair, Operation, rpc } from "@stellar/stellar-sdk";
import { Credential } from "mppx";
import { Mppx as ClientMppx } from "mppx/client";
import { Mppx as ExpressMppx } from "mppx/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Commitment, STELLAR_TESTNET, Stellar } from "@quay/mpp";
import { usdcBalance } from "../devnet/helpers";
import { close } from "../../libs/mpp/src/channel/server";
import { challengeOf, listen, newApp, receiptOf, send, UNIT, type Listening, type OpenedChannel, openChannel } from "./method-helpers";
import { eventually, startRelayer, type Relayer } from "./relayer-fixtures";

const SECRET = "quay-relayer-e2e-channel-secret-0123456789";
const PRICE = 100_000n; // "0.01"
const DEPOSIT = 3n * UNIT;

async function sellOver(quay: Relayer, o: OpenedChannel, relayExtra: { recipientSigner?: Keypair; rpcUrl?: string } = {}): Promise<Listening> {
  const mppx = ExpressMppx.create({
    secretKey: SECRET,
    realm: "quay.test",
    methods: [Stellar.server.channel({ channel: o.channel, network: STELLAR_TESTNET, relay: { relayerUrl: quay.apiUrl, apiKey: quay.apiKey, ...relayExtra } })],
  });
  const app = newApp();
  app.get("/stream", mppx.channel({ amount: "0.01" }), (_req, res) => res.json({ chunk: "ok" }));
  return listen(app);
}

async function register(quay: Relayer, o: OpenedChannel, options: { holdKey?: boolean } = {}): Promise<void> {
  const res = await quay.call("POST", "/mpp/channels", {
    address: o.channel,
    network: "stellar:testnet",
    commitmentKey: o.commitmentKey.publicKey(),
    ...(options.holdKey === false ? {} : { recipientSecret: o.recipient.secret() }),
  });
  expect(res.status).toBe(201);
  expect(JSON.stringify(res.body)).not.toContain(o.recipient.secret());
}

describe("MPP channel end to end with Quay as relayer", () => {
  let quay: Relayer;
  beforeAll(async () => {
    quay = await startRelayer({ ledgerCloseMs: 200 });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("100 paid requests over one channel, then Quay closes: the recipient gets exactly the sum of the prices, the funder the rest", async () => {
    const o = await openChannel(quay.t, DEPOSIT, "e2e-100", 50);
    await register(quay, o);
    const http = await sellOver(quay, o);
    try {
      const client = ClientMppx.create({ polyfill: false, methods: [Stellar.client.channel({ commitmentKeypair: o.commitmentKey, channel: o.channel })] });
      for (let i = 0; i < 100; i++) {
        const res = await client.fetch(`${http.url}/stream`);
        expect(res.status).toBe(200);
        await res.json();
      }
    } finally {
      await http.close();
    }
    const state = await quay.call("GET", `/mpp/channels/${o.channel}`);
    expect(state.body).toMatchObject({ cumulative: (100n * PRICE).toString(), state: "open" });
    expect((await quay.pool.query("select count(*)::int as n from mpp_vouchers")).rows[0].n).toBe(100);

    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    const funderBefore = await usdcBalance(quay.t.server, o.funder.publicKey());
    // The close answers once its transaction is final.
    const closed = await quay.call("POST", `/mpp/channels/${o.channel}/close`, {});
    expect(closed).toMatchObject({ status: 200, body: { success: true, state: "closed", txHash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const done = await quay.call("GET", `/mpp/channels/${o.channel}`);
    expect(done.body.close).toMatchObject({ status: "succeeded", trigger: "request", paid: (100n * PRICE).toString(), refunded: (DEPOSIT - 100n * PRICE).toString() });
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + 100n * PRICE);
    expect(await usdcBalance(quay.t.server, o.funder.publicKey())).toBe(funderBefore + DEPOSIT - 100n * PRICE);
  });

  it("a close credential through the MPP server: the receipt's reference is the close transaction's hash, final on the ledger", async () => {
    const o = await openChannel(quay.t, DEPOSIT, "e2e-close-receipt", 50);
    await register(quay, o, { holdKey: false });
    const http = await sellOver(quay, o, { recipientSigner: o.recipient, rpcUrl: quay.t.devnet.rpcUrl });
    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    try {
      const client = ClientMppx.create({ polyfill: false, methods: [Stellar.client.channel({ commitmentKeypair: o.commitmentKey, channel: o.channel })] });
      for (let i = 0; i < 3; i++) expect((await client.fetch(`${http.url}/stream`)).status).toBe(200);
      const amount = 4n * PRICE;
      const signature = Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: quay.t.passphrase });
      const header = Credential.serialize({ challenge: await challengeOf(`${http.url}/stream`), payload: { action: "close", amount: amount.toString(), signature } });
      const res = await fetch(`${http.url}/stream`, { headers: { authorization: header } });
      expect(res.status).toBe(200);
      const { reference } = receiptOf(res);
      expect(reference).toMatch(/^[0-9a-f]{64}$/);
      const onLedger = await quay.t.server.getTransaction(reference);
      expect(onLedger.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
      const state = await quay.call("GET", `/mpp/channels/${o.channel}`);
      expect(state.body).toMatchObject({ state: "closed", txHash: reference, close: { status: "succeeded", paid: amount.toString(), refunded: (DEPOSIT - amount).toString() } });
      expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + amount);
    } finally {
      await http.close();
    }
  });

  it("close() with Quay as fee payer: Quay submits the close the recipient authorised, and answers its hash once final", async () => {
    const o = await openChannel(quay.t, DEPOSIT, "e2e-close-fn", 50);
    await register(quay, o, { holdKey: false });
    const amount = 3n * PRICE;
    const signature = Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: quay.t.passphrase });
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: amount.toString(), signature })).body.success).toBe(true);
    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    const txHash = await close({
      channel: o.channel,
      amount,
      signature,
      feePayer: { url: quay.apiUrl, apiKey: quay.apiKey },
      recipientSigner: o.recipient,
      network: STELLAR_TESTNET,
      rpcUrl: quay.t.devnet.rpcUrl,
    });
    expect((await quay.t.server.getTransaction(txHash)).status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + amount);
    expect((await quay.call("GET", `/mpp/channels/${o.channel}`)).body).toMatchObject({ state: "closed", txHash });
  });

  const WAITING_PERIOD = 100;
  it("the funder calls close_start and walks away: Quay closes with the highest voucher before the waiting period ends", async () => {
    // 100 ledgers of 200 ms: 20 s for Quay to see the close_start and land its close, even on a busy machine.
    const o = await openChannel(quay.t, DEPOSIT, "e2e-dispute", WAITING_PERIOD);
    await register(quay, o);
    const http = await sellOver(quay, o);
    try {
      const client = ClientMppx.create({ polyfill: false, methods: [Stellar.client.channel({ commitmentKeypair: o.commitmentKey, channel: o.channel })] });
      for (let i = 0; i < 7; i++) expect((await client.fetch(`${http.url}/stream`)).status).toBe(200);
    } finally {
      await http.close();
    }
    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    const funderBefore = await usdcBalance(quay.t.server, o.funder.publicKey());

    const started = await send(quay.t, o.funder, Operation.invokeContractFunction({ contract: o.channel, function: "close_start", args: [] }));
    const effectiveAt = started.ledger + WAITING_PERIOD;

    const done = await eventually(() => quay.call("GET", `/mpp/channels/${o.channel}`), (r) => r.body.state === "closed", 30_000, "dispute close");
    expect(done.body.close).toMatchObject({ status: "succeeded", trigger: "dispute", paid: (7n * PRICE).toString(), refunded: (DEPOSIT - 7n * PRICE).toString() });
    const { rows } = await quay.pool.query("select ledger from mpp_closes where tx_hash = $1", [done.body.txHash]);
    expect(rows[0].ledger).toBeLessThan(effectiveAt);
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + 7n * PRICE);
    expect(await usdcBalance(quay.t.server, o.funder.publicKey())).toBe(funderBefore + DEPOSIT - 7n * PRICE);
    // The watcher recorded the funder's close_start (effective ahead) and, later, Quay's own close and its payouts.
    const events = await eventually(
      async () =>
        (
          await quay.pool.query(
            "select kind, effective_at_ledger as at from mpp_channel_events e join mpp_channels c on c.id = e.channel_id where c.address = $1 order by e.id",
            [o.channel],
          )
        ).rows,
      (rows) => rows.filter((r) => r.kind !== "open").length >= 4,
      30_000,
      "events",
    );
    // The contract's open event precedes the registration, so the watcher records it only when its
    // poll happens to reach that ledger after the channel is registered: it is not asserted.
    const afterOpen = events.filter((r) => r.kind !== "open");
    expect(afterOpen.map((r) => r.kind)).toEqual(["close", "withdraw", "close", "refund"]);
    expect(afterOpen[0]!.at).toBe(effectiveAt);
  });
});
