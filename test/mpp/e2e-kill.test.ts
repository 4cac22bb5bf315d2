/**
 * The worker as a real process, killed with SIGKILL while a transaction of a close or of a TTL
 * bump is in flight (the devnet swallows it: accepted, never included), then started again: the
 * outcomes are those of an undisturbed run. One close lands, paying exactly the highest voucher;
 * the channel outlives several TTL periods.
 */
import { Account, Contract, Keypair, rpc, TransactionBuilder } from "@stellar/stellar-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Commitment } from "@quay/mpp";
import { getFaults, setFaults, usdcBalance } from "../devnet/helpers";
import { UNIT, openChannel } from "./method-helpers";
import type { WorkerProcess } from "../settle/harness";
import { eventually, startRelayer, type Relayer } from "./relayer-fixtures";

const running: WorkerProcess[] = [];
async function startWorkerProcess(quay: Relayer): Promise<WorkerProcess> {
  const child = await quay.spawnWorker();
  running.push(child);
  return child;
}
const kill = (child: WorkerProcess) => child.kill("SIGKILL");
afterEach(async () => {
  for (const child of running.splice(0)) await kill(child);
});

/** Arms the devnet to swallow the next sendTransaction, and waits until something was swallowed. */
async function swallowNextSend(quay: Relayer): Promise<() => Promise<void>> {
  await setFaults(quay.t.devnet, { swallow: { count: 1 } });
  return async () => {
    await eventually(() => getFaults(quay.t.devnet), (f) => f.swallow === null, 60_000, "a swallowed send");
  };
}

describe("killing the worker in the middle of a close", () => {
  let quay: Relayer;
  beforeAll(async () => {
    // No worker at first: the close request waits only briefly, then answers "pending".
    quay = await startRelayer({ withWorker: false, ledgerCloseMs: 200, env: { SETTLE_WAIT_SECONDS: "2" } });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("one close lands, paying exactly the highest voucher; the funder gets the rest", async () => {
    const deposit = 3n * UNIT;
    const o = await openChannel(quay.t, deposit, "kill-close", 50);
    await quay.call("POST", "/mpp/channels", { address: o.channel, network: "stellar:testnet", commitmentKey: o.commitmentKey.publicKey(), recipientSecret: o.recipient.secret() });
    for (const amount of [UNIT / 4n, UNIT / 2n, UNIT]) {
      const signature = Commitment.sign(o.commitmentKey, { channel: o.channel, amount, networkPassphrase: quay.t.passphrase });
      expect((await quay.call("POST", `/mpp/channels/${o.channel}/vouchers`, { amount: amount.toString(), signature })).body.success).toBe(true);
    }
    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    const funderBefore = await usdcBalance(quay.t.server, o.funder.publicKey());

    const swallowed = await swallowNextSend(quay);
    expect(await quay.call("POST", `/mpp/channels/${o.channel}/close`, {})).toMatchObject({ status: 202, body: { error: { reason: "close_pending" } } });
    const first = await startWorkerProcess(quay);
    await swallowed(); // the close transaction is on the wire, and will never land
    await kill(first);
    const { rows: inFlight } = await quay.pool.query("select c.status, a.status as attempt from mpp_closes c join submission_attempts a on a.submission_id = c.submission_id");
    expect(inFlight).toEqual([{ status: "submitting", attempt: expect.stringMatching(/^(built|sent)$/) }]);

    await startWorkerProcess(quay);
    const done = await eventually(() => quay.call("GET", `/mpp/channels/${o.channel}`), (r) => r.body.state === "closed", 60_000, "close after restart");
    expect(done.body.close).toMatchObject({ status: "succeeded", paid: UNIT.toString(), refunded: (deposit - UNIT).toString() });
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + UNIT);
    expect(await usdcBalance(quay.t.server, o.funder.publicKey())).toBe(funderBefore + deposit - UNIT);
    const closes = await quay.pool.query("select status from submissions where kind = 'mpp_close' and payer = $1", [o.recipient.publicKey()]);
    expect(closes.rows).toEqual([{ status: "succeeded" }]);
    const withdraws = await quay.t.server.getEvents({ startLedger: 1, filters: [{ type: "contract", contractIds: [o.channel] }] });
    expect(withdraws.events.filter((e) => e.topic[0]!.sym().toString() === "withdraw")).toHaveLength(1);
  });
});

describe("killing the worker in the middle of a TTL bump", () => {
  const TTL = 40;
  let quay: Relayer;
  beforeAll(async () => {
    quay = await startRelayer({
      withWorker: false,
      ledgerCloseMs: 100,
      minPersistentTtl: TTL,
      env: { MPP_TTL_THRESHOLD_LEDGERS: "30", MPP_TTL_EXTEND_TO: "60", MPP_TTL_SWEEP_SECONDS: "1" },
    });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("the channel outlives several TTL periods anyway", async () => {
    // The worker process is up (its event watcher has written a cursor) before the channel exists,
    // so its first extension comes within a TTL; the restart is in-process, quick for the same reason.
    const first = await startWorkerProcess(quay);
    await eventually(async () => (await quay.pool.query("select count(*)::int as n from mpp_event_cursors")).rows[0].n, (n) => n > 0, 30_000, "worker up");
    const o = await openChannel(quay.t, UNIT, "kill-ttl", 10);
    await quay.call("POST", "/mpp/channels", { address: o.channel, network: "stellar:testnet", commitmentKey: o.commitmentKey.publicKey() });
    // Nothing but the sweep sends from here on; its extension is due once 10 of the 40 ledgers are gone.
    const swallowed = await swallowNextSend(quay);
    const startLedger = (await quay.t.server.getLatestLedger()).sequence;
    await swallowed(); // the sweep's extension is on the wire, and will never land
    await kill(first);
    // The bump is recorded (its submission with it), and not done.
    expect((await quay.pool.query("select count(*)::int as n from mpp_ttl_bumps where tx_hash is not null")).rows[0].n).toBe(0);

    await quay.startWorker();
    await eventually(async () => (await quay.t.server.getLatestLedger()).sequence, (l) => l > startLedger + 3 * TTL, 60_000, "ledgers");
    const tx = new TransactionBuilder(new Account(Keypair.random().publicKey(), "0"), { fee: "100", networkPassphrase: quay.t.passphrase })
      .addOperation(new Contract(o.channel).call("balance"))
      .setTimeout(60)
      .build();
    expect(rpc.Api.isSimulationSuccess(await quay.t.server.simulateTransaction(tx))).toBe(true);
    expect((await quay.pool.query("select count(*)::int as n from mpp_ttl_bumps where kind = 'extend' and tx_hash is not null")).rows[0].n).toBeGreaterThanOrEqual(2);
  });
});
