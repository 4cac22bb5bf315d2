import type { Landing, QuayRecord, QuayTimings } from "./audit";
import type { Outcome } from "./load";
import type { ConfigurationResult, FacilitatorName, LevelResult, ProcessUsage, TargetCheck } from "./results";
import type { Snapshot } from "./scrape";
import { Stats } from "./stats";

/** Turns what a level observed into its result row, and a configuration's rows into its verdicts. Pure. */

export interface LevelObservations {
  readonly facilitator: FacilitatorName;
  readonly offeredFraction: number;
  readonly offeredPerSecond: number;
  readonly durationSeconds: number;
  /** Successful answers before this (ms after the level's start) are not counted in the steady rate. */
  readonly warmupSeconds: number;
  readonly limitPerSecond: number;
  /** The configuration's nominal ledger time. */
  readonly ledgerSeconds: number;
  readonly outcomes: readonly Outcome[];
  readonly landings: readonly Landing[];
  /** Quay's rows for the level's payments; absent for the peer. */
  readonly quay?: readonly QuayRecord[];
  readonly quayTimings?: QuayTimings;
  /** Quay's /metrics over the level (stages and RPC calls). */
  readonly quayMetrics?: Snapshot;
  readonly usage: Readonly<Record<string, { rssBytes: readonly number[]; cpuSeconds: number | null }>>;
  /** Share of the machine's CPU (all cores) busy while the level ran, from its first call to its last answer. */
  readonly machineCpuBusy: number | null;
}

const MiB = 1024 * 1024;
/** Attempts the RPC accepted: the transactions that went out to the network. */
const SUBMITTED = new Set(["sent", "succeeded", "failed"]);

export function summarizeLevel(o: LevelObservations): LevelResult {
  const landingsByAmount = new Map<bigint, number>();
  for (const landing of o.landings) landingsByAmount.set(landing.amount, (landingsByAmount.get(landing.amount) ?? 0) + 1);
  const quayByAmount = new Map((o.quay ?? []).map((r) => [r.amount, r]));

  let lost = 0;
  let paidButNotSuccess = 0;
  for (const outcome of o.outcomes) {
    const landed = (landingsByAmount.get(outcome.payment.amount) ?? 0) > 0;
    if (outcome.kind === "success") {
      if (!landed) lost++;
      continue;
    }
    if (outcome.kind === "failed") {
      if (landed) paidButNotSuccess++;
      continue;
    }
    // Pending or unanswered: Quay's record may still have told the caller (a retried /settle answers it).
    const record = quayByAmount.get(outcome.payment.amount);
    if (landed) {
      if (record?.status !== "succeeded") paidButNotSuccess++;
    } else if (record?.status !== "failed") {
      lost++;
    }
  }

  const chain = chainRate(o, landingsByAmount, quayByAmount);
  const steadyWindow = o.durationSeconds - o.warmupSeconds;
  const steadySuccesses = o.outcomes.filter(
    (x) => x.kind === "success" && x.answeredAtMs >= o.warmupSeconds * 1000 && x.answeredAtMs <= o.durationSeconds * 1000,
  ).length;
  const settledPerSecond = steadyWindow > 0 ? steadySuccesses / steadyWindow : 0;

  const processes: Record<string, ProcessUsage> = {};
  for (const [name, usage] of Object.entries(o.usage)) {
    const peak = usage.rssBytes.length ? Math.max(...usage.rssBytes) : null;
    const mean = Stats.mean(usage.rssBytes);
    processes[name] = {
      peakRssMiB: Stats.round(peak === null ? null : peak / MiB, 1),
      meanRssMiB: Stats.round(mean === null ? null : mean / MiB, 1),
      cpuSeconds: Stats.round(usage.cpuSeconds, 2),
    };
  }

  const count = (kind: Outcome["kind"]) => o.outcomes.filter((x) => x.kind === kind).length;
  const answered = o.outcomes.filter((x) => x.kind !== "none");
  return {
    facilitator: o.facilitator,
    offeredFraction: o.offeredFraction,
    offeredPerSecond: Stats.round(o.offeredPerSecond, 3)!,
    durationSeconds: o.durationSeconds,
    sent: o.outcomes.length,
    answers: { success: count("success"), failed: count("failed"), pending: count("pending"), none: count("none") },
    settledPerSecond: Stats.round(settledPerSecond, 3)!,
    settledFractionOfLimit: Stats.round(settledPerSecond / o.limitPerSecond, 3)!,
    chainSettledPerSecond: Stats.round(chain.perSecond, 3),
    chainSettledFractionOfLimit: chain.perSecond === null ? null : Stats.round(chain.perSecond / o.limitPerSecond, 3),
    observedLedgerSeconds: Stats.round(chain.ledgerSeconds, 2),
    ledgerFill: chain.fill,
    latencyMs: roundPercentiles(Stats.percentiles(answered.map((x) => x.latencyMs))),
    successLatencyMs: roundPercentiles(Stats.percentiles(o.outcomes.filter((x) => x.kind === "success").map((x) => x.latencyMs))),
    errors: Stats.tally(o.outcomes.filter((x) => x.kind !== "success").map((x) => x.reason ?? "unspecified")),
    chain: {
      landed: o.outcomes.filter((x) => (landingsByAmount.get(x.payment.amount) ?? 0) > 0).length,
      double: [...landingsByAmount.values()].filter((n) => n > 1).length,
      lost,
      paidButNotSuccess,
      landingsPerPayment: Stats.tally(o.outcomes.map((x) => String(landingsByAmount.get(x.payment.amount) ?? 0))),
    },
    ...(o.quay
      ? {
          quayRecords: {
            submissionsPerPayment: Stats.tally(o.quay.map((r) => String(r.attemptStatuses.filter((s) => SUBMITTED.has(s)).length))),
            attemptStatuses: Stats.tally(o.quay.flatMap((r) => r.attemptStatuses)),
            paymentStatuses: Stats.tally(o.quay.map((r) => r.status)),
            waitMs: roundPercentiles(Stats.percentiles(o.quayTimings?.waitMs ?? [])),
            attemptMs: roundPercentiles(Stats.percentiles(o.quayTimings?.attemptMs ?? [])),
            channelIdleMs: roundPercentiles(Stats.percentiles(o.quayTimings?.channelIdleMs ?? [])),
            metrics: Object.fromEntries(
              Object.entries(o.quayMetrics ?? {}).map(([key, v]) => [key, { count: v.count, meanMs: Stats.round((v.sum / v.count) * 1000, 1)! }]),
            ),
          },
        }
      : {}),
    processes,
    machineCpuBusy: Stats.round(o.machineCpuBusy, 3),
  };
}

/** Settled payments (answered success, or recorded succeeded by Quay) per second of ledger time, and per ledger. */
function chainRate(
  o: LevelObservations,
  landingsByAmount: ReadonlyMap<bigint, number>,
  quayByAmount: ReadonlyMap<bigint, QuayRecord>,
): { perSecond: number | null; ledgerSeconds: number | null; fill: number[] } {
  const settled = new Set(
    o.outcomes
      .filter((x) => x.kind === "success" || (x.kind !== "failed" && quayByAmount.get(x.payment.amount)?.status === "succeeded"))
      .filter((x) => (landingsByAmount.get(x.payment.amount) ?? 0) > 0)
      .map((x) => x.payment.amount),
  );
  const firstLanding = new Map<bigint, { ledger: number; closedAtMs: number }>();
  for (const landing of o.landings) {
    if (!settled.has(landing.amount)) continue;
    const seen = firstLanding.get(landing.amount);
    if (!seen || landing.ledger < seen.ledger) firstLanding.set(landing.amount, landing);
  }
  const landings = [...firstLanding.values()].sort((a, b) => a.ledger - b.ledger);
  const first = landings[0];
  const last = landings[landings.length - 1];
  if (!first || !last) return { perSecond: null, ledgerSeconds: null, fill: [] };
  const fill = Array.from({ length: last.ledger - first.ledger + 1 }, () => 0);
  for (const l of landings) fill[l.ledger - first.ledger]!++;
  if (last.ledger === first.ledger) return { perSecond: null, ledgerSeconds: null, fill };
  // The steady window: the first ledger held what arrived before it began, the last what was left
  // when the backlog ran out; both are partial by construction, so only the ledgers between count.
  // With nothing between them, the first is left out and the last kept.
  const steady = fill.length >= 3 ? fill.slice(1, -1) : fill.slice(1);
  const settledInWindow = steady.reduce((sum, n) => sum + n, 0);
  // Per ledger, as the limit is stated (N per ledger), at the nominal ledger time; the close times
  // the RPC gives are whole seconds, too coarse for a rate, but they show a devnet running late.
  const observed = (last.closedAtMs - first.closedAtMs) / 1000 / (last.ledger - first.ledger);
  return { perSecond: settledInWindow / (steady.length * o.ledgerSeconds), ledgerSeconds: observed, fill };
}

function roundPercentiles(p: ReturnType<typeof Stats.percentiles>): ReturnType<typeof Stats.percentiles> {
  return { count: p.count, p50: Stats.round(p.p50, 1), p95: Stats.round(p.p95, 1), p99: Stats.round(p.p99, 1), max: Stats.round(p.max, 1) };
}

/** Share of a level's requests that did not end in a successful answer. */
export function failureRate(level: LevelResult): number | null {
  return level.sent === 0 ? null : Stats.round(1 - level.answers.success / level.sent, 3);
}

export function targetCheck(levels: readonly LevelResult[], ledgerMs: number, limitPerSecond: number): TargetCheck {
  const rates = levels.map((l) => l.chainSettledPerSecond ?? l.settledPerSecond);
  const best = rates.length ? Math.max(...rates) : null;
  const sustainedFraction = best === null ? null : Stats.round(best / limitPerSecond, 3);
  const eighty = levels.find((l) => Math.abs(l.offeredFraction - 0.8) < 1e-9);
  const p99 = eighty?.latencyMs.p99 ?? null;
  const p99Ledgers = p99 === null ? null : Stats.round(p99 / ledgerMs, 2);
  const doubleSubmissions = levels.reduce((sum, l) => sum + l.chain.double, 0);
  const lost = levels.reduce((sum, l) => sum + l.chain.lost, 0);
  return {
    sustainedFraction,
    sustainedMet: sustainedFraction !== null && sustainedFraction >= 0.9,
    doubleSubmissions,
    lost,
    p99AtEightyPercentLedgers: p99Ledgers,
    p99Met: p99Ledgers === null ? null : p99Ledgers <= 2,
  };
}

export function configurationResult(input: {
  ledgerMs: number;
  poolSize: number;
  levels: readonly LevelResult[];
  skipped: ConfigurationResult["skipped"];
}): ConfigurationResult {
  const limitPerSecond = input.poolSize / (input.ledgerMs / 1000);
  const of = (f: FacilitatorName) => input.levels.filter((l) => l.facilitator === f);
  const best = (f: FacilitatorName) => (of(f).length ? Math.max(...of(f).map((l) => l.chainSettledPerSecond ?? l.settledPerSecond)) : null);
  const quayBest = best("quay");
  const peerBest = best("peer");
  const fractions = [...new Set(input.levels.map((l) => l.offeredFraction))].sort((a, b) => a - b);
  return {
    ledgerMs: input.ledgerMs,
    poolSize: input.poolSize,
    limitPerSecond: Stats.round(limitPerSecond, 3)!,
    levels: input.levels,
    skipped: input.skipped,
    targets: {
      quay: targetCheck(of("quay"), input.ledgerMs, limitPerSecond),
      peer: targetCheck(of("peer"), input.ledgerMs, limitPerSecond),
    },
    peerVsQuay: {
      throughputRatio: quayBest && peerBest !== null ? Stats.round(peerBest / quayBest, 3) : null,
      failureRates: fractions.map((fraction) => {
        const at = (f: FacilitatorName) => of(f).find((l) => l.offeredFraction === fraction);
        const q = at("quay");
        const p = at("peer");
        return { offeredFraction: fraction, quay: q ? failureRate(q) : null, peer: p ? failureRate(p) : null };
      }),
    },
  };
}
