import { execFileSync } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import path from "node:path";
import { BinaryNotFoundError } from "./errors";

export interface PostgresBinaries {
  readonly binDir: string;
  readonly initdb: string;
  readonly postgres: string;
  readonly majorVersion: number;
}

/** Debian keeps each server version apart, under /usr/lib/postgresql/<major>/bin, and off the PATH. */
const debianPostgresRoot = "/usr/lib/postgresql";

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathDirs(): string[] {
  return (process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir.length > 0);
}

function debianBinDirs(): string[] {
  let versions: string[];
  try {
    versions = readdirSync(debianPostgresRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  return versions.sort((a, b) => Number(b) - Number(a)).map((v) => path.join(debianPostgresRoot, v, "bin"));
}

function pgConfigBinDir(): string[] {
  try {
    const out = execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5_000 });
    return [out.trim()];
  } catch {
    return [];
  }
}

function serverMajorVersion(postgres: string): number | undefined {
  try {
    const out = execFileSync(postgres, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5_000 });
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(out);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function postgresIn(binDir: string): PostgresBinaries | undefined {
  const initdb = path.join(binDir, "initdb");
  const postgres = path.join(binDir, "postgres");
  if (!isExecutable(initdb) || !isExecutable(postgres)) return undefined;
  const majorVersion = serverMajorVersion(postgres);
  return majorVersion === undefined ? undefined : { binDir, initdb, postgres, majorVersion };
}

export interface PostgresLookup {
  /** Use exactly this directory; nothing else is searched. */
  readonly binDir?: string | undefined;
  /** Only accept this major version (an existing cluster can only be served by its own major). */
  readonly majorVersion?: number | undefined;
}

export const Binaries = {
  /**
   * Finds initdb and postgres: an explicit directory, else Debian's per-version directories (newest
   * first), else pg_config's idea, else the PATH. The first directory holding both binaries of the
   * wanted major wins.
   */
  postgres(lookup: PostgresLookup = {}): PostgresBinaries {
    const candidates = lookup.binDir !== undefined ? [lookup.binDir] : [...debianBinDirs(), ...pgConfigBinDir(), ...pathDirs()];
    const searched = [...new Set(candidates)];
    for (const dir of searched) {
      const found = postgresIn(dir);
      if (found && (lookup.majorVersion === undefined || found.majorVersion === lookup.majorVersion)) return found;
    }
    const wanted = lookup.majorVersion === undefined ? "" : ` (major version ${lookup.majorVersion})`;
    throw new BinaryNotFoundError("postgres", searched.map((dir) => `${dir}${wanted}`));
  },

  /** Finds redis-server: an explicit path, else the PATH, else Debian's /usr/bin and /usr/sbin. */
  redis(explicit?: string): string {
    const candidates =
      explicit !== undefined
        ? [explicit]
        : [...pathDirs(), "/usr/bin", "/usr/sbin", "/usr/local/bin"].map((dir) => path.join(dir, "redis-server"));
    const searched = [...new Set(candidates)];
    const found = searched.find(isExecutable);
    if (found === undefined) throw new BinaryNotFoundError("redis", searched);
    return found;
  },
};
