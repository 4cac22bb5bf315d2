import { performance } from "node:perf_hooks";
import { Networks, rpc, Transaction } from "@stellar/stellar-sdk";
import type { PreparedPayment } from "./payloads";
import { ProcStat } from "./processes";
import type { FacilitatorName, VerifyCost } from "./results";
import { Stats } from "./stats";

const WARMUP = 5;

/**
 * What a /verify costs the facilitator itself. One request at a time: each sample first simulates
 * the payment's transaction straight against the devnet (what the facilitator's own simulation
 * costs in time), then POSTs /verify. The facilitator's CPU is read from /proc around the samples:
 * the simulation runs in the devnet's process, so that CPU is the facilitator's own work alone.
 */
export async function measureVerifyCost(options: {
  readonly facilitator: FacilitatorName;
  readonly url: string;
  readonly apiKey?: string;
  readonly pid: number;
  readonly server: rpc.Server;
  readonly payment: PreparedPayment;
  readonly samples: number;
}): Promise<VerifyCost> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const tx = new Transaction(options.payment.transaction, Networks.TESTNET);
  const verifyOnce = async () => {
    const started = performance.now();
    const res = await fetch(`${options.url}/verify`, { method: "POST", headers, body: options.payment.json });
    const body = (await res.json()) as { isValid?: unknown };
    return { ms: performance.now() - started, valid: res.status === 200 && body.isValid === true };
  };
  for (let i = 0; i < WARMUP; i++) await verifyOnce();

  const verifyMs: number[] = [];
  const simulateMs: number[] = [];
  const addedMs: number[] = [];
  let valid = 0;
  let cpuSeconds = 0;
  for (let i = 0; i < options.samples; i++) {
    const simStarted = performance.now();
    await options.server.simulateTransaction(tx);
    const sim = performance.now() - simStarted;
    // CPU is read around the /verify alone, so the gap between samples does not count.
    const cpuBefore = ProcStat.cpuSeconds(options.pid) ?? 0;
    const verify = await verifyOnce();
    cpuSeconds += (ProcStat.cpuSeconds(options.pid) ?? 0) - cpuBefore;
    simulateMs.push(sim);
    verifyMs.push(verify.ms);
    addedMs.push(verify.ms - sim);
    if (verify.valid) valid++;
  }
  const cpuMsPerVerify = options.samples > 0 ? (cpuSeconds * 1000) / options.samples : null;
  const round = (p: ReturnType<typeof Stats.percentiles>) => ({
    count: p.count,
    p50: Stats.round(p.p50, 2),
    p95: Stats.round(p.p95, 2),
    p99: Stats.round(p.p99, 2),
    max: Stats.round(p.max, 2),
  });
  return {
    facilitator: options.facilitator,
    samples: options.samples,
    verifyMs: round(Stats.percentiles(verifyMs)),
    simulateMs: round(Stats.percentiles(simulateMs)),
    addedMs: round(Stats.percentiles(addedMs)),
    cpuMsPerVerify: Stats.round(cpuMsPerVerify, 2),
    verifiesPerSecondPerCore: cpuMsPerVerify ? Stats.round(1000 / cpuMsPerVerify, 0) : null,
    valid,
  };
}
