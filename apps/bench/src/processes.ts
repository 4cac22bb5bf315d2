import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { spawnEntry } from "@quay/localservices";

export { REPO_ROOT } from "@quay/localservices";

/** A TypeScript entry point of this repo running as its own process (so its memory and CPU are its own). */
export interface Entry {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** The last few KiB it printed, for an error message. */
  output(): string;
  stop(): Promise<void>;
}

export class EntryFailed extends Error {
  override readonly name = "EntryFailed";
}

/** `node --import tsx <entry> <args>` with `env` added to a minimal environment; output kept, not echoed. */
export function startEntry(name: string, entry: string, env: Record<string, string>, args: readonly string[] = []): Entry {
  // BENCH_CPU_PROF_DIR: each process writes a V8 CPU profile there when it exits (diagnosis only).
  const profile = process.env.BENCH_CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF_DIR, name)}`] : [];
  let output = "";
  const child = spawnEntry(name, entry, {
    args,
    nodeArgs: profile,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    inheritEnv: false,
    onOutput: (chunk) => {
      output = (output + chunk.toString()).slice(-16_000);
    },
  });
  return { ...child, pid: child.process.pid ?? -1, output: () => output };
}

/** Resolves with the first match of `pattern` in what the entry prints; fails if it exits or takes too long. */
export async function waitForOutput(entry: Entry, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = entry.output().match(pattern);
    if (match) return match;
    if (entry.process.exitCode !== null) throw new EntryFailed(`${entry.name} exited (${entry.process.exitCode}):\n${entry.output()}`);
    if (Date.now() > deadline) throw new EntryFailed(`${entry.name} did not print ${pattern} within ${timeoutMs} ms:\n${entry.output()}`);
    await sleep(50);
  }
}

/** Polls `url` until it answers 200. */
export async function waitHealthy(entry: Entry, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  for (;;) {
    if (entry.process.exitCode !== null) throw new EntryFailed(`${entry.name} exited (${entry.process.exitCode}):\n${entry.output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new EntryFailed(`${entry.name} not healthy at ${url}: ${last}\n${entry.output()}`);
    await sleep(200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What /proc says of a process now: resident memory and CPU used since it started. Linux only. */
export const ProcStat = {
  /** Clock ticks per second for /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
  TICKS_PER_SECOND: 100,

  rssBytes(pid: number): number | undefined {
    try {
      const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  },

  cpuSeconds(pid: number): number | undefined {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const utime = Number(fields[11]);
      const stime = Number(fields[12]);
      return (utime + stime) / ProcStat.TICKS_PER_SECOND;
    } catch {
      return undefined;
    }
  },
};

/** All cores' busy and total clock ticks since boot, from /proc/stat's first line; undefined off Linux. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
    const ticks = fields.map(Number);
    const total = ticks.reduce((sum, n) => sum + n, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Samples the RSS of some processes every `everyMs` until stopped; CPU is read at start and stop. */
export class UsageSampler {
  private readonly rss = new Map<string, number[]>();
  private readonly cpuAtStart = new Map<string, number | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private machineAtStart: { busy: number; total: number } | undefined;

  constructor(private readonly pids: Readonly<Record<string, number>>) {}

  start(everyMs = 500): void {
    this.machineAtStart = machineTicks();
    for (const [name, pid] of Object.entries(this.pids)) {
      this.rss.set(name, []);
      this.cpuAtStart.set(name, ProcStat.cpuSeconds(pid));
    }
    const sample = () => {
      for (const [name, pid] of Object.entries(this.pids)) {
        const bytes = ProcStat.rssBytes(pid);
        if (bytes !== undefined) this.rss.get(name)!.push(bytes);
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  /** The share of all cores' time spent busy since start (every process on the machine, the load generator's too). */
  machineBusy(): number | null {
    const now = machineTicks();
    const then = this.machineAtStart;
    if (!now || !then || now.total === then.total) return null;
    return (now.busy - then.busy) / (now.total - then.total);
  }

  stop(): Record<string, { rssBytes: number[]; cpuSeconds: number | null }> {
    clearInterval(this.timer);
    const out: Record<string, { rssBytes: number[]; cpuSeconds: number | null }> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.cpuAtStart.get(name);
      const after = ProcStat.cpuSeconds(pid);
      out[name] = { rssBytes: this.rss.get(name) ?? [], cpuSeconds: before !== undefined && after !== undefined ? after - before : null };
    }
    return out;
  }
}
