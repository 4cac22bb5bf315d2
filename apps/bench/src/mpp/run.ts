import http from "node:http";
import { performance } from "node:perf_hooks";
import type { Machine } from "../results";
import { sleep, UsageSampler } from "../processes";
import { Stats, type Percentiles } from "../stats";
import type { Services } from "../stack";
import { auditPersistence, type PersistenceAudit } from "./audit";
import { CpuMeter, committedTransactions, measureMicroCosts, type MicroCosts } from "./breakdown";
import { ChargePayers, runChargeLevel } from "./charges";
import { CHARGE_PRICE } from "./prices";
import { MPP_TARGET, type MppProfile } from "./profile";
import { ChannelCursor, NOT_SENT, prepareVouchers, runVoucherLevel, type VoucherLevelRun, type VoucherPath } from "./vouchers";
import { startMppWorld, type ChannelSet, type MppWorld } from "./world";

export type VoucherPathName = "relay" | "mppx-local" | "mppx-relay";

export interface VoucherLevelResult {
  readonly path: VoucherPathName;
  readonly offeredPerSecond: number;
  readonly seconds: number;
  readonly sent: number;
  readonly accepted: number;
  readonly refused: number;
  /** Sent and never answered, or not sent at all (below). */
  readonly none: number;
  /** Not sent: their channel's backlog ran past MAX_BACKLOG_MS (the path was saturated). */
  readonly notSent: number;
  readonly refusals: Readonly<Record<string, number>>;
  /** Accepted vouchers ÷ the level's wall time (its offered seconds, or longer while a backlog drained). */
  readonly acceptedPerSecond: number;
  /** From the voucher's due time to its answer (waiting behind its channel's previous voucher included). */
  readonly latencyMs: Percentiles;
  /** From the request's send to its answer. */
  readonly serviceMs: Percentiles;
  readonly maxScheduleLagMs: number;
  /** CPU seconds over the level by process (postgres: all its backends; generator: this process). */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** CPU ms per accepted voucher by process. */
  readonly cpuMsPerVoucher: Readonly<Record<string, number>>;
  /** The share of all cores busy over the level (every process on the machine). */
  readonly machineBusy: number | null;
  /** Transactions committed in Quay's database per accepted voucher (relay paths). */
  readonly dbTransactionsPerVoucher: number | null;
  /** Seconds spent fetching challenges and signing, before the level (not measured). */
  readonly prepareSeconds: number;
}

export interface RestartResult {
  readonly offeredPerSecond: number;
  readonly seconds: number;
  readonly killedAtSeconds: number;
  /** From SIGKILL to the new api answering /healthz. */
  readonly downMs: number;
  readonly sent: number;
  readonly accepted: number;
  readonly refused: number;
  readonly none: number;
  readonly refusals: Readonly<Record<string, number>>;
  readonly audit: PersistenceAudit;
}

export interface ChargeLevelResult {
  readonly load: number;
  readonly offeredPerSecond: number;
  /** The pool's limit: N channel accounts per ledger. */
  readonly limitPerSecond: number;
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly none: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Successful answers ÷ the level's wall time (first send to last answer). */
  readonly succeededPerSecond: number;
  readonly distinctReferences: number;
  readonly latencyMs: Percentiles;
  readonly prepareSeconds: number;
}

export interface MppResult {
  readonly profile: string;
  readonly machine: Machine;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly method: Readonly<Record<string, string | number>>;
  readonly target: { readonly vouchersPerSecond: number; readonly p99Ms: number; readonly met: boolean; readonly best: VoucherLevelResult | null };
  readonly vouchers: readonly VoucherLevelResult[];
  /** After the relay levels: what Postgres holds against what was accepted. */
  readonly relayAudit: PersistenceAudit;
  readonly restart: RestartResult;
  readonly charges: readonly ChargeLevelResult[];
  readonly microCosts: MicroCosts;
  readonly notes: readonly string[];
}

const ANSWER_TIMEOUT_MS = 10_000;
/** A channel this far behind its schedule stops sending: the level would otherwise drain for minutes. */
const MAX_BACKLOG_MS = 5_000;
/** A path whose accepted/s falls below this share of the offered rate is not run at higher rates. */
const SATURATED_BELOW = 0.5;
const CHARGE_TIMEOUT_MS = 60_000;

export async function runMppBenchmark(options: {
  readonly services: Services;
  readonly profile: MppProfile;
  readonly machine: Machine;
  readonly logLevel: string;
  readonly say: (line: string) => void;
}): Promise<MppResult> {
  const { profile, say } = options;
  const startedAt = new Date();
  const started = performance.now();
  const notes: string[] = [];
  say(`MPP: starting the devnet (${profile.ledgerMs} ms ledgers), Quay (pool of ${profile.charges.poolSize}) and two mppx servers`);
  const world = await startMppWorld(options.services, {
    ledgerMs: profile.ledgerMs,
    poolSize: profile.charges.poolSize,
    channelsPerSet: profile.channelsPerSet,
    logLevel: options.logLevel,
    say: (line) => say(`MPP: ${line}`),
  });
  try {
    const cursors: Record<ChannelSet, ChannelCursor[]> = {
      relay: world.channels.relay.map((c, i) => new ChannelCursor(i, c)),
      mppxLocal: world.channels.mppxLocal.map((c, i) => new ChannelCursor(i, c)),
      mppxRelay: world.channels.mppxRelay.map((c, i) => new ChannelCursor(i, c)),
    };
    const paths: ReadonlyArray<{ name: VoucherPathName; set: ChannelSet; path: VoucherPath; seconds: number }> = [
      { name: "relay", set: "relay", path: { kind: "relay", quayUrl: world.quayUrl, apiKey: world.apiKey }, seconds: profile.relaySeconds },
      { name: "mppx-local", set: "mppxLocal", path: { kind: "mppx", url: world.mppxLocalUrl }, seconds: profile.mppxSeconds },
      { name: "mppx-relay", set: "mppxRelay", path: { kind: "mppx", url: world.mppxRelayUrl }, seconds: profile.mppxSeconds },
    ];
    const vouchers: VoucherLevelResult[] = [];
    const saturated = new Set<VoucherPathName>();
    // Side by side: at each rate, each path in turn.
    for (const rate of profile.voucherRates) {
      for (const p of paths) {
        if (saturated.has(p.name)) {
          notes.push(`${p.name} at ${rate}/s: not run (saturated at a lower rate)`);
          continue;
        }
        const result = await voucherLevel(world, p.name, p.path, cursors[p.set], rate, p.seconds);
        vouchers.push(result);
        if (result.acceptedPerSecond < SATURATED_BELOW * rate) saturated.add(p.name);
        say(
          `MPP vouchers ${p.name.padEnd(10)} ${String(rate).padStart(5)}/s offered: ${result.acceptedPerSecond.toFixed(0)}/s accepted, p50 ${result.latencyMs.p50?.toFixed(1)} ms, p99 ${result.latencyMs.p99?.toFixed(1)} ms, refused ${result.refused}, no answer ${result.none}`,
        );
      }
    }
    const relayAudit = await audit(world, cursors.relay);
    say(`MPP relay audit: ${JSON.stringify(relayAudit)}`);

    say(`MPP restart: ${profile.restart.perSecond}/s through the relay for ${profile.restart.seconds} s, the api killed (SIGKILL) at ${profile.restart.killAtSeconds} s`);
    const restart = await restartPhase(world, cursors.relay, profile);
    say(`MPP restart: api down ${restart.downMs} ms; accepted ${restart.accepted}, no answer ${restart.none}; audit ${JSON.stringify(restart.audit)}`);

    const charges: ChargeLevelResult[] = [];
    const payers = await ChargePayers.create(world.friendbotUrl, world.rpcUrl, profile.charges.payers);
    const limitPerSecond = profile.charges.poolSize / (profile.ledgerMs / 1000);
    for (const load of profile.charges.loads) {
      const perSecond = load * limitPerSecond;
      const count = Math.max(1, Math.round(perSecond * profile.charges.seconds));
      const prepStart = performance.now();
      const credentials = await payers.prepare(`${world.mppxRelayUrl}/charge`, count);
      const prepareSeconds = (performance.now() - prepStart) / 1000;
      const run = await runChargeLevel({ url: `${world.mppxRelayUrl}/charge`, credentials, perSecond, timeoutMs: CHARGE_TIMEOUT_MS });
      const ok = run.outcomes.filter((o) => o.kind === "success");
      const result: ChargeLevelResult = {
        load,
        offeredPerSecond: perSecond,
        limitPerSecond,
        sent: run.outcomes.length,
        succeeded: ok.length,
        failed: run.outcomes.filter((o) => o.kind === "failed").length,
        none: run.outcomes.filter((o) => o.kind === "none").length,
        errors: Stats.tally(run.outcomes.filter((o) => o.kind !== "success").map((o) => o.reason ?? "unspecified")),
        succeededPerSecond: ok.length / (run.wallMs / 1000),
        distinctReferences: new Set(ok.map((o) => o.reference)).size,
        latencyMs: rounded(Stats.percentiles(run.outcomes.map((o) => o.answeredMs - o.sentMs))),
        prepareSeconds: round(prepareSeconds),
      };
      charges.push(result);
      say(
        `MPP charges ${perSecond.toFixed(1)}/s offered (limit ${limitPerSecond}/s): ${result.succeeded}/${result.sent} paid, ${result.succeededPerSecond.toFixed(2)}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`,
      );
    }

    const microCosts = measureMicroCosts(world.passphrase, world.channels.relay[0]!.address);
    const relayLevels = vouchers.filter((v) => v.path === "relay");
    const meeting = relayLevels.filter(
      (v) => v.offeredPerSecond >= MPP_TARGET.vouchersPerSecond && v.acceptedPerSecond >= MPP_TARGET.vouchersPerSecond * 0.98 && v.refused + v.none === 0 && (v.latencyMs.p99 ?? Infinity) <= MPP_TARGET.p99Ms,
    );
    const best = [...relayLevels].sort((a, b) => b.acceptedPerSecond - a.acceptedPerSecond)[0] ?? null;
    notes.push(`voucher price 1 base unit; each voucher raises its channel's cumulative by exactly the price (requested = 1); charges cost ${CHARGE_PRICE} USDC each`);
    return {
      profile: profile.name,
      machine: options.machine,
      startedAt: startedAt.toISOString(),
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
      method: {
        load: "open loop per rate; vouchers ordered per channel (a channel's next voucher waits for the previous answer)",
        "channels per path": profile.channelsPerSet,
        "voucher rates /s": profile.voucherRates.join(", "),
        "level seconds relay / mppx": `${profile.relaySeconds} / ${profile.mppxSeconds}`,
        "ledger ms": profile.ledgerMs,
        "charge pool N": profile.charges.poolSize,
        "charge loads (of N per ledger)": profile.charges.loads.join(", "),
        "answer timeout ms": ANSWER_TIMEOUT_MS,
      },
      target: { ...MPP_TARGET, met: meeting.length > 0, best: meeting[0] ?? best },
      vouchers,
      relayAudit,
      restart,
      charges,
      microCosts: Object.fromEntries(Object.entries(microCosts).map(([k, v]) => [k, round(v)])) as unknown as MicroCosts,
      notes,
    };
  } finally {
    await world.stop();
  }
}

async function voucherLevel(world: MppWorld, name: VoucherPathName, path: VoucherPath, cursors: ChannelCursor[], rate: number, seconds: number): Promise<VoucherLevelResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const prepStart = performance.now();
  const prepared = await prepareVouchers({ path, cursors, count: Math.round(rate * seconds), passphrase: world.passphrase, agent });
  const prepareSeconds = (performance.now() - prepStart) / 1000;
  // Let the stats of the preparation settle (Postgres flushes its counters about once a second).
  await sleep(1200);
  const meter = new CpuMeter(() => world.pids());
  const sampler = new UsageSampler(world.pids());
  const txBefore = name === "mppx-local" ? 0 : await committedTransactions(world.db);
  meter.start();
  sampler.start();
  const run = await runVoucherLevel({ path, vouchers: prepared, channels: cursors.length, perSecond: rate, timeoutMs: ANSWER_TIMEOUT_MS, maxBacklogMs: MAX_BACKLOG_MS, agent });
  const machineBusy = sampler.machineBusy();
  sampler.stop();
  const cpu = meter.stop();
  await sleep(1200);
  const txAfter = name === "mppx-local" ? 0 : await committedTransactions(world.db);
  agent.destroy();
  return summarizeVoucherLevel(name, rate, seconds, run, { ...cpu, generator: run.generatorCpuMs / 1000 }, machineBusy, name === "mppx-local" ? null : txAfter - txBefore - 1, prepareSeconds);
}

function summarizeVoucherLevel(
  path: VoucherPathName,
  rate: number,
  seconds: number,
  run: VoucherLevelRun,
  cpuSeconds: Record<string, number>,
  machineBusy: number | null,
  dbTransactions: number | null,
  prepareSeconds: number,
): VoucherLevelResult {
  const accepted = run.outcomes.filter((o) => o.kind === "accepted").length;
  const wallSeconds = Math.max(seconds, run.wallMs / 1000);
  const perVoucher = (s: number) => (accepted > 0 ? round((s * 1000) / accepted, 3) : 0);
  return {
    path,
    offeredPerSecond: rate,
    seconds,
    sent: run.outcomes.length,
    accepted,
    refused: run.outcomes.filter((o) => o.kind === "refused").length,
    none: run.outcomes.filter((o) => o.kind === "none").length,
    refusals: Stats.tally(run.outcomes.filter((o) => o.kind !== "accepted").map((o) => o.reason ?? "unspecified")),
    acceptedPerSecond: round(accepted / wallSeconds, 1),
    latencyMs: rounded(Stats.percentiles(run.outcomes.map((o) => o.answeredMs - o.dueMs))),
    // Vouchers never sent (their channel's backlog ran past MAX_BACKLOG_MS) have no service time; their latency counts (a lower bound).
    serviceMs: rounded(Stats.percentiles(run.outcomes.filter((o) => o.reason !== NOT_SENT).map((o) => o.answeredMs - o.sentMs))),
    notSent: run.outcomes.filter((o) => o.reason === NOT_SENT).length,
    maxScheduleLagMs: round(run.maxScheduleLagMs),
    cpuSeconds: Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, round(v)])),
    cpuMsPerVoucher: Object.fromEntries(Object.entries(cpuSeconds).filter(([, v]) => v > 0).map(([k, v]) => [k, perVoucher(v)])),
    machineBusy: machineBusy === null ? null : round(machineBusy, 3),
    // The bench's own query of the counter is one transaction.
    dbTransactionsPerVoucher: dbTransactions === null || accepted === 0 ? null : round(dbTransactions / accepted, 2),
    prepareSeconds: round(prepareSeconds),
  };
}

/** Postgres against what the relay accepted, channel by channel. */
async function audit(world: MppWorld, cursors: readonly ChannelCursor[]): Promise<PersistenceAudit> {
  const { rows } = await world.db.query<{ address: string; cumulative: string; signature: string | null }>(
    "select address, cumulative::text as cumulative, signature from mpp_channels where address = any($1)",
    [cursors.map((c) => c.channel.address)],
  );
  return auditPersistence(
    cursors.map((c) => ({ address: c.channel.address, acceptedMax: c.acceptedMax, unanswered: c.unanswered, signatures: c.signatures })),
    rows,
  );
}

async function restartPhase(world: MppWorld, cursors: ChannelCursor[], profile: MppProfile): Promise<RestartResult> {
  const { perSecond, seconds, killAtSeconds } = profile.restart;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const path: VoucherPath = { kind: "relay", quayUrl: world.quayUrl, apiKey: world.apiKey };
  const prepared = await prepareVouchers({ path, cursors, count: perSecond * seconds, passphrase: world.passphrase, agent });
  let downMs = -1;
  const run = await runVoucherLevel({
    path,
    vouchers: prepared,
    channels: cursors.length,
    perSecond,
    // Short: a request to the dead api must not hold its channel's next vouchers for long.
    timeoutMs: 2_000,
    maxBacklogMs: MAX_BACKLOG_MS,
    agent,
    at: {
      ms: killAtSeconds * 1000,
      run: async () => {
        downMs = (await world.killAndRestartApi()).downMs;
      },
    },
  });
  agent.destroy();
  return {
    offeredPerSecond: perSecond,
    seconds,
    killedAtSeconds: killAtSeconds,
    downMs,
    sent: run.outcomes.length,
    accepted: run.outcomes.filter((o) => o.kind === "accepted").length,
    refused: run.outcomes.filter((o) => o.kind === "refused").length,
    none: run.outcomes.filter((o) => o.kind === "none").length,
    refusals: Stats.tally(run.outcomes.filter((o) => o.kind !== "accepted").map((o) => o.reason ?? "unspecified")),
    audit: await audit(world, cursors),
  };
}

function round(value: number, digits = 2): number {
  return Stats.round(value, digits) ?? 0;
}

function rounded(p: Percentiles): Percentiles {
  return { count: p.count, p50: Stats.round(p.p50), p95: Stats.round(p.p95), p99: Stats.round(p.p99), max: Stats.round(p.max) };
}
