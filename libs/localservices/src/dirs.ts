import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DataDirError } from "./errors";
import type { ServiceUser } from "./users";

export const Dirs = {
  /** A fresh private directory under the system temp dir, handed to the server's user. */
  makeTemp(prefix: string, user: ServiceUser | undefined): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    if (user !== undefined) chownSync(dir, user.uid, user.gid);
    return dir;
  },

  /** Creates `dir` if needed and makes the server's user own it (all of it, when it belonged to someone else). */
  ensureOwned(dir: string, user: ServiceUser | undefined): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (user === undefined) return;
    if (statSync(dir).uid === user.uid) return;
    try {
      execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, dir], { stdio: ["ignore", "ignore", "pipe"] });
    } catch {
      throw new DataDirError(dir, `could not hand it to user ${user.name} (chown failed)`);
    }
  },

  /**
   * The server opens its directory by path as its own user: every parent must be searchable by it.
   * A repo under /root, say, is not; better to say so than to let the server fail obscurely.
   */
  assertReachable(dir: string, user: ServiceUser | undefined): void {
    if (user === undefined) return;
    const probe = spawnSync("test", ["-w", dir, "-a", "-x", dir], { uid: user.uid, gid: user.gid, stdio: "ignore" });
    if (probe.status !== 0) {
      throw new DataDirError(
        dir,
        `user ${user.name} cannot write it: every parent directory must be searchable by others (chmod o+x), or choose a dir under ${os.tmpdir()}`,
      );
    }
  },

  /** Best-effort removal; retries because a just-killed server may still be closing files in it. */
  remove(dir: string): void {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // a leftover temp dir is untidy, not wrong; the stop itself succeeded
    }
  },
};
