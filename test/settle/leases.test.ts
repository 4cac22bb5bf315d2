import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowClientHttpRpc } from "@quay/demo";
import { ChannelLeases, type LeasedAccount } from "@quay/pool";
import { startQuay, transfers, type QuayHarness } from "./harness";
import { attempts, newPayee, newPayment, payments, settle } from "./payments";

/**
 * A channel account is used by one holder at a time, across processes, and a holder that dies
 * without releasing it loses it when its lease runs out.
 */
describe("channel account leases", () => {
  let quay: QuayHarness;
  const undo: Array<() => void> = [];
  const NETWORK = "stellar:testnet";

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ withWorker: false, poolSize: 2 });
  });
  afterAll(async () => {
    await quay?.stop();
    undo.forEach((u) => u());
  });

  it("a lease renewed by a live holder outlasts its term; one never released is free again once it expires", async () => {
    const leaseMs = 600;
    const holder = new ChannelLeases(quay.db, quay.config.masterKey!, { leaseMs });
    const other = new ChannelLeases(quay.db, quay.config.masterKey!, { leaseMs, waitMs: 100 });
    const held = [await holder.tryAcquire(NETWORK), await holder.tryAcquire(NETWORK)] as LeasedAccount[];
    expect(held.map((l) => l?.publicKey).sort()).toEqual([...quay.channelAccounts].sort());

    // Alive and renewing: nobody else gets an account, well past one lease term.
    await new Promise((resolve) => setTimeout(resolve, leaseMs * 2.5));
    expect(await other.tryAcquire(NETWORK)).toBeUndefined();
    await expect(other.acquire(NETWORK)).rejects.toThrow(/no free channel account/);

    // The holder dies: it stops renewing and never releases.
    holder.abandonAll();
    expect(await other.tryAcquire(NETWORK)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 200));
    const taken = [await other.tryAcquire(NETWORK), await other.tryAcquire(NETWORK)];
    expect(taken.map((l) => l?.publicKey).sort()).toEqual([...quay.channelAccounts].sort());
    // The dead holder's late release cannot free what is now someone else's.
    for (const lease of held) await holder.release(lease);
    expect(await other.counts(NETWORK)).toEqual({ free: 0, leased: 2, disabled: 0 });
    for (const lease of taken) await other.release(lease!);
    other.abandonAll();
    expect(await other.counts(NETWORK)).toEqual({ free: 2, leased: 0, disabled: 0 });
  });

  it("a waiter for a busy pool takes the account released to it, with what its last holder knew of its sequence", async () => {
    const leases = new ChannelLeases(quay.db, quay.config.masterKey!, { waitMs: 10_000 });
    const held = [await leases.acquire(NETWORK), await leases.acquire(NETWORK)];
    expect(leases.holds(held[0]!)).toBe(true);
    const waiting = leases.acquire(NETWORK);
    await new Promise((resolve) => setTimeout(resolve, 50));

    await leases.release(held[0]!, { nextSequence: 42n });
    expect(leases.holds(held[0]!)).toBe(false);
    const taken = await waiting;
    expect(taken.publicKey).toBe(held[0]!.publicKey);
    expect(taken.nextSequence).toBe(42n);

    await leases.release(held[1]!);
    await leases.release(taken);
    expect((await leases.acquire(NETWORK)).nextSequence).toBeNull(); // released without one: read it from the ledger
    leases.abandonAll();
    await quay.pool.query("update channel_accounts set lease_owner = null, lease_expires_at = null");
  });

  it("two worker processes sharing a pool of 2 never have two transactions in flight on one account", async () => {
    // A child process and this one: two processes, each with its own leases and BullMQ worker.
    const [child] = await Promise.all([quay.spawnWorker(), quay.startWorker()]);
    const payTo = await newPayee(quay);
    const bodies = [];
    for (let i = 0; i < 12; i++) bodies.push((await newPayment(quay, payTo)).body);
    const answers = await Promise.all(bodies.map((body) => settle(quay, body)));
    expect(answers.map((a) => a.body.success), JSON.stringify(answers.map((a) => a.body))).toEqual(Array(12).fill(true));

    expect((await payments(quay)).map((p) => p.status)).toEqual(Array(12).fill("succeeded"));
    expect((await transfers(quay.t)).filter((t) => t.to === payTo)).toHaveLength(12);
    const tried = await attempts(quay);
    expect(new Set(tried.map((a) => a.channel_account))).toEqual(new Set(quay.channelAccounts));
    // The devnet refuses a second pending transaction from one account (TRY_AGAIN_LATER) and a
    // reused sequence (txBadSeq): had two ever been in flight on an account, a refused attempt
    // would be on record. Each account's attempts took its sequence numbers in order.
    expect(tried.map((a) => a.status)).toEqual(Array(12).fill("succeeded"));
    for (const account of quay.channelAccounts) {
      const sequences = tried.filter((a) => a.channel_account === account).map((a) => BigInt(a.sequence));
      for (let i = 1; i < sequences.length; i++) expect(sequences[i]! > sequences[i - 1]!).toBe(true);
    }
    await child.kill("SIGTERM");
  });
});
