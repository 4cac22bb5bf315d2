import os from "node:os";
import { performance } from "node:perf_hooks";
import { quayDrained, quayRecords, quayTimings, transfersTo } from "./audit";
import { runOpenLoop } from "./load";
import { MAX_TIMEOUT_SECONDS, PayerCorpus } from "./payloads";
import { sleep, UsageSampler } from "./processes";
import { difference, scrape } from "./scrape";
import type { Profile } from "./profiles";
import type { BenchResult, ConfigurationResult, FacilitatorName, LevelResult, Machine, VerifyCost } from "./results";
import { startServices, startStack, type Services, type Stack } from "./stack";
import { configurationResult, summarizeLevel } from "./summarize";
import { measureVerifyCost } from "./verify-cost";

/** How long the load generator waits for one /settle answer (Quay answers within SETTLE_WAIT_SECONDS = 30). */
const ANSWER_TIMEOUT_MS = 120_000;
/** How long Quay's payments may stay queued/submitting after the last answer before the level is audited anyway. */
const DRAIN_TIMEOUT_MS = 120_000;
/** A facilitator whose settled/s falls below this share of the offered rate is saturated at that level. */
const SATURATED_BELOW = 0.6;

export interface RunOptions {
  readonly profile: Profile;
  readonly logLevel: string;
  readonly say: (line: string) => void;
}

export async function runBenchmark(options: RunOptions): Promise<BenchResult> {
  const { profile, say } = options;
  const startedAt = new Date();
  const started = performance.now();
  const machine = describeMachine(startedAt);
  const notes: string[] = [];
  const builds = { payments: 0, seconds: 0 };
  const configurations: ConfigurationResult[] = [];
  let verifyCost: VerifyCost[] = [];

  say(`starting Postgres and Redis`);
  const services = await startServices();
  // Postgres runs in its own process group: Ctrl-C reaches the other children, not it.
  const interrupted = () => void services.stop().finally(() => process.exit(130));
  process.once("SIGINT", interrupted);
  try {
    for (const ledgerMs of profile.ledgerMs) {
      for (const poolSize of profile.poolSizes) {
        const measureVerify = verifyCost.length === 0;
        const outcome = await runConfiguration(services, { ...options, ledgerMs, poolSize, measureVerify, notes, builds });
        configurations.push(outcome.result);
        if (outcome.verifyCost.length) verifyCost = outcome.verifyCost;
      }
    }
  } finally {
    process.off("SIGINT", interrupted);
    await services.stop();
  }
  notes.push(
    `payloads: ${builds.payments} built by the @x402/stellar client in ${Math.round(builds.seconds)} s before their levels (${(builds.payments / Math.max(builds.seconds, 0.001)).toFixed(1)}/s), not measured`,
  );
  return {
    profile: profile.name,
    machine,
    startedAt: startedAt.toISOString(),
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    method: {
      load: "open loop, fixed arrival rate, prebuilt real payloads",
      "load levels (of N per ledger)": profile.loads.join(", "),
      "level seconds at 5 s / 1 s ledgers": `${profile.levelSeconds(5000)} / ${profile.levelSeconds(1000)}`,
      "warm-up seconds at 5 s / 1 s ledgers": `${profile.warmupSeconds(5000)} / ${profile.warmupSeconds(1000)}`,
      payers: profile.payers,
      maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
      SETTLE_CONCURRENCY: "2N",
      "warm-up before each level": "N payments, unmeasured",
      "devnet max tx per ledger": "max(100, 4N)",
    },
    configurations,
    verifyCost,
    notes,
  };
}

interface ConfigurationOptions extends RunOptions {
  readonly ledgerMs: number;
  readonly poolSize: number;
  readonly measureVerify: boolean;
  readonly notes: string[];
  readonly builds: { payments: number; seconds: number };
}

async function runConfiguration(
  services: Services,
  options: ConfigurationOptions,
): Promise<{ result: ConfigurationResult; verifyCost: VerifyCost[] }> {
  const { profile, ledgerMs, poolSize, say } = options;
  const tag = `[ledger ${ledgerMs / 1000} s, N=${poolSize}]`;
  say(`${tag} starting devnet, Quay api + worker, peer`);
  const stack = await startStack(services, { ledgerMs, poolSize, logLevel: options.logLevel });
  try {
    const corpus = await PayerCorpus.create(stack, profile.payers);
    const verifyCost: VerifyCost[] = [];
    if (options.measureVerify) {
      say(`${tag} measuring /verify cost (${profile.verifySamples} samples each)`);
      const payTo = await PayerCorpus.payee(stack);
      const [payment] = await corpus.build(payTo, 1);
      verifyCost.push(
        await measureVerifyCost({ facilitator: "quay", url: stack.quayUrl, apiKey: stack.apiKey, pid: stack.pids.api, server: stack.rpc, payment: payment!, samples: profile.verifySamples }),
        await measureVerifyCost({ facilitator: "peer", url: stack.peerUrl, pid: stack.pids.peer, server: stack.rpc, payment: payment!, samples: profile.verifySamples }),
      );
      for (const v of verifyCost) say(`${tag} verify ${v.facilitator}: p50 ${v.verifyMs.p50} ms (added ${v.addedMs.p50} ms), ${v.cpuMsPerVerify} CPU ms each`);
    }

    const limitPerSecond = poolSize / (ledgerMs / 1000);
    const levels: LevelResult[] = [];
    const skipped: { facilitator: FacilitatorName; offeredFraction: number; reason: string }[] = [];
    const saturatedRuns: Record<FacilitatorName, number> = { quay: 0, peer: 0 };
    for (const fraction of profile.loads) {
      for (const facilitator of ["quay", "peer"] as const) {
        if (saturatedRuns[facilitator] >= 2) {
          skipped.push({ facilitator, offeredFraction: fraction, reason: "saturated at the two levels before" });
          continue;
        }
        const level = await runLevel(stack, corpus, { ...options, facilitator, fraction, limitPerSecond, tag });
        levels.push(level);
        const saturated = (level.chainSettledPerSecond ?? level.settledPerSecond) < SATURATED_BELOW * level.offeredPerSecond;
        saturatedRuns[facilitator] = saturated ? saturatedRuns[facilitator] + 1 : 0;
      }
    }
    return { result: configurationResult({ ledgerMs, poolSize, levels, skipped }), verifyCost };
  } finally {
    await stack.stop();
  }
}

async function runLevel(
  stack: Stack,
  corpus: PayerCorpus,
  options: ConfigurationOptions & { facilitator: FacilitatorName; fraction: number; limitPerSecond: number; tag: string },
): Promise<LevelResult> {
  const { profile, ledgerMs, facilitator, fraction, limitPerSecond, say } = options;
  const perSecond = fraction * limitPerSecond;
  const durationSeconds = profile.levelSeconds(ledgerMs);
  const count = Math.max(2, Math.round(perSecond * durationSeconds));
  const payTo = await PayerCorpus.payee(stack);

  const buildStarted = performance.now();
  const payments = await corpus.build(payTo, count);
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  options.builds.payments += payments.length;
  options.builds.seconds += buildSeconds;

  await warmUp(stack, corpus, { facilitator, perSecond, poolSize: options.poolSize });

  const startLedger = (await stack.rpc.getLatestLedger()).sequence;
  const pids: Record<string, number> =
    facilitator === "quay" ? { api: stack.pids.api, worker: stack.pids.worker, devnet: stack.pids.devnet } : { peer: stack.pids.peer, devnet: stack.pids.devnet };
  const metricsBefore = facilitator === "quay" ? await scrape(stack.quayMetricsUrls) : undefined;
  const sampler = new UsageSampler(pids);
  sampler.start();
  const run = await runOpenLoop({
    url: facilitator === "quay" ? stack.quayUrl : stack.peerUrl,
    ...(facilitator === "quay" ? { apiKey: stack.apiKey } : {}),
    payments,
    perSecond,
    timeoutMs: ANSWER_TIMEOUT_MS,
  });
  const machineCpuBusy = sampler.machineBusy();
  const usage = sampler.stop();
  if (facilitator === "quay" && !(await quayDrained(stack.db, payTo, DRAIN_TIMEOUT_MS))) {
    options.notes.push(`${options.tag} quay @ ${fraction}: payments still open ${DRAIN_TIMEOUT_MS / 1000} s after the last answer`);
  }
  // One more ledger, so anything submitted before the last answer has closed.
  await sleep(ledgerMs + 250);
  const landings = await transfersTo(stack.rpc, payTo, startLedger);
  const quay = facilitator === "quay" ? await quayRecords(stack.db, payTo) : undefined;
  const timings = facilitator === "quay" ? await quayTimings(stack.db, payTo) : undefined;
  const quayMetrics = metricsBefore ? difference(metricsBefore, await scrape(stack.quayMetricsUrls)) : undefined;

  const level = summarizeLevel({
    facilitator,
    offeredFraction: fraction,
    offeredPerSecond: perSecond,
    durationSeconds,
    warmupSeconds: profile.warmupSeconds(ledgerMs),
    limitPerSecond,
    ledgerSeconds: ledgerMs / 1000,
    outcomes: run.outcomes,
    landings,
    ...(quay ? { quay } : {}),
    ...(timings ? { quayTimings: timings } : {}),
    ...(quayMetrics ? { quayMetrics } : {}),
    usage,
    machineCpuBusy,
  });
  if (run.maxScheduleLagMs > 250) options.notes.push(`${options.tag} ${facilitator} @ ${fraction}: the load generator fell ${Math.round(run.maxScheduleLagMs)} ms behind schedule`);
  const errors = Object.entries(level.errors).map(([k, v]) => `${k}=${v}`).join(" ");
  say(
    `${options.tag} ${facilitator.padEnd(4)} @ ${Math.round(fraction * 100)} % (${perSecond.toFixed(2)}/s, ${count} payments built in ${buildSeconds.toFixed(1)} s): ` +
      `settled ${level.settledPerSecond}/s answers, ${level.chainSettledPerSecond ?? "–"}/s ledger (${Math.round((level.chainSettledFractionOfLimit ?? level.settledFractionOfLimit) * 100)} % of limit), p50/p99 ${level.latencyMs.p50}/${level.latencyMs.p99} ms, ` +
      `landed ${level.chain.landed}, double ${level.chain.double}, lost ${level.chain.lost}${errors ? `, errors ${errors}` : ""}`,
  );
  return level;
}

/**
 * Before each level, unmeasured: one payment per channel account through the facilitator about to
 * be measured, to a payee of its own, and (for Quay) until they are settled. The two facilitators
 * share the N accounts, so each finds the accounts' sequences where the other left them; the
 * warm-up pays for that (Quay's first transaction on an account the peer used meets txBadSeq and
 * re-reads it), for a cold process's first requests, and for its database connections, instead of
 * the level's first ledgers.
 */
async function warmUp(stack: Stack, corpus: PayerCorpus, options: { facilitator: FacilitatorName; perSecond: number; poolSize: number }): Promise<void> {
  const payTo = await PayerCorpus.payee(stack);
  const payments = await corpus.build(payTo, options.poolSize);
  await runOpenLoop({
    url: options.facilitator === "quay" ? stack.quayUrl : stack.peerUrl,
    ...(options.facilitator === "quay" ? { apiKey: stack.apiKey } : {}),
    payments,
    perSecond: options.perSecond,
    timeoutMs: ANSWER_TIMEOUT_MS,
  });
  if (options.facilitator === "quay") await quayDrained(stack.db, payTo, DRAIN_TIMEOUT_MS);
}

export function describeMachine(date: Date): Machine {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
    date: date.toISOString(),
  };
}
