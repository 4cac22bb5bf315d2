import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ServiceUserError } from "./errors";

export interface ServiceUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function fromPasswd(name: string): ServiceUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    return undefined;
  }
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** Accounts served by NSS (LDAP and the like) are not in /etc/passwd; `id` sees them. */
function fromId(name: string): ServiceUser | undefined {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    return { name, uid: id("-u"), gid: id("-g") };
  } catch {
    return undefined;
  }
}

export const ServiceUsers = {
  isRoot(): boolean {
    return typeof process.getuid === "function" && process.getuid() === 0;
  },

  /**
   * The account the servers run as. Not root: the current user (undefined, nothing to switch). Root:
   * the first existing candidate, because initdb refuses to run as root and a database server has no
   * business holding root's rights.
   */
  forServer(candidates: readonly string[]): ServiceUser | undefined {
    if (!ServiceUsers.isRoot()) return undefined;
    for (const name of candidates) {
      const user = fromPasswd(name) ?? fromId(name);
      if (user !== undefined && user.uid !== 0) return user;
    }
    throw new ServiceUserError(
      `running as root, the servers must run as an unprivileged user, and none of ${candidates.join(", ")} exists ` +
        "(the postgresql and redis-server packages create them)",
    );
  },
};
