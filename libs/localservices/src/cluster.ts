import { createHash } from "node:crypto";
import { existsSync, lstatSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PostgresBinaries } from "./binaries";
import { Dirs } from "./dirs";
import { ServiceStartError } from "./errors";
import { ManagedProcess, type LaunchSpec } from "./process";
import { describeExit, logSize, logTail } from "./startup";
import type { ServiceUser } from "./users";

export const postgresSuperuser = "postgres";

const initdbArgs = ["-U", postgresSuperuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"];

function spec(command: string, args: string[], cwd: string, logFile: string, user: ServiceUser | undefined): LaunchSpec {
  return { command, args, cwd, logFile, user, parentDeathSignal: "SIGKILL" };
}

async function runOrThrow(step: string, launch: LaunchSpec): Promise<void> {
  const before = logSize(launch.logFile);
  const exit = await ManagedProcess.run(launch);
  if (exit.code !== 0) throw new ServiceStartError("postgres", `${step} failed (${describeExit(exit)})`, logTail(launch.logFile, before));
}

/** Where the pristine cluster for these binaries and this user is cached, shared by every run on the machine. */
function templateDir(bin: PostgresBinaries, user: ServiceUser | undefined): string {
  const key = createHash("sha256").update(`${bin.postgres}\0${bin.majorVersion}\0${initdbArgs.join(" ")}`).digest("hex").slice(0, 12);
  const uid = user?.uid ?? process.getuid?.() ?? 0;
  return path.join(os.tmpdir(), `quay-pg-template-${bin.majorVersion}-${key}-u${uid}`);
}

/** /tmp is shared: only trust a template that is a real directory owned by the server's user. */
function usableTemplate(dir: string, user: ServiceUser | undefined): boolean {
  try {
    const stat = lstatSync(dir);
    const uid = user?.uid ?? process.getuid?.();
    return stat.isDirectory() && stat.uid === uid && existsSync(path.join(dir, "PG_VERSION"));
  } catch {
    return false;
  }
}

export const Cluster = {
  /** A new cluster made by initdb itself: for a kept data dir. */
  async init(bin: PostgresBinaries, dataDir: string, logFile: string, user: ServiceUser | undefined): Promise<void> {
    await runOrThrow("initdb", spec(bin.initdb, ["-D", dataDir, ...initdbArgs], path.dirname(dataDir), logFile, user));
  },

  /**
   * A new throwaway cluster, copied from a cached initdb output: a copy takes a tenth of initdb's
   * time, and tests start many clusters. The cache is built once, atomically (rename), so
   * concurrent runs never see half a template.
   */
  async fromTemplate(bin: PostgresBinaries, dataDir: string, logFile: string, user: ServiceUser | undefined): Promise<void> {
    const template = templateDir(bin, user);
    if (!usableTemplate(template, user)) {
      const staging = Dirs.makeTemp("quay-pg-staging-", user);
      try {
        await Cluster.init(bin, path.join(staging, "data"), logFile, user);
        try {
          renameSync(path.join(staging, "data"), template);
        } catch {
          // another run published its template first; it is as good as ours
        }
      } finally {
        Dirs.remove(staging);
      }
      if (!usableTemplate(template, user)) {
        // something else sits at the template path: make this cluster directly and leave it alone
        await Cluster.init(bin, dataDir, logFile, user);
        return;
      }
    }
    // into the (empty, already owned) data dir: `dir/.` copies the contents, not the dir itself
    await runOrThrow("copying the template cluster", spec("cp", ["-a", `${template}/.`, dataDir], path.dirname(dataDir), logFile, user));
  },
};
