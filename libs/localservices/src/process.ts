import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, openSync } from "node:fs";
import { LocalServiceError } from "./errors";
import { ProcessTree } from "./tree";
import type { ServiceUser } from "./users";

export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** stdout and stderr are appended here: the server's own log, read back when it fails to start. */
  readonly logFile: string;
  readonly user: ServiceUser | undefined;
  /** Sent by the kernel when the parent dies without cleaning up (even by SIGKILL). */
  readonly parentDeathSignal: NodeJS.Signals;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = ["/usr/bin/setpriv", "/bin/setpriv"].find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null;
  }
  return setprivPath;
}

/**
 * setpriv (util-linux, on every Debian) switches the user and sets the parent-death signal, then
 * execs the server in place: the server keeps the pid we spawned, and dies with us even if we are
 * SIGKILLed. Without setpriv, Node's own uid/gid switch still works, minus the parent-death signal.
 * The kernel sends that signal when the spawning *thread* ends: start servers from a main thread
 * (vitest's forks pool, a CLI), not from a worker thread that may finish before the servers should.
 */
function commandLine(spec: LaunchSpec): { file: string; args: string[]; uid?: number; gid?: number } {
  const setpriv = findSetpriv();
  if (setpriv === null) {
    const ids = spec.user === undefined ? {} : { uid: spec.user.uid, gid: spec.user.gid };
    return { file: spec.command, args: [...spec.args], ...ids };
  }
  const identity =
    spec.user === undefined ? [] : [`--reuid=${spec.user.uid}`, `--regid=${spec.user.gid}`, "--clear-groups"];
  return {
    file: setpriv,
    args: [...identity, `--pdeathsig=${spec.parentDeathSignal}`, "--", spec.command, ...spec.args],
  };
}

/** Servers get a bare environment: nothing of the parent's (secrets included) leaks into them. */
function serverEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", LANG: "C", TZ: "UTC" };
}

function isGone(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ESRCH";
}

/**
 * A server process that leads its own process group, so that one signal to the group reaches every
 * process it forked (postgres backends and helpers).
 */
export class ManagedProcess {
  readonly exit: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    this.exit = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve((this.exitInfo = { code, signal })));
      child.once("error", (error) => resolve((this.exitInfo ??= { code: null, signal: null, error })));
    });
  }

  static launch(spec: LaunchSpec): ManagedProcess {
    const line = commandLine(spec);
    const log = openSync(spec.logFile, "a");
    try {
      const child = spawn(line.file, line.args, {
        cwd: spec.cwd,
        env: serverEnv(),
        detached: true,
        stdio: ["ignore", log, log],
        ...(line.uid === undefined ? {} : { uid: line.uid, gid: line.gid }),
      });
      if (child.pid === undefined) {
        // spawn reports ENOENT and the like asynchronously; give it a handled listener and a clear throw.
        child.once("error", () => undefined);
        throw new LocalServiceError(`could not spawn ${line.file}`);
      }
      return new ManagedProcess(child, child.pid);
    } finally {
      closeSync(log);
    }
  }

  /** Runs a short command (initdb) the same way and waits for it. */
  static async run(spec: LaunchSpec): Promise<ExitInfo> {
    return ManagedProcess.launch(spec).exit;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Sends a signal to the whole process group; a group already gone is not an error. */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }

  /**
   * Asks the leader to shut down cleanly, then kills its whole tree when it takes longer than the
   * grace period; a last SIGKILL sweeps any descendant or group member that outlived the leader.
   * Idempotent.
   */
  stop(gracefulSignal: NodeJS.Signals, graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      const tree = ProcessTree.snapshot(this.pid);
      if (!this.hasExited) {
        this.signalLeader(gracefulSignal);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
        const outcome = await Promise.race([this.exit, timedOut]);
        clearTimeout(timer);
        if (outcome === "timeout") this.killNow();
        await this.exit;
      }
      ProcessTree.signal(tree, "SIGKILL");
      this.signalGroup("SIGKILL");
    })();
    return this.stopping;
  }

  /** Synchronous SIGKILL of the leader, its descendants and its group: for when nothing can be awaited. */
  killNow(): void {
    ProcessTree.signal(ProcessTree.snapshot(this.pid), "SIGKILL");
    this.signalGroup("SIGKILL");
  }

  /** Signals the leader alone (a server's own shutdown request, which it relays to its children). */
  signalLeader(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }
}
