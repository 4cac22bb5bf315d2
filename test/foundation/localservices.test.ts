import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  BinaryNotFoundError,
  DataDirError,
  DatabaseNameError,
  Databases,
  portIsClosed,
  ProcessTree,
  ServiceUsers,
  startPostgres,
  startRedis,
  type ProcessEntry,
} from "@quay/localservices";
import { freshDatabaseUrl, redisPrefix, redisUrl } from "../helpers/services";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Waits until none of the processes is alive (the kernel's parent-death signal takes a moment). */
async function waitUntilGone(tree: readonly ProcessEntry[], timeoutMs = 10_000): Promise<ProcessEntry[]> {
  const deadline = Date.now() + timeoutMs;
  let living = ProcessTree.living(tree);
  while (living.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    living = ProcessTree.living(tree);
  }
  return living;
}

describe("test services from the globalSetup", () => {
  it("gives a real Postgres: a fresh database takes DDL and returns rows", async () => {
    const url = await freshDatabaseUrl();
    await query(url, "CREATE TABLE amounts (value numeric(39,0) NOT NULL)");
    await query(url, "INSERT INTO amounts VALUES (170141183460469231731687303715884105727)");
    const rows = await query<{ value: string; db: string }>(url, "SELECT value::text AS value, current_database() AS db FROM amounts");
    expect(rows).toEqual([{ value: "170141183460469231731687303715884105727", db: new URL(url).pathname.slice(1) }]);
  });

  it("gives a real Redis: SET then GET under this file's prefix", async () => {
    const client = new Redis(redisUrl(), { lazyConnect: true });
    await client.connect();
    try {
      const key = `${redisPrefix()}:probe`;
      expect(await client.set(key, "quay", "EX", 60)).toBe("OK");
      expect(await client.get(key)).toBe("quay");
      expect(await client.ttl(key)).toBeGreaterThan(0);
    } finally {
      await client.quit();
    }
  });

  it("keeps fresh databases apart", async () => {
    const [first, second] = await Promise.all([freshDatabaseUrl(), freshDatabaseUrl()]);
    expect(first).not.toBe(second);
    await query(first, "CREATE TABLE only_in_first (id int)");
    const [seen] = await query<{ table: string | null }>(second, "SELECT to_regclass('only_in_first')::text AS table");
    expect(seen?.table).toBeNull();
    const [own] = await query<{ table: string | null }>(first, "SELECT to_regclass('only_in_first')::text AS table");
    expect(own?.table).toBe("only_in_first");
  });

  it("keeps one redis prefix per test file", () => {
    expect(redisPrefix()).toBe(redisPrefix());
    // under the run's prefix, so that teardown can find and delete the keys on a shared Redis
    expect(redisPrefix()).toMatch(new RegExp(`^${inject("testRunPrefix")}-[0-9a-f]{8}$`));
  });

  it("refuses a database prefix that is not a plain identifier", async () => {
    await expect(Databases.create("postgres://postgres@127.0.0.1:1/postgres", 'x"; DROP DATABASE postgres; --')).rejects.toBeInstanceOf(
      DatabaseNameError,
    );
  });
});

describe("local services lifecycle", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "quay-localservices-test-"));
  // run as root, the servers run as an unprivileged user, who must be able to reach dirs in here
  chmodSync(scratch, 0o755);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("starts a second pair and stops it without leaving a process, a port or a temp dir behind", async () => {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    const pgRoot = path.dirname(postgres.dataDir);
    // postgres forks helpers (checkpointer, walwriter...) and a backend per connection: all must go
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    client.on("error", () => undefined); // the stop below ends this connection from the server side
    const pgTree = ProcessTree.snapshot(postgres.pid);
    const redisTree = ProcessTree.snapshot(redis.pid);
    expect(pgTree.length).toBeGreaterThan(3);
    expect(redisTree.map((entry) => entry.pid)).toContain(redis.pid);
    const [fsync] = await query<{ fsync: string }>(postgres.url, "SHOW fsync");
    expect(fsync?.fsync).toBe("off");

    await Promise.all([postgres.stop(), redis.stop(), postgres.stop()]);
    await redis.stop();
    await client.end().catch(() => undefined);

    expect(ProcessTree.living(pgTree)).toEqual([]);
    expect(ProcessTree.living(redisTree)).toEqual([]);
    expect(await portIsClosed(postgres.port)).toBe(true);
    expect(await portIsClosed(redis.port)).toBe(true);
    expect(existsSync(pgRoot)).toBe(false);
    expect(existsSync(redis.dataDir)).toBe(false);
  });

  it("reuses a kept data dir across runs, durably", async () => {
    const dataDir = path.join(scratch, "kept", "postgres");
    const first = await startPostgres({ dataDir });
    try {
      await query(first.url, "CREATE TABLE survivors (name text)");
      await query(first.url, "INSERT INTO survivors VALUES ('row from run 1')");
      const [fsync] = await query<{ fsync: string }>(first.url, "SHOW fsync");
      expect(fsync?.fsync).toBe("on");
    } finally {
      await first.stop();
    }
    const second = await startPostgres({ dataDir });
    try {
      expect(await query(second.url, "SELECT name FROM survivors")).toEqual([{ name: "row from run 1" }]);
    } finally {
      await second.stop();
    }
    expect(existsSync(path.join(dataDir, "PG_VERSION"))).toBe(true);
  });

  it("refuses a data dir that holds something other than a cluster", async () => {
    const dataDir = path.join(scratch, "not-a-cluster");
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, "notes.txt"), "mine");
    await expect(startPostgres({ dataDir })).rejects.toBeInstanceOf(DataDirError);
    expect(readFileSync(path.join(dataDir, "notes.txt"), "utf8")).toBe("mine");
  });

  it.runIf(ServiceUsers.isRoot())("as root, refuses a data dir the server's user cannot reach, saying why", async () => {
    const privateParent = path.join(scratch, "private");
    mkdirSync(privateParent, { mode: 0o700 });
    const error = await startPostgres({ dataDir: path.join(privateParent, "postgres") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toContain("user postgres cannot write it");
  });

  it("names the package to install when a binary is missing", async () => {
    const pgError = await startPostgres({ binDir: path.join(scratch, "no-such-bin") }).catch((error: unknown) => error);
    expect(pgError).toBeInstanceOf(BinaryNotFoundError);
    expect((pgError as Error).message).toContain("postgres server binaries not found: install postgresql (apt-get install -y postgresql)");
    const redisError = await startRedis({ binary: path.join(scratch, "no-such-bin", "redis-server") }).catch((error: unknown) => error);
    expect(redisError).toBeInstanceOf(BinaryNotFoundError);
    expect((redisError as Error).message).toContain("install redis-server (apt-get install -y redis-server)");
  });
});

describe("servers do not outlive their parent", () => {
  // A separate node process starts both servers, reports them, then dies the way the test says.
  const child = `
    const { startPostgres, startRedis } = await import("@quay/localservices");
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    console.log(JSON.stringify({ pg: pg.pid, pgRoot: (await import("node:path")).dirname(pg.dataDir), redis: redis.pid, redisDir: redis.dataDir }));
    setInterval(() => {}, 1000);
  `;

  interface Parent {
    readonly process: ChildProcess;
    readonly trees: ProcessEntry[];
    readonly pgRoot: string;
    readonly redisDir: string;
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  const parents: ChildProcess[] = [];
  afterAll(() => {
    // a failed assertion must not leave a parent (and its servers) running
    for (const parent of parents) if (parent.exitCode === null && parent.signalCode === null) parent.kill("SIGKILL");
  });

  async function startParent(): Promise<Parent> {
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", child], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    parents.push(parent);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      parent.once("exit", (code, signal) => resolve({ code, signal })),
    );
    let stdout = "";
    let stderr = "";
    parent.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const servers = await new Promise<{ pg: number; pgRoot: string; redis: number; redisDir: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`parent did not report its servers in time: ${stderr}`)), 30_000);
      parent.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split("\n").find((l) => l.startsWith("{"));
        if (line === undefined) return;
        clearTimeout(timer);
        resolve(JSON.parse(line));
      });
      void exited.then(({ code }) => reject(new Error(`parent exited early (code ${code}): ${stderr}`)));
    });
    const trees = [...ProcessTree.snapshot(servers.pg), ...ProcessTree.snapshot(servers.redis)];
    return { process: parent, trees, pgRoot: servers.pgRoot, redisDir: servers.redisDir, exited };
  }

  it.concurrent("parent killed outright (SIGKILL): the kernel's parent-death signal takes the servers down", async () => {
    const parent = await startParent();
    // postmaster, its helpers, redis: the check below must have something to see go
    expect(parent.trees.length).toBeGreaterThan(3);
    parent.process.kill("SIGKILL");
    expect((await parent.exited).signal).toBe("SIGKILL");
    expect(await waitUntilGone(parent.trees)).toEqual([]);
    // nobody was left to delete the temp dirs: tidy up after the parent
    rmSync(parent.pgRoot, { recursive: true, force: true });
    rmSync(parent.redisDir, { recursive: true, force: true });
  });

  it.concurrent("parent asked to stop (SIGTERM): servers stop cleanly, temp dirs go, the parent still dies by SIGTERM", async () => {
    const parent = await startParent();
    expect(parent.trees.length).toBeGreaterThan(3);
    parent.process.kill("SIGTERM");
    expect((await parent.exited).signal).toBe("SIGTERM");
    // the handler stopped both before re-raising: nothing to wait for
    expect(ProcessTree.living(parent.trees)).toEqual([]);
    expect(existsSync(parent.pgRoot)).toBe(false);
    expect(existsSync(parent.redisDir)).toBe(false);
  });
});
