import { Operation } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Commitment } from "@quay/mpp";
import { usdcBalance } from "../devnet/helpers";
import { openChannel, send, UNIT } from "./method-helpers";
import { eventually, startRelayer, type Relayer } from "./relayer-fixtures";

/**
 * The channel watcher follows getEvents from a cursor in Postgres. Down longer than the RPC keeps
 * history, its cursor is refused (-32600): it must still answer a funder's close_start made while
 * it was away, from the ledger's own state, before the refund opens.
 */
describe("the channel watcher back after the RPC's history moved past its cursor", () => {
  let quay: Relayer;
  beforeAll(async () => {
    // 200 ms ledgers; the RPC keeps 25 of them (5 s).
    quay = await startRelayer({ ledgerCloseMs: 200, retentionLedgers: 25 });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("closes, with the highest voucher, a channel whose funder called close_start while the worker was away", async () => {
    const o = await openChannel(quay.t, 3n * UNIT, "watcher-retention", 150);
    const registered = await quay.call("POST", "/mpp/channels", {
      address: o.channel,
      network: "stellar:testnet",
      commitmentKey: o.commitmentKey.publicKey(),
      recipientSecret: o.recipient.secret(),
    });
    expect(registered.status).toBe(201);
    const amount = 2n * UNIT;
    const signature = Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: quay.t.passphrase });
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: amount.toString(), signature })).body).toMatchObject({ success: true });
    // The watcher has a cursor.
    await eventually(async () => (await quay.pool.query("select cursor from mpp_event_cursors")).rows[0]?.cursor, (c) => !!c, 30_000, "a cursor");

    await quay.stopWorker();
    const started = await send(quay.t, o.funder, Operation.invokeContractFunction({ contract: o.channel, function: "close_start", args: [] }));
    const effectiveAt = started.ledger + 150;
    // Away for 40 ledgers: the close_start event, and the cursor, are out of the RPC's history.
    const away = started.ledger + 40;
    while ((await quay.t.server.getLatestLedger()).sequence < away) await new Promise((resolve) => setTimeout(resolve, 200));

    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    await quay.startWorker();
    const done = await eventually(() => quay.call("GET", `/mpp/channels/${o.channel}`), (r) => r.body.state === "closed", 30_000, "the dispute close");
    expect(done.body.close).toMatchObject({ status: "succeeded", trigger: "dispute", paid: amount.toString() });
    const { rows } = await quay.pool.query("select ledger from mpp_closes where tx_hash = $1", [done.body.txHash]);
    expect(rows[0].ledger).toBeLessThan(effectiveAt);
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + amount);
  });
});
