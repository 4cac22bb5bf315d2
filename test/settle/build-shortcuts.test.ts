import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowClientHttpRpc } from "@quay/cli/demo";
import { metricValue } from "../x402/fixtures";
import { startQuay, transfers, type QuayHarness } from "./harness";
import { attempts, eventually, newPayee, newPayment, payments, settle } from "./payments";

/**
 * What the worker skips on a payment's first build, and when it must not: verify's simulation
 * is reused while it is fresh, and a channel account's sequence is taken from its last use.
 */
describe("the first build reuses what /settle and the last payment already learned", () => {
  let quay: QuayHarness;
  let payTo: string;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ poolSize: 1 });
    payTo = await newPayee(quay);
  });
  afterAll(async () => {
    await quay?.stop();
    undo.forEach((u) => u());
  });

  const workerCalls = (method: string) =>
    metricValue(quay.worker!.metrics, "quay_rpc_call_duration_seconds", { network: "stellar:testnet", method, outcome: "ok" });
  const builds = (sequence: string, resources: string) =>
    metricValue(quay.worker!.metrics, "quay_settle_builds_total", { network: "stellar:testnet", sequence, resources });

  async function settleOne() {
    const { payer, body } = await newPayment(quay, payTo);
    const answer = await settle(quay, body);
    expect(answer.body).toMatchObject({ success: true });
    const row = (await payments(quay)).find((p) => p.payer === payer.publicKey())!;
    const moved = (await transfers(quay.t)).filter((t) => t.from === payer.publicKey());
    expect(moved.map((t) => t.txHash)).toEqual([answer.body.transaction]);
    return { row, tried: await attempts(quay, row.id) };
  }

  async function channelNextSequence(): Promise<bigint | null> {
    const { rows } = await quay.pool.query<{ next_sequence: string | null }>("select next_sequence::text from channel_accounts");
    return rows[0]!.next_sequence === null ? null : BigInt(rows[0]!.next_sequence);
  }

  async function ledgerSequence(): Promise<bigint> {
    return BigInt((await quay.t.server.getAccount(quay.channelAccounts[0]!)).sequenceNumber());
  }

  it("reuses verify's simulation, and after the account's first payment its sequence: no simulation, no account read", async () => {
    expect(await channelNextSequence()).toBeNull();
    const simulatedBefore = await workerCalls("simulateTransaction");
    const first = await settleOne();
    expect(await builds("read", "reused")).toBe(1);
    // What the account's next transaction takes is kept, and is what the ledger says.
    expect(await channelNextSequence()).toBe(BigInt(first.tried[0]!.sequence) + 1n);
    expect(await channelNextSequence()).toBe((await ledgerSequence()) + 1n);

    const readsBefore = await workerCalls("getLedgerEntries");
    const second = await settleOne();
    expect(await builds("known", "reused")).toBe(1);
    expect(BigInt(second.tried[0]!.sequence)).toBe(BigInt(first.tried[0]!.sequence) + 1n);
    expect(second.tried.map((a) => a.status)).toEqual(["succeeded"]);
    expect(await workerCalls("getLedgerEntries")).toBe(readsBefore);
    expect(await workerCalls("simulateTransaction")).toBe(simulatedBefore);
  });

  it("simulates again when verify's simulation is more than SETTLE_REUSE_SIMULATION_LEDGERS old", async () => {
    await quay.stopWorker();
    const { payer, body } = await newPayment(quay, payTo);
    const answer = settle(quay, body);
    const row = await eventually(async () => {
      const { rows } = await quay.pool.query<{ simulated_at_ledger: number | null }>(
        "select simulated_at_ledger from payments where payer = $1",
        [payer.publicKey()],
      );
      return rows[0];
    });
    expect(row.simulated_at_ledger).toBeGreaterThan(0);
    const limit = quay.config.settleReuseSimulationLedgers;
    await eventually(async () => (await quay.t.server.getLatestLedger()).sequence > row.simulated_at_ledger! + limit, 20_000, "the simulation to go stale");
    await quay.startWorker();
    expect((await answer).body).toMatchObject({ success: true });
    expect(await builds("known", "simulated")).toBe(1);
    expect(await builds("known", "reused")).toBe(0);
    expect(await workerCalls("simulateTransaction")).toBe(1);
  });
});
