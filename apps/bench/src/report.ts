import type { BenchResult, ConfigurationResult, LevelResult, TargetCheck, VerifyCost } from "./results";

/** The results as Markdown tables: machine, verdicts per configuration, every level, verify cost. Pure. */

export function renderMarkdown(result: BenchResult): string {
  const m = result.machine;
  const lines: string[] = [
    `# Settlement benchmark: Quay vs the x402 reference facilitator`,
    "",
    `Profile \`${result.profile}\`, started ${result.startedAt}, ${Math.round(result.wallSeconds)} s wall time.`,
    "",
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, Node ${m.node}, ${m.platform}; load average at start ${m.loadAverageAtStart.map((v) => v.toFixed(2)).join(" / ")}.`,
    "",
    "Method: " + Object.entries(result.method).map(([k, v]) => `${k} ${v}`).join("; ") + ". See ops/bench/README.md.",
    "",
    "## Verdicts",
    "",
    "Targets (Quay): sustained settled/s (on the ledger clock) ≥ 90 % of N / ledger time; zero double submissions; zero lost payments; p99 at 80 % load ≤ 2 ledger times.",
    "",
    "| ledger | N | limit /s | facilitator | best settled/s (of limit) | sustained ≥ 90 % | double | lost | p99 @80 % (ledgers) | calls not settled, all levels | peer/Quay throughput |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const c of result.configurations) {
    for (const f of ["quay", "peer"] as const) {
      const t = c.targets[f];
      const mine = c.levels.filter((l) => l.facilitator === f);
      const best = Math.max(0, ...mine.map((l) => l.chainSettledPerSecond ?? l.settledPerSecond));
      const sent = mine.reduce((sum, l) => sum + l.sent, 0);
      const notSettled = mine.reduce((sum, l) => sum + l.sent - l.answers.success, 0);
      lines.push(
        `| ${c.ledgerMs / 1000} s | ${c.poolSize} | ${c.limitPerSecond} | ${f} | ${best} (${pct(t.sustainedFraction)}) | ${yes(t.sustainedMet)} | ${t.doubleSubmissions} | ${t.lost} | ${t.p99AtEightyPercentLedgers ?? "–"} ${p99Mark(t)} | ${notSettled} of ${sent} (${pct(sent ? notSettled / sent : null)}) | ${f === "peer" ? (c.peerVsQuay.throughputRatio ?? "–") : ""} |`,
      );
    }
  }
  lines.push("", "## Every level", "");
  lines.push(
    "| ledger | N | facilitator | offered /s (of limit) | sent | settled/s answers (of limit) | settled/s ledger (of limit) | ledger s | p50 / p95 / p99 ms | ok / failed / pending / none | errors | landed | double | lost | paid, told no | submissions per payment | RSS peak MiB (api, worker / peer) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const c of result.configurations) for (const l of c.levels) lines.push(levelRow(c, l));
  const skipped = result.configurations.flatMap((c) => c.skipped.map((s) => ({ c, s })));
  if (skipped.length) {
    lines.push("", "Skipped levels (past clear saturation):", "");
    for (const { c, s } of skipped) lines.push(`- ledger ${c.ledgerMs / 1000} s, N=${c.poolSize}, ${s.facilitator} at ${pct(s.offeredFraction)}: ${s.reason}`);
  }
  lines.push("", "## Where Quay's time goes", "");
  lines.push(
    "From submission_attempts: *wait* is accepted by the api → attempt built (queue and lease); *attempt* is built → concluded (simulate, sign, send, the ledger close, noticing it); *channel idle* is a channel account's previous attempt concluded → its next built. Under overload, idle is pure overhead between two uses of an account.",
    "",
    "| ledger | N | offered (of limit) | wait p50 / p99 ms | attempt p50 / p99 ms | channel idle p50 / p99 ms |",
    "|---|---|---|---|---|---|",
  );
  for (const c of result.configurations) {
    for (const l of c.levels) {
      const q = l.quayRecords;
      if (!q) continue;
      lines.push(`| ${c.ledgerMs / 1000} s | ${c.poolSize} | ${l.offeredPerSecond} (${pct(l.offeredFraction)}) | ${ms(q.waitMs.p50)} / ${ms(q.waitMs.p99)} | ${ms(q.attemptMs.p50)} / ${ms(q.attemptMs.p99)} | ${ms(q.channelIdleMs.p50)} / ${ms(q.channelIdleMs.p99)} |`);
    }
  }
  lines.push("", "Quay's own metrics over each level (api and worker /metrics): mean ms per settlement stage, and Stellar RPC calls per payment by process and method.", "");
  lines.push("| ledger | N | offered (of limit) | stage means ms | RPC calls per payment |", "|---|---|---|---|---|");
  for (const c of result.configurations) {
    for (const l of c.levels) {
      const metrics = l.quayRecords?.metrics;
      if (!metrics) continue;
      const entries = Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b));
      const stages = entries.filter(([k]) => k.startsWith("stage:")).map(([k, v]) => `${k.slice(6)} ${ms(v.meanMs)}`).join(", ");
      const calls = entries
        .filter(([k]) => k.startsWith("rpc:"))
        .map(([k, v]) => `${k.slice(4)} ${(v.count / Math.max(1, l.sent)).toFixed(2)}`)
        .join(", ");
      lines.push(`| ${c.ledgerMs / 1000} s | ${c.poolSize} | ${pct(l.offeredFraction)} | ${stages || "–"} | ${calls || "–"} |`);
    }
  }
  lines.push("", "## Ledger fill", "");
  lines.push(
    `Settled payments per ledger, from the first ledger holding one to the last; a full ledger holds N. The settled/s on the ledger counts the ledgers between the brackets: the first held what arrived before it began, the last what was left when the backlog ran out.`,
    "",
    "| ledger | N | facilitator | offered (of limit) | payments per ledger | machine CPU busy (all cores) |",
    "|---|---|---|---|---|---|",
  );
  for (const c of result.configurations) {
    for (const l of c.levels) {
      lines.push(`| ${c.ledgerMs / 1000} s | ${c.poolSize} | ${l.facilitator} | ${pct(l.offeredFraction)} | ${fill(l.ledgerFill)} | ${pct(l.machineCpuBusy)} |`);
    }
  }
  lines.push("", "## Failure rates at each level (share of /settle calls not answered success)", "");
  lines.push("| ledger | N | offered (of limit) | Quay | peer |", "|---|---|---|---|---|");
  for (const c of result.configurations) {
    for (const r of c.peerVsQuay.failureRates) lines.push(`| ${c.ledgerMs / 1000} s | ${c.poolSize} | ${pct(r.offeredFraction)} | ${pct(r.quay)} | ${pct(r.peer)} |`);
  }
  lines.push("", "## Verify cost", "");
  lines.push(
    "One /verify at a time; each sample first simulates the same transaction against the devnet directly. CPU is the facilitator process's own (user + system, /proc), so the devnet's simulation is not in it.",
    "",
    "| facilitator | samples (valid) | /verify p50 / p99 ms | simulate p50 / p99 ms | added p50 / p99 ms | CPU ms per verify | verifies/s on one core |",
    "|---|---|---|---|---|---|---|",
  );
  for (const v of result.verifyCost) lines.push(verifyRow(v));
  if (result.notes.length) {
    lines.push("", "## Notes", "");
    for (const note of result.notes) lines.push(`- ${note}`);
  }
  lines.push("");
  return lines.join("\n");
}

function levelRow(c: ConfigurationResult, l: LevelResult): string {
  const submissions = l.quayRecords ? dist(l.quayRecords.submissionsPerPayment) : "n/a (no records)";
  const rss = l.facilitator === "quay" ? `${l.processes.api?.peakRssMiB ?? "–"}, ${l.processes.worker?.peakRssMiB ?? "–"}` : `${l.processes.peer?.peakRssMiB ?? "–"}`;
  const errors = Object.entries(l.errors)
    .map(([k, v]) => `${k}: ${v}`)
    .join("<br>");
  return `| ${c.ledgerMs / 1000} s | ${c.poolSize} | ${l.facilitator} | ${l.offeredPerSecond} (${pct(l.offeredFraction)}) | ${l.sent} | ${l.settledPerSecond} (${pct(l.settledFractionOfLimit)}) | ${l.chainSettledPerSecond ?? "–"} (${pct(l.chainSettledFractionOfLimit)}) | ${l.observedLedgerSeconds ?? "–"} | ${ms(l.latencyMs.p50)} / ${ms(l.latencyMs.p95)} / ${ms(l.latencyMs.p99)} | ${l.answers.success} / ${l.answers.failed} / ${l.answers.pending} / ${l.answers.none} | ${errors || "–"} | ${l.chain.landed} | ${l.chain.double} | ${l.chain.lost} | ${l.chain.paidButNotSuccess} | ${submissions} | ${rss} |`;
}

function verifyRow(v: VerifyCost): string {
  return `| ${v.facilitator} | ${v.samples} (${v.valid}) | ${ms(v.verifyMs.p50)} / ${ms(v.verifyMs.p99)} | ${ms(v.simulateMs.p50)} / ${ms(v.simulateMs.p99)} | ${ms(v.addedMs.p50)} / ${ms(v.addedMs.p99)} | ${v.cpuMsPerVerify ?? "–"} | ${v.verifiesPerSecondPerCore ?? "–"} |`;
}

/** {"1": 40, "2": 1} as "1×40, 2×1". */
function dist(d: Readonly<Record<string, number>>): string {
  return Object.entries(d)
    .map(([k, v]) => `${k}×${v}`)
    .join(", ") || "–";
}

/** [3, 10, 10, 2] as "3 [10 10] 2", the steady window in brackets. */
function fill(counts: readonly number[]): string {
  if (counts.length === 0) return "–";
  if (counts.length < 3) return counts.join(" ");
  return `${counts[0]} [${counts.slice(1, -1).join(" ")}] ${counts[counts.length - 1]}`;
}

function pct(v: number | null): string {
  return v === null ? "–" : `${Math.round(v * 1000) / 10} %`;
}

function ms(v: number | null): string {
  return v === null ? "–" : String(Math.round(v));
}

function yes(v: boolean): string {
  return v ? "yes" : "**no**";
}

function p99Mark(t: TargetCheck): string {
  return t.p99Met === null ? "" : t.p99Met ? "(ok)" : "(**over**)";
}
