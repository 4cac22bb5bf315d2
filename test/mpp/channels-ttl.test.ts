/**
 * The TTL sweep on a devnet with short TTLs: a channel left open across several TTL periods stays
 * usable because Quay keeps extending its instance, code and balance entries; the same channel
 * with extension turned off (and no way for Quay to close it) is archived.
 */
import { Account, Contract, Keypair, rpc, TransactionBuilder } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChannelLedger } from "@quay/channels";
import { createMetrics } from "@quay/metrics";
import { Commitment } from "@quay/mpp";
import { StellarNetwork } from "@quay/stellar";
import { usdcBalance } from "../devnet/helpers";
import { UNIT, openChannel } from "./method-helpers";
import { eventually, startRelayer, type Relayer } from "./relayer-fixtures";

const TTL = 40; // ledgers a new persistent entry lives
const PERIODS = 4;

describe("TTL sweep", () => {
  let quay: Relayer;
  beforeAll(async () => {
    quay = await startRelayer({
      ledgerCloseMs: 100,
      minPersistentTtl: TTL,
      env: { MPP_TTL_THRESHOLD_LEDGERS: "25", MPP_TTL_EXTEND_TO: "60", MPP_TTL_SWEEP_SECONDS: "1" },
    });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  async function simulateBalance(channel: string): Promise<rpc.Api.SimulateTransactionResponse> {
    const tx = new TransactionBuilder(new Account(Keypair.random().publicKey(), "0"), { fee: "100", networkPassphrase: quay.t.passphrase })
      .addOperation(new Contract(channel).call("balance"))
      .setTimeout(60)
      .build();
    return quay.t.server.simulateTransaction(tx);
  }

  it(`keeps a channel alive across ${PERIODS} TTL periods; without extension the same kind of channel is archived`, async () => {
    const kept = await openChannel(quay.t, 2n * UNIT, "ttl-kept", 10);
    const left = await openChannel(quay.t, 2n * UNIT, "ttl-left", 10);
    const registered = (o: typeof kept, extra: Record<string, unknown>) =>
      quay.call("POST", "/mpp/channels", { address: o.channel, network: "stellar:testnet", commitmentKey: o.commitmentKey.publicKey(), ...extra });
    expect((await registered(kept, { recipientSecret: kept.recipient.secret() })).status).toBe(201);
    expect((await registered(left, { policy: { ttlExtendTo: 0 } })).status).toBe(201);

    const network = new StellarNetwork(quay.config.networks[0]!, createMetrics({ defaultMetrics: false }));
    const startLedger = (await quay.t.server.getLatestLedger()).sequence;
    await eventually(async () => (await quay.t.server.getLatestLedger()).sequence, (l) => l > startLedger + PERIODS * TTL, 60_000, "ledgers");

    // Archived: the instance entry of the channel left alone outlived its TTL.
    const leftEntries = await ChannelLedger.entries(network, { address: left.channel, wasmHash: (await ChannelLedger.read(network, left.channel)).wasmHash, token: (await ChannelLedger.read(network, left.channel)).token });
    const leftInstance = leftEntries.entries.find((e) => e.kind === "instance")!;
    expect(leftInstance.liveUntilLedger!).toBeLessThan(leftEntries.latestLedger);
    // Protocol 23 automatic restore: the simulation succeeds, no restorePreamble, the archived entries marked for restore.
    const leftSim = await simulateBalance(left.channel);
    expect(rpc.Api.isSimulationSuccess(leftSim) && !rpc.Api.isSimulationRestore(leftSim) && leftSim.transactionData.build().ext().switch()).toBe(1);

    // Kept: every entry still live, bumped again and again by Quay's pool.
    const keptState = await ChannelLedger.read(network, kept.channel);
    const keptEntries = await ChannelLedger.entries(network, { address: kept.channel, wasmHash: keptState.wasmHash, token: keptState.token });
    for (const entry of keptEntries.entries) expect(entry.liveUntilLedger!).toBeGreaterThanOrEqual(keptEntries.latestLedger);
    expect(rpc.Api.isSimulationSuccess(await simulateBalance(kept.channel))).toBe(true);
    const bumps = await quay.pool.query(
      "select kind, count(*)::int as n from mpp_ttl_bumps b join mpp_channels c on c.id = b.channel_id where c.address = $1 group by kind",
      [kept.channel],
    );
    expect(bumps.rows).toEqual([{ kind: "extend", n: expect.any(Number) }]);
    expect(bumps.rows[0].n).toBeGreaterThanOrEqual(PERIODS - 1);
    expect((await quay.call("GET", `/mpp/channels/${kept.channel}`)).body.liveUntilLedger).toBeGreaterThan(startLedger + PERIODS * TTL);

    // And it is still usable: a voucher, then Quay's close pays the recipient.
    const amount = UNIT / 2n;
    const signature = Commitment.sign(kept.commitmentKey, { channel: kept.channel, amount, networkPassphrase: quay.t.passphrase });
    expect((await quay.call("POST", `/mpp/channels/${kept.channel}/vouchers`, { amount: amount.toString(), signature })).body.success).toBe(true);
    const before = await usdcBalance(quay.t.server, kept.recipient.publicKey());
    await quay.call("POST", `/mpp/channels/${kept.channel}/close`, {});
    const done = await eventually(() => quay.call("GET", `/mpp/channels/${kept.channel}`), (r) => r.body.state === "closed", 30_000, "close");
    expect(done.body.close).toMatchObject({ status: "succeeded", paid: amount.toString() });
    expect(await usdcBalance(quay.t.server, kept.recipient.publicKey())).toBe(before + amount);

    // Turning extension on for the archived channel: the sweep restores its entries first, then extends them.
    expect((await quay.call("PUT", `/mpp/channels/${left.channel}/policy`, { ttlExtendTo: 60 })).body.policy.ttlExtendTo).toBe(60);
    // Restored: the simulation no longer needs to mark anything for restore.
    await eventually(
      async () => {
        const sim = await simulateBalance(left.channel);
        return rpc.Api.isSimulationSuccess(sim) && sim.transactionData.build().ext().switch() === 0;
      },
      (ok) => ok,
      20_000,
      "restore",
    );
    const kinds = async () =>
      (await quay.pool.query("select kind from mpp_ttl_bumps b join mpp_channels c on c.id = b.channel_id where c.address = $1 order by b.created_at", [left.channel])).rows.map(
        (r) => r.kind,
      );
    expect((await eventually(kinds, (k) => k.length >= 2, 30_000, "bumps")).slice(0, 2)).toEqual(["restore", "extend"]);
  });

  it("closes a channel whose TTL runs low while extension is off for it, with the highest voucher, before it is archived", async () => {
    const o = await openChannel(quay.t, 2n * UNIT, "ttl-close", 10);
    const res = await quay.call("POST", "/mpp/channels", {
      address: o.channel,
      network: "stellar:testnet",
      commitmentKey: o.commitmentKey.publicKey(),
      recipientSecret: o.recipient.secret(),
      policy: { ttlExtendTo: 0 },
    });
    expect(res.status).toBe(201);
    const amount = UNIT / 5n;
    const signature = Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: quay.t.passphrase });
    expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: amount.toString(), signature })).body.success).toBe(true);
    const done = await eventually(() => quay.call("GET", `/mpp/channels/${o.channel}`), (r) => r.body.state === "closed", 30_000, "ttl close");
    expect(done.body.close).toMatchObject({ status: "succeeded", trigger: "ttl", paid: amount.toString(), refunded: (2n * UNIT - amount).toString() });
    expect((await quay.pool.query("select count(*)::int as n from mpp_ttl_bumps b join mpp_channels c on c.id = b.channel_id where c.address = $1", [o.channel])).rows[0].n).toBe(0);
  });
});
