/**
 * The channel half of Quay's relayer API over HTTP on the devnet: registration read from the
 * ledger (and refused for a contract that is not the allowed channel Wasm), vouchers verified
 * offline and strictly increasing up to what the channel holds, tenant isolation, and a close by
 * the worker with the recipient's signed auth entry (Quay holding no key).
 */
import { authorizeInvocation, Keypair } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Channels, Closes } from "@quay/channels";
import { createMetrics } from "@quay/metrics";
import { StellarNetwork } from "@quay/stellar";
import { Commitment } from "@quay/mpp";
import { USDC, usdcBalance } from "../devnet/helpers";
import { openChannel, UNIT, type OpenedChannel } from "./method-helpers";
import { eventually, startRelayer, type Relayer } from "./relayer-fixtures";

describe("MPP channels through Quay's API", () => {
  let quay: Relayer;
  let o: OpenedChannel;
  const sign = (amount: bigint, channel = o) => Commitment.sign(channel.commitmentKey, { channel: channel.channel, amount, networkPassphrase: quay.t.passphrase });

  beforeAll(async () => {
    // A short wait, so a close the worker cannot finish answers "pending" quickly.
    quay = await startRelayer({ env: { SETTLE_WAIT_SECONDS: "3" } });
    o = await openChannel(quay.t, 5n * UNIT, "api-1");
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("registers a channel with what the ledger says, never echoing the recipient key", async () => {
    const res = await quay.call("POST", "/mpp/channels", { address: o.channel, network: "stellar:testnet", commitmentKey: o.commitmentKey.publicKey() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      address: o.channel,
      funder: o.funder.publicKey(),
      recipient: o.recipient.publicKey(),
      token: USDC.contractId(quay.t.passphrase),
      commitmentKey: o.commitmentKey.publicKey(),
      refundWaitingPeriod: 10,
      capacity: (5n * UNIT).toString(),
      cumulative: "0",
      state: "open",
      recipientKeyHeld: false,
    });
    expect((await quay.call("POST", "/mpp/channels", { address: o.channel, network: "stellar:testnet", commitmentKey: o.commitmentKey.publicKey() })).status).toBe(409);
  });

  it("refuses a contract that is not the allowed channel Wasm, a wrong commitment key, and a recipient secret that is not the recipient's", async () => {
    const other = await openChannel(quay.t, UNIT, "api-wrong-key");
    const wrongKey = await quay.call("POST", "/mpp/channels", { address: other.channel, network: "stellar:testnet", commitmentKey: Keypair.random().publicKey() });
    expect(wrongKey).toMatchObject({ status: 422, body: { error: "commitment_key_mismatch" } });
    const wrongSecret = await quay.call("POST", "/mpp/channels", {
      address: other.channel,
      network: "stellar:testnet",
      commitmentKey: other.commitmentKey.publicKey(),
      recipientSecret: Keypair.random().secret(),
    });
    expect(wrongSecret).toMatchObject({ status: 422, body: { error: "recipient_key_mismatch" } });
    expect(JSON.stringify(wrongSecret.body)).not.toMatch(/S[A-Z2-7]{55}/);

    // A token contract is no channel; and a real channel whose Wasm is not on the allow-list is refused.
    const token = await quay.call("POST", "/mpp/channels", { address: USDC.contractId(quay.t.passphrase), network: "stellar:testnet", commitmentKey: other.commitmentKey.publicKey() });
    expect(token).toMatchObject({ status: 422, body: { error: "not_a_channel" } });
    const network = new StellarNetwork(quay.config.networks[0]!, createMetrics({ defaultMetrics: false }));
    const strict = { db: quay.db, networks: new Map([["stellar:testnet", network]]), masterKey: undefined, wasmHashes: ["ab".repeat(32)], closeQueue: undefined as never, settleQueue: undefined as never, waiter: undefined as never, closeWaitMs: 0 };
    const caller = { tenantId: (await quay.pool.query("select id from tenants where name = 'seller'")).rows[0].id, apiKeyId: "", budgeted: false, assertNetwork: () => {} };
    await expect(Channels.register(strict, caller, { address: other.channel, network: "stellar:testnet", commitmentKey: other.commitmentKey.publicKey() })).rejects.toMatchObject({
      status: 422,
      code: "unsupported_contract",
    });
    expect((await quay.pool.query("select count(*)::int as n from mpp_channels")).rows[0].n).toBe(1);
  });

  it("takes vouchers that verify and strictly increase, never above the deposit; keeps the highest with its signature", async () => {
    const voucher = (amount: bigint, extra: Record<string, unknown> = {}) =>
      quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: amount.toString(), signature: sign(amount), ...extra });

    expect((await voucher(UNIT, { challengeId: "c1", requested: UNIT.toString() })).body).toEqual({ success: true, cumulative: UNIT.toString() });
    expect((await voucher(UNIT)).body).toMatchObject({ success: false, error: { code: "invalid_payment", reason: "not_increasing" } });
    expect((await voucher(UNIT / 2n)).body).toMatchObject({ success: false, error: { reason: "not_increasing" } });
    expect((await voucher(2n * UNIT, { challengeId: "c1" })).body).toMatchObject({ success: false, error: { code: "already_used" } });
    expect((await voucher(2n * UNIT, { requested: (2n * UNIT).toString() })).body).toMatchObject({ success: false, error: { reason: "underpaid" } });
    const forged = await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: (3n * UNIT).toString(), signature: Keypair.random().sign(Buffer.from("x")).toString("hex") });
    expect(forged.body).toMatchObject({ success: false, error: { code: "invalid_payment", reason: "invalid_signature" } });
    expect((await voucher(6n * UNIT)).body).toMatchObject({ success: false, error: { code: "insufficient_funds" } });
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: "1.5", signature: sign(1n) })).status).toBe(400);

    // Concurrent vouchers: every one that is accepted raised the cumulative; the row holds the highest and its signature.
    const amounts = [2n, 3n, 4n].map((n) => n * UNIT);
    await Promise.all(amounts.map((a) => voucher(a)));
    const state = await quay.call("GET", `/mpp/channels/${o.channel}`);
    expect(state.body).toMatchObject({ cumulative: (4n * UNIT).toString(), signature: sign(4n * UNIT) });
  });

  it("isolates tenants: another key neither sees nor acts on the channel", async () => {
    const opts = { key: quay.otherApiKey };
    expect((await quay.call("GET", `/mpp/channels/${o.channel}`, undefined, opts)).status).toBe(404);
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: (5n * UNIT).toString(), signature: sign(5n * UNIT) }, opts)).status).toBe(404);
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/close`, {}, opts)).status).toBe(404);
    expect((await quay.call("PUT", `/mpp/channels/${o.channel}/policy`, { idleCloseSeconds: 1 }, opts)).status).toBe(404);
    expect((await quay.call("GET", `/mpp/channels/${o.channel}`)).body.cumulative).toBe((4n * UNIT).toString());
  });

  it("closes with the recipient's signed auth entry (CAP-71 V2, as SDK 17 signs): the recipient gets the highest voucher, the funder the rest, once", async () => {
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/close`, {})).body).toMatchObject({ error: "recipient_auth_required" });
    const latest = (await quay.t.server.getLatestLedger()).sequence;
    const authFor = async (amount: bigint) => {
      const invocation = Closes.invocation(o.channel, amount, sign(amount));
      const entry = await authorizeInvocation({ signer: o.recipient, validUntilLedgerSeq: latest + 500, invocation, networkPassphrase: quay.t.passphrase, authV2: true });
      expect(entry.credentials().switch().name).toBe("sorobanCredentialsAddressV2");
      return entry.toXDR("base64");
    };
    const stale = await quay.call("POST", `/mpp/channels/${o.channel}/close`, { recipientAuth: await authFor(3n * UNIT) });
    expect(stale).toMatchObject({ status: 409, body: { error: "stale_recipient_auth" } });

    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    const funderBefore = await usdcBalance(quay.t.server, o.funder.publicKey());
    const recipientAuth = await authFor(4n * UNIT);
    // Two asks at once: one close, and both answer once its transaction is final, with its hash.
    const [asked, again] = await Promise.all([0, 1].map(() => quay.call("POST", `/mpp/channels/${o.channel}/close`, { recipientAuth })));
    expect(asked).toMatchObject({ status: 200, body: { success: true, state: "closed", close: { trigger: "request", status: "succeeded", amount: (4n * UNIT).toString() } } });
    expect(again).toMatchObject({ status: 200, body: { txHash: asked!.body.txHash } });
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: (5n * UNIT).toString(), signature: sign(5n * UNIT) })).body).toMatchObject({
      success: false,
      error: { reason: "channel_closed" },
    });

    const done = await quay.call("GET", `/mpp/channels/${o.channel}`);
    expect(done.body.close).toMatchObject({ status: "succeeded", paid: (4n * UNIT).toString(), refunded: UNIT.toString() });
    expect(done.body.txHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + 4n * UNIT);
    expect(await usdcBalance(quay.t.server, o.funder.publicKey())).toBe(funderBefore + UNIT);
    expect((await quay.pool.query("select count(*)::int as n from submissions where kind = 'mpp_close' and payer = $1", [o.recipient.publicKey()])).rows[0].n).toBe(1);
  });

  it("closes a channel idle longer than its policy, with the key Quay holds", async () => {
    const idle = await openChannel(quay.t, 2n * UNIT, "api-idle");
    const registered = await quay.call("POST", "/mpp/channels", {
      address: idle.channel,
      network: "stellar:testnet",
      commitmentKey: idle.commitmentKey.publicKey(),
      recipientSecret: idle.recipient.secret(),
    });
    expect(registered.body.recipientKeyHeld).toBe(true);
    const amount = UNIT / 10n;
    expect((await quay.call("POST", `/mpp/channels/${idle.channel}/vouchers`, { amount: amount.toString(), signature: sign(amount, idle) })).body.success).toBe(true);
    expect((await quay.call("GET", `/mpp/channels/${idle.channel}`)).body.state).toBe("open");
    expect((await quay.call("PUT", `/mpp/channels/${idle.channel}/policy`, { idleCloseSeconds: 2 })).body.policy.idleCloseSeconds).toBe(2);
    const done = await eventually(() => quay.call("GET", `/mpp/channels/${idle.channel}`), (r) => r.body.state === "closed", 30_000, "idle close");
    expect(done.body.close).toMatchObject({ status: "succeeded", trigger: "idle", paid: amount.toString() });
    const sealed = await quay.pool.query("select recipient_secret_encrypted as s from mpp_channels where address = $1", [idle.channel]);
    expect(sealed.rows[0].s).toMatch(/^v1:/);
    expect(sealed.rows[0].s).not.toContain(idle.recipient.secret());
  });

  it("a close whose transaction is not final within the wait answers 202 close_pending; asked again once the worker runs, it answers with the hash", async () => {
    const late = await openChannel(quay.t, 2n * UNIT, "api-late");
    await quay.call("POST", "/mpp/channels", { address: late.channel, network: "stellar:testnet", commitmentKey: late.commitmentKey.publicKey(), recipientSecret: late.recipient.secret() });
    const amount = UNIT / 5n;
    expect((await quay.call("POST", `/mpp/channels/${late.channel}/vouchers`, { amount: amount.toString(), signature: sign(amount, late) })).body.success).toBe(true);
    await quay.stopWorker();
    try {
      const pending = await quay.call("POST", `/mpp/channels/${late.channel}/close`, {});
      expect(pending).toMatchObject({
        status: 202,
        body: { success: false, error: { code: "temporarily_unavailable", reason: "close_pending" }, state: "closing", close: { status: "submitting" } },
      });
      expect(pending.body.txHash).toBeUndefined();
    } finally {
      await quay.startWorker();
    }
    const closed = await quay.call("POST", `/mpp/channels/${late.channel}/close`, {});
    expect(closed).toMatchObject({ status: 200, body: { success: true, state: "closed", close: { status: "succeeded", paid: amount.toString() } } });
    expect((await quay.t.server.getTransaction(closed.body.txHash)).status).toBe("SUCCESS");
  });
});
