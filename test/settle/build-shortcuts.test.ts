import { describe, expect, it } from "vitest";
import { metricValue } from "../x402/fixtures";
import { transfers } from "./harness";
import { attempts, eventually, newPayment, payments, settle, settlementSuite } from "./payments";

/**
 * What the worker skips on a payment's first build, and when it must not: verify's simulation
 * is reused while it is fresh, and a channel account's sequence is taken from its last use.
 */
describe("the first build reuses what /settle and the last payment already learned", () => {
  const suite = settlementSuite({ poolSize: 1 });

  const workerCalls = (method: string) =>
    metricValue(suite.quay.worker!.metrics, "quay_rpc_call_duration_seconds", { network: "stellar:testnet", method, outcome: "ok" });
  const builds = (sequence: string, resources: string) =>
    metricValue(suite.quay.worker!.metrics, "quay_settle_builds_total", { network: "stellar:testnet", sequence, resources });

  async function settleOne() {
    const { payer, body } = await newPayment(suite.quay, suite.payTo);
    const answer = await settle(suite.quay, body);
    expect(answer.body).toMatchObject({ success: true });
    const row = (await payments(suite.quay)).find((p) => p.payer === payer.publicKey())!;
    const moved = (await transfers(suite.quay.t)).filter((t) => t.from === payer.publicKey());
    expect(moved.map((t) => t.txHash)).toEqual([answer.body.transaction]);
    return { row, tried: await attempts(suite.quay, row.id) };
  }

  async function channelNextSequence(): Promise<bigint | null> {
    const { rows } = await suite.quay.pool.query<{ next_sequence: string | null }>("select next_sequence::text from channel_accounts");
    return rows[0]!.next_sequence === null ? null : BigInt(rows[0]!.next_sequence);
  }

  async function ledgerSequence(): Promise<bigint> {
    return BigInt((await suite.quay.t.server.getAccount(suite.quay.channelAccounts[0]!)).sequenceNumber());
  }

  it("reuses verify's simulation, and after the account's first payment its sequence: no simulation, no account read, one lookup", async () => {
    expect(await channelNextSequence()).toBeNull();
    const simulatedBefore = await workerCalls("simulateTransaction");
    const first = await settleOne();
    expect(await builds("read", "reused")).toBe(1);
    // What the account's next transaction takes is kept, and is what the ledger says.
    expect(await channelNextSequence()).toBe(BigInt(first.tried[0]!.sequence) + 1n);
    expect(await channelNextSequence()).toBe((await ledgerSequence()) + 1n);

    const readsBefore = await workerCalls("getLedgerEntries");
    const lookupsBefore = await workerCalls("getTransaction");
    const second = await settleOne();
    // Its outcome is asked for once, after the first ledger that closed since it was sent.
    expect(await workerCalls("getTransaction")).toBe(lookupsBefore + 1);
    expect(await builds("known", "reused")).toBe(1);
    expect(BigInt(second.tried[0]!.sequence)).toBe(BigInt(first.tried[0]!.sequence) + 1n);
    expect(second.tried.map((a) => a.status)).toEqual(["succeeded"]);
    expect(await workerCalls("getLedgerEntries")).toBe(readsBefore);
    expect(await workerCalls("simulateTransaction")).toBe(simulatedBefore);
  });

  it("simulates again when verify's simulation is more than SETTLE_REUSE_SIMULATION_LEDGERS old", async () => {
    await suite.quay.stopWorker();
    const { payer, body } = await newPayment(suite.quay, suite.payTo);
    const answer = settle(suite.quay, body);
    const row = await eventually(async () => {
      const { rows } = await suite.quay.pool.query<{ simulated_at_ledger: number | null }>(
        "select simulated_at_ledger from submissions where payer = $1",
        [payer.publicKey()],
      );
      return rows[0];
    });
    expect(row.simulated_at_ledger).toBeGreaterThan(0);
    const limit = suite.quay.config.settleReuseSimulationLedgers;
    await eventually(async () => (await suite.quay.t.server.getLatestLedger()).sequence > row.simulated_at_ledger! + limit, 30_000, "the simulation to go stale");
    await suite.quay.startWorker();
    expect((await answer).body).toMatchObject({ success: true });
    expect(await builds("known", "simulated")).toBe(1);
    expect(await builds("known", "reused")).toBe(0);
    expect(await workerCalls("simulateTransaction")).toBe(1);
  });
});
