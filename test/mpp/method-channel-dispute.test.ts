/**
 * stellar/channel in LOCAL mode against what the ledger says, on the devnet: after a partial
 * settle a voucher may reach `deposited` (the close pays amount − withdrawn out of the balance);
 * once the funder's close_start is effective, vouchers are refused; before that they are taken
 * and the dispute is reported. Also `getChannelState` against the real contract.
 */
import { nativeToScVal, Operation, xdr } from "@stellar/stellar-sdk";
import { Credential, Store } from "mppx";
import { Mppx as ExpressMppx } from "mppx/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Commitment, getChannelState, STELLAR_TESTNET, Stellar, type ChannelState } from "@quay/mpp";
import { startTestDevnet } from "../devnet/helpers";
import type { TestDevnet } from "../devnet/helpers";
import { challengeOf, listen, newApp, openChannel, refusal, send, UNIT } from "./method-helpers";
import type { Listening, OpenedChannel } from "./method-helpers";

const SECRET = "quay-mpp-channel-dispute-secret-key-0123456789";
const WAITING_PERIOD = 15;

describe("stellar/channel LOCAL mode follows the channel on the ledger", () => {
  let t: TestDevnet;
  let o: OpenedChannel;
  let http: Listening;
  const disputes: ChannelState[] = [];

  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 200 });
    o = await openChannel(t, UNIT, "method-channel-dispute", WAITING_PERIOD);
    const mppx = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [
        Stellar.server.channel({
          channel: o.channel,
          commitmentKey: o.commitmentKey.publicKey(),
          store: Store.memory(),
          network: STELLAR_TESTNET,
          rpcUrl: t.devnet.rpcUrl,
          onDisputeDetected: (state) => disputes.push(state),
        }),
      ],
    });
    const app = newApp();
    app.get("/stream", mppx.channel({ amount: "0.01" }), (_req, res) => res.json({ chunk: "ok" }));
    http = await listen(app);
  });
  afterAll(async () => {
    await http?.close();
    await t?.close();
  });

  const sign = (amount: bigint) => Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: t.passphrase });
  const voucher = async (amount: bigint) => {
    const credential = Credential.serialize({ challenge: await challengeOf(`${http.url}/stream`), payload: { action: "voucher", amount: amount.toString(), signature: sign(amount) } });
    return fetch(`${http.url}/stream`, { headers: { authorization: credential } });
  };

  it("after a partial settle, a voucher above the balance but within deposited − withdrawn is taken; above deposited it is refused", async () => {
    const half = UNIT / 2n;
    expect((await voucher(half)).status).toBe(200);
    // The recipient settles half: withdrawn 0.5, balance 0.5.
    await send(t, o.recipient, Operation.invokeContractFunction({ contract: o.channel, function: "settle", args: [nativeToScVal(half, { type: "i128" }), xdr.ScVal.scvBytes(Buffer.from(sign(half), "hex"))] }));
    const state = await getChannelState({ channel: o.channel, network: STELLAR_TESTNET, rpcUrl: t.devnet.rpcUrl });
    expect(state).toMatchObject({ balance: half, withdrawn: half, deposited: UNIT, from: o.funder.publicKey(), to: o.recipient.publicKey(), refundWaitingPeriod: WAITING_PERIOD, closeEffectiveAtLedger: null });
    expect(state.commitmentKey).toBe(o.commitmentKey.rawPublicKey().toString("hex"));

    // 0.6 is above the balance (0.5), but a close with it pays 0.6 − 0.5 = 0.1.
    expect((await voucher((6n * UNIT) / 10n)).status).toBe(200);
    expect(await refusal(await voucher(UNIT + 1n))).toMatchObject({ code: "insufficient_funds", reason: "exceeds_deposit" });
  });

  it("takes vouchers while the funder's close_start is pending (reporting the dispute), refuses them once it is effective", async () => {
    const started = await send(t, o.funder, Operation.invokeContractFunction({ contract: o.channel, function: "close_start", args: [] }));
    const effectiveAt = started.ledger + WAITING_PERIOD;
    expect((await voucher((61n * UNIT) / 100n)).status).toBe(200);
    expect(disputes.at(-1)).toMatchObject({ closeEffectiveAtLedger: effectiveAt });

    while ((await t.server.getLatestLedger()).sequence < effectiveAt) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await refusal(await voucher((62n * UNIT) / 100n))).toMatchObject({ status: 402, code: "invalid_payment", reason: "channel_closed" });
  });
});
