import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { Binaries, type PostgresBinaries } from "./binaries";
import { Cluster, postgresSuperuser } from "./cluster";
import { Dirs } from "./dirs";
import { DataDirError, ServiceStartError } from "./errors";
import { Lifecycle } from "./lifecycle";
import { checkedPort, freePort } from "./ports";
import { ManagedProcess, type LaunchSpec } from "./process";
import { awaitReady, describeExit, logSize, logTail } from "./startup";
import { ServiceUsers, type ServiceUser } from "./users";

export interface PostgresOptions {
  /**
   * Where the cluster lives. Given: kept across runs, an existing cluster is reused. Omitted: a
   * fresh cluster in a temp dir, deleted on stop.
   */
  readonly dataDir?: string;
  /** 0 or omitted: a free port. */
  readonly port?: number;
  /** Use the binaries in exactly this directory. */
  readonly binDir?: string;
  /** fsync and friends. Default: off for a temp cluster (speed), on for a kept one (it must survive a crash). */
  readonly durable?: boolean;
  readonly maxConnections?: number;
  readonly startTimeoutMs?: number;
}

export interface LocalPostgres {
  /** Superuser URL to the `postgres` database; no password (trust auth, loopback only). */
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid, also its process group id. */
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** Clean shutdown; deletes a temp cluster. Safe to call more than once. */
  stop(): Promise<void>;
}

const host = "127.0.0.1";
const portAttempts = 3;
const shutdownGraceMs = 10_000;
// sockaddr_un holds 108 bytes; postgres refuses longer socket paths
const maxSocketPathBytes = 100;

interface Layout {
  readonly dataDir: string;
  readonly logFile: string;
  /** Set for a temp cluster: removed on stop. */
  readonly tempRoot: string | undefined;
}

function layout(options: PostgresOptions, user: ServiceUser | undefined): Layout {
  if (options.dataDir === undefined) {
    const tempRoot = Dirs.makeTemp("quay-pg-", user);
    return { dataDir: path.join(tempRoot, "data"), logFile: path.join(tempRoot, "postgres.log"), tempRoot };
  }
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  return { dataDir, logFile: `${dataDir}.log`, tempRoot: undefined };
}

function existingMajorVersion(dataDir: string): number | undefined {
  const versionFile = path.join(dataDir, "PG_VERSION");
  if (existsSync(versionFile)) {
    const major = Number(readFileSync(versionFile, "utf8").trim());
    if (!Number.isInteger(major)) throw new DataDirError(dataDir, "PG_VERSION is unreadable");
    return major;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new DataDirError(dataDir, "it is not empty and holds no PostgreSQL cluster");
  }
  return undefined;
}

function launchSpec(command: string, args: string[], where: Layout, user: ServiceUser | undefined): LaunchSpec {
  // SIGINT is postgres's "fast shutdown": clean, and quick enough to run after the parent is gone.
  return { command, args, cwd: path.dirname(where.dataDir), logFile: where.logFile, user, parentDeathSignal: "SIGINT" };
}

function socketDir(dataDir: string, port: number): string {
  const socketPath = path.join(dataDir, `.s.PGSQL.${port}`);
  // Too long for a unix socket, or a path postgres would split as a list: serve TCP only.
  if (Buffer.byteLength(socketPath) > maxSocketPathBytes || /[,\s"'\\]/.test(dataDir)) return "";
  return dataDir;
}

function serverArgs(where: Layout, port: number, options: PostgresOptions, durable: boolean): string[] {
  const settings: Record<string, string | number> = {
    listen_addresses: host,
    unix_socket_directories: socketDir(where.dataDir, port),
    max_connections: options.maxConnections ?? 200,
    logging_collector: "off",
    ...(durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
  };
  return ["-D", where.dataDir, "-p", String(port), ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])];
}

function urlFor(port: number): string {
  return `postgres://${postgresSuperuser}@${host}:${port}/postgres`;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function lostPortRace(log: string): boolean {
  return /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log);
}

/** Starts a PostgreSQL server on 127.0.0.1 and resolves once it answers a real query. */
export async function startPostgres(options: PostgresOptions = {}): Promise<LocalPostgres> {
  const user = ServiceUsers.forServer([postgresSuperuser]);
  const where = layout(options, user);
  try {
    const major = existingMajorVersion(where.dataDir);
    const bin = Binaries.postgres({ binDir: options.binDir, majorVersion: major });
    Dirs.ensureOwned(where.dataDir, user);
    Dirs.assertReachable(where.dataDir, user);
    if (major === undefined && where.tempRoot !== undefined) await Cluster.fromTemplate(bin, where.dataDir, where.logFile, user);
    if (major === undefined && where.tempRoot === undefined) await Cluster.init(bin, where.dataDir, where.logFile, user);
    return await launchServer(bin, where, user, options);
  } catch (error) {
    if (where.tempRoot !== undefined) Dirs.remove(where.tempRoot);
    throw error;
  }
}

async function launchServer(bin: PostgresBinaries, where: Layout, user: ServiceUser | undefined, options: PostgresOptions): Promise<LocalPostgres> {
  const durable = options.durable ?? where.tempRoot === undefined;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const requestedPort = checkedPort(options.port);
  const fixedPort = requestedPort !== 0;
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ? requestedPort : await freePort(host);
    const before = logSize(where.logFile);
    const server = ManagedProcess.launch(launchSpec(bin.postgres, serverArgs(where, port, options, durable), where, user));
    const url = urlFor(port);
    const readiness = await awaitReady(server, () => answers(url), timeoutMs);
    if (readiness.state === "ready") return track(server, url, port, where);
    await server.stop("SIGINT", shutdownGraceMs);
    const log = logTail(where.logFile, before);
    if (readiness.state === "exited" && !fixedPort && attempt < portAttempts && lostPortRace(log)) continue;
    const reason = readiness.state === "exited" ? describeExit(readiness.exit) : `no answer on port ${port} within ${timeoutMs} ms`;
    throw new ServiceStartError("postgres", reason, log);
  }
}

function track(server: ManagedProcess, url: string, port: number, where: Layout): LocalPostgres {
  let stopping: Promise<void> | undefined;
  const guard = {
    stop: () =>
      (stopping ??= (async () => {
        await server.stop("SIGINT", shutdownGraceMs);
        Lifecycle.untrack(guard);
        if (where.tempRoot !== undefined) Dirs.remove(where.tempRoot);
      })()),
    stopNow: () => {
      if (where.tempRoot === undefined) {
        // A kept cluster gets the clean fast shutdown, which finishes on its own after we are gone.
        server.signalLeader("SIGINT");
        return;
      }
      server.killNow();
      Dirs.remove(where.tempRoot);
    },
  };
  Lifecycle.track(guard);
  return { url, port, pid: server.pid, dataDir: where.dataDir, logFile: where.logFile, stop: guard.stop };
}
