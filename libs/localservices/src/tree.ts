import { readdirSync, readFileSync } from "node:fs";

/**
 * A process and its descendants, read from /proc. Postgres puts every child in a session of its
 * own (so the postmaster can signal it), which means a process-group kill does not reach them: the
 * tree, built from parent pids, does. Start times tell a living process from a reused pid.
 */
export interface ProcessEntry {
  readonly pid: number;
  readonly startTime: string;
}

interface Stat {
  readonly state: string;
  readonly ppid: number;
  readonly startTime: string;
}

function readStat(pid: number): Stat | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // the command name is parenthesised and may hold spaces: split what follows it
  const fields = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  const [state, ppid] = fields;
  const startTime = fields[19]; // field 22 of proc(5), counted from the state (field 3)
  if (state === undefined || ppid === undefined || startTime === undefined) return undefined;
  return { state, ppid: Number(ppid), startTime };
}

function allPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return []; // no /proc (not Linux): the process-group kill is all we have
  }
}

function isGone(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ESRCH";
}

export const ProcessTree = {
  /** `rootPid` and every living descendant of it, right now. */
  snapshot(rootPid: number): ProcessEntry[] {
    const children = new Map<number, number[]>();
    const stats = new Map<number, Stat>();
    for (const pid of allPids()) {
      const stat = readStat(pid);
      if (stat === undefined || stat.state === "Z") continue;
      stats.set(pid, stat);
      children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
    }
    const tree: ProcessEntry[] = [];
    const queue = [rootPid];
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      const stat = stats.get(pid);
      if (stat === undefined) continue;
      tree.push({ pid, startTime: stat.startTime });
      queue.push(...(children.get(pid) ?? []));
    }
    return tree;
  },

  /** The entries still running as the same process (not exited, not a zombie, pid not reused). */
  living(entries: readonly ProcessEntry[]): ProcessEntry[] {
    return entries.filter((entry) => {
      const stat = readStat(entry.pid);
      return stat !== undefined && stat.state !== "Z" && stat.startTime === entry.startTime;
    });
  },

  signal(entries: readonly ProcessEntry[], signal: NodeJS.Signals): void {
    for (const entry of ProcessTree.living(entries)) {
      try {
        process.kill(entry.pid, signal);
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    }
  },
};
