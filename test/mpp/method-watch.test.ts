/**
 * `watchChannel` against the real one-way channel contract on the devnet: its `open`, `withdraw`,
 * `close` and `refund` events (one topic, map data) come through with their amounts and the close's
 * effective ledger, in order; and the clients' `onProgress` events.
 */
import { Keypair, nativeToScVal, Operation, xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Commitment, STELLAR_TESTNET, Stellar, watchChannel, type ChannelEvent } from "@quay/mpp";
import type { ChannelProgressEvent } from "../../libs/mpp/src/client/channel";
import type { ChargeProgressEvent } from "../../libs/mpp/src/client/charge";
import { fundedKeypair, startTestDevnet, USDC } from "../devnet/helpers";
import type { TestDevnet } from "../devnet/helpers";
import { openChannel, send, UNIT } from "./method-helpers";
import { eventually } from "./relayer-fixtures";

describe("watchChannel and onProgress on the devnet", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 200 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("follows the contract's real events: open, withdraw (settle), close (close_start, ahead), withdraw + close + refund (the recipient's close)", async () => {
    const deposit = UNIT;
    const o = await openChannel(t, deposit, "watch-1", 30);
    const events: ChannelEvent[] = [];
    const errors: unknown[] = [];
    const stop = watchChannel({ channel: o.channel, network: STELLAR_TESTNET, rpcUrl: t.devnet.rpcUrl, startLedger: o.openedLedger, intervalMs: 200, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) });
    try {
      const sign = (amount: bigint) => xdr.ScVal.scvBytes(Buffer.from(Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: t.passphrase }), "hex"));
      const settled = (3n * UNIT) / 10n;
      const final = UNIT / 2n;
      await send(t, o.recipient, Operation.invokeContractFunction({ contract: o.channel, function: "settle", args: [nativeToScVal(settled, { type: "i128" }), sign(settled)] }));
      const started = await send(t, o.funder, Operation.invokeContractFunction({ contract: o.channel, function: "close_start", args: [] }));
      const closed = await send(t, o.recipient, Operation.invokeContractFunction({ contract: o.channel, function: "close", args: [nativeToScVal(final, { type: "i128" }), sign(final)] }));

      await eventually(async () => events.length, (n) => n >= 6, 30_000, "six events");
      expect(events.map((e) => e.type)).toEqual(["open", "withdraw", "close", "withdraw", "close", "refund"]);
      const [open, withdraw, closeStart, payout, close, refund] = events as [ChannelEvent, ChannelEvent, ChannelEvent, ChannelEvent, ChannelEvent, ChannelEvent];
      expect(open.data).toMatchObject({ amount: deposit, from: o.funder.publicKey(), to: o.recipient.publicKey(), token: USDC.contractId(t.passphrase), refund_waiting_period: 30 });
      expect(withdraw.data).toMatchObject({ amount: settled, to: o.recipient.publicKey() });
      expect(closeStart).toMatchObject({ ledger: started.ledger, data: { effectiveAtLedger: started.ledger + 30 } });
      expect(payout.data.amount).toBe(final - settled);
      expect(close).toMatchObject({ ledger: closed.ledger, txHash: closed.txHash, data: { effectiveAtLedger: closed.ledger } });
      expect(refund.data).toMatchObject({ amount: deposit - final, from: o.funder.publicKey() });
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  });

  it("onProgress: the channel client reports challenge, signing, signed; the charge client challenge, signed", async () => {
    const channelEvents: ChannelProgressEvent[] = [];
    const channel = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC";
    const voucher = Stellar.client.channel({ commitmentKeypair: Keypair.random(), channel, onProgress: (e) => channelEvents.push(e) });
    const challenge = { id: "x", realm: "r", method: "stellar" as const, intent: "channel" as const, request: { amount: "5", channel, methodDetails: { network: STELLAR_TESTNET, cumulativeAmount: "10" } } };
    await voucher.createCredential({ challenge, context: {} });
    expect(channelEvents).toEqual([
      { type: "challenge", channel, amount: "5" },
      { type: "signing", channel, cumulativeAmount: "15" },
      { type: "signed", channel, cumulativeAmount: "15", action: "voucher" },
    ]);

    const payer = await fundedKeypair(t.devnet, { usdc: UNIT });
    const recipient = await fundedKeypair(t.devnet, { usdc: 1n });
    const chargeEvents: ChargeProgressEvent[] = [];
    const charge = Stellar.client.charge({ keypair: payer, rpcUrl: t.devnet.rpcUrl, onProgress: (e) => chargeEvents.push(e) });
    const currency = USDC.contractId(t.passphrase);
    await charge.createCredential({
      challenge: {
        id: "y",
        realm: "r",
        method: "stellar",
        intent: "charge",
        expires: new Date(Date.now() + 60_000).toISOString(),
        request: { amount: "100", currency, recipient: recipient.publicKey(), methodDetails: { network: STELLAR_TESTNET, feePayer: true, credentialTypes: ["transaction"] } },
      },
      context: {},
    });
    expect(chargeEvents).toEqual([{ type: "challenge", amount: "100", currency, recipient: recipient.publicKey() }, { type: "signed", mode: "pull" }]);
  });
});
