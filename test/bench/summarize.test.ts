import { describe, expect, it } from "vitest";
import { difference, parseExposition, summarizeLevel, type LevelObservations } from "@quay/bench";

/** The benchmark's arithmetic: what it calls lost, double and sustained must mean what the report says. */

const payment = (amount: bigint) => ({ amount, payer: "GPAYER", payTo: "GPAYTO", transaction: "", json: "" });
const success = (amount: bigint, answeredAtMs = 1_000) =>
  ({ payment: payment(amount), sentAtMs: 0, answeredAtMs, latencyMs: answeredAtMs, kind: "success" }) as const;
const failed = (amount: bigint) => ({ payment: payment(amount), sentAtMs: 0, answeredAtMs: 10, latencyMs: 10, kind: "failed", reason: "x" }) as const;
const landing = (amount: bigint, ledger: number) => ({ amount, from: "GPAYER", txHash: `h${amount}`, ledger, closedAtMs: ledger * 1_000 });

function level(partial: Partial<LevelObservations>): LevelObservations {
  return {
    facilitator: "quay",
    offeredFraction: 1,
    offeredPerSecond: 10,
    durationSeconds: 10,
    warmupSeconds: 0,
    limitPerSecond: 10,
    ledgerSeconds: 1,
    outcomes: [],
    landings: [],
    usage: {},
    machineCpuBusy: 0.5,
    ...partial,
  };
}

describe("summarizeLevel", () => {
  it("counts a success the ledger never saw as lost, a failure that landed as paid-but-told-no, two landings as double", () => {
    const result = summarizeLevel(
      level({
        outcomes: [success(1n), success(2n), failed(3n), success(4n)],
        landings: [landing(1n, 10), landing(3n, 10), landing(4n, 11), landing(4n, 12)],
      }),
    );
    expect(result.chain).toMatchObject({ landed: 3, lost: 1, paidButNotSuccess: 1, double: 1 });
  });

  it("rates the ledger over the steady window: the partial first and last ledgers are left out", () => {
    // 10 per ledger is the limit; the load began mid-ledger (3) and the backlog ran out in the last (2).
    const amounts = [3, 10, 10, 10, 2].flatMap((count, i) => Array.from({ length: count }, (_, k) => ({ amount: BigInt(i * 100 + k + 1), ledger: 20 + i })));
    const result = summarizeLevel(
      level({ outcomes: amounts.map((a) => success(a.amount)), landings: amounts.map((a) => landing(a.amount, a.ledger)) }),
    );
    expect(result.ledgerFill).toEqual([3, 10, 10, 10, 2]);
    expect(result.chainSettledPerSecond).toBe(10);
    expect(result.chainSettledFractionOfLimit).toBe(1);
  });

  it("counts only settled payments on the ledger: a landing of a payment answered failed adds nothing", () => {
    const result = summarizeLevel(
      level({
        outcomes: [success(1n), failed(2n), success(3n), success(4n)],
        landings: [landing(1n, 1), landing(2n, 2), landing(3n, 2), landing(4n, 3)],
      }),
    );
    expect(result.ledgerFill).toEqual([1, 1, 1]);
    expect(result.chainSettledPerSecond).toBe(1);
  });
});

describe("Quay's metrics over a level", () => {
  const exposition = (simulate: number, getTransaction: number) => `
# HELP quay_settle_stage_duration_seconds x
quay_settle_stage_duration_seconds_bucket{le="0.1",network="stellar:testnet",stage="simulate"} 1
quay_settle_stage_duration_seconds_sum{network="stellar:testnet",stage="simulate"} ${simulate * 0.02}
quay_settle_stage_duration_seconds_count{network="stellar:testnet",stage="simulate"} ${simulate}
quay_rpc_call_duration_seconds_sum{network="stellar:testnet",method="getTransaction",outcome="ok"} ${getTransaction * 0.01}
quay_rpc_call_duration_seconds_count{network="stellar:testnet",method="getTransaction",outcome="ok"} ${getTransaction}
quay_rpc_call_duration_seconds_count{network="stellar:testnet",method="getTransaction",outcome="timeout"} 1
quay_rpc_call_duration_seconds_sum{network="stellar:testnet",method="getTransaction",outcome="timeout"} 10
`;

  it("reads stage and RPC series, and a level's share is the difference of two scrapes", () => {
    const before = parseExposition(exposition(2, 5), "worker");
    expect(before["stage:simulate"]).toEqual({ sum: 0.04, count: 2 });
    expect(before["rpc:worker/getTransaction"]).toEqual({ sum: 10.05, count: 6 });
    const level = difference(before, parseExposition(exposition(3, 9), "worker"));
    expect(level["stage:simulate"]!.count).toBe(1);
    expect(level["rpc:worker/getTransaction"]!.count).toBe(4);
  });
});
