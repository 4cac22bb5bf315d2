import path from "node:path";
import { Redis } from "ioredis";
import { Binaries } from "./binaries";
import { Dirs } from "./dirs";
import { ServiceStartError } from "./errors";
import { Lifecycle } from "./lifecycle";
import { checkedPort, freePort } from "./ports";
import { ManagedProcess, type LaunchSpec } from "./process";
import { awaitReady, describeExit, logSize, logTail } from "./startup";
import { ServiceUsers, type ServiceUser } from "./users";

export interface RedisOptions {
  /** Working dir of the server (nothing is persisted: no RDB, no AOF). Omitted: a temp dir, deleted on stop. */
  readonly dataDir?: string;
  /** 0 or omitted: a free port. */
  readonly port?: number;
  /** Path of the redis-server binary to use. */
  readonly binary?: string;
  readonly startTimeoutMs?: number;
}

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** Stops the server; deletes a temp dir. Safe to call more than once. */
  stop(): Promise<void>;
}

const host = "127.0.0.1";
const portAttempts = 3;
const shutdownGraceMs = 5_000;

interface Layout {
  readonly dir: string;
  readonly logFile: string;
  readonly tempRoot: string | undefined;
}

function layout(options: RedisOptions, user: ServiceUser | undefined): Layout {
  if (options.dataDir === undefined) {
    const tempRoot = Dirs.makeTemp("quay-redis-", user);
    return { dir: tempRoot, logFile: path.join(tempRoot, "redis.log"), tempRoot };
  }
  const dir = path.resolve(options.dataDir);
  Dirs.ensureOwned(dir, user);
  return { dir, logFile: `${dir}.log`, tempRoot: undefined };
}

function launchSpec(binary: string, port: number, where: Layout, user: ServiceUser | undefined): LaunchSpec {
  const args = [
    ...["--port", String(port), "--bind", host, "--protected-mode", "yes"],
    // a cache and queue for tests and local runs: nothing written to disk
    ...["--save", "", "--appendonly", "no", "--dir", where.dir],
    ...["--daemonize", "no", "--logfile", "", "--loglevel", "warning"],
  ];
  return { command: binary, args, cwd: where.dir, logFile: where.logFile, user, parentDeathSignal: "SIGTERM" };
}

async function answers(port: number): Promise<boolean> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    // a refused probe leaves ioredis's 2 s close timer running, which would hold the event loop open
    disconnectTimeout: 50,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function lostPortRace(log: string): boolean {
  return /Address already in use|Could not create server TCP listening socket/i.test(log);
}

/** Starts redis-server on 127.0.0.1 and resolves once it answers PING. */
export async function startRedis(options: RedisOptions = {}): Promise<LocalRedis> {
  const binary = Binaries.redis(options.binary);
  const requestedPort = checkedPort(options.port);
  const user = ServiceUsers.forServer(["redis", "postgres"]);
  const where = layout(options, user);
  try {
    Dirs.assertReachable(where.dir, user);
    return await launchServer(binary, requestedPort, where, user, options.startTimeoutMs ?? 15_000);
  } catch (error) {
    if (where.tempRoot !== undefined) Dirs.remove(where.tempRoot);
    throw error;
  }
}

async function launchServer(binary: string, requestedPort: number, where: Layout, user: ServiceUser | undefined, timeoutMs: number): Promise<LocalRedis> {
  const fixedPort = requestedPort !== 0;
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ? requestedPort : await freePort(host);
    const before = logSize(where.logFile);
    const server = ManagedProcess.launch(launchSpec(binary, port, where, user));
    const readiness = await awaitReady(server, () => answers(port), timeoutMs);
    if (readiness.state === "ready") return track(server, port, where);
    await server.stop("SIGTERM", shutdownGraceMs);
    const log = logTail(where.logFile, before);
    if (readiness.state === "exited" && !fixedPort && attempt < portAttempts && lostPortRace(log)) continue;
    const reason = readiness.state === "exited" ? describeExit(readiness.exit) : `no answer on port ${port} within ${timeoutMs} ms`;
    throw new ServiceStartError("redis", reason, log);
  }
}

function track(server: ManagedProcess, port: number, where: Layout): LocalRedis {
  let stopping: Promise<void> | undefined;
  const guard = {
    stop: () =>
      (stopping ??= (async () => {
        await server.stop("SIGTERM", shutdownGraceMs);
        Lifecycle.untrack(guard);
        if (where.tempRoot !== undefined) Dirs.remove(where.tempRoot);
      })()),
    stopNow: () => {
      // nothing is persisted, so there is nothing a kill could lose
      server.killNow();
      if (where.tempRoot !== undefined) Dirs.remove(where.tempRoot);
    },
  };
  Lifecycle.track(guard);
  return { url: `redis://${host}:${port}`, port, pid: server.pid, dataDir: where.dir, logFile: where.logFile, stop: guard.stop };
}
