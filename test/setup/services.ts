/**
 * Vitest globalSetup: one Postgres server and one Redis for the whole run, from the first source that
 * works: TEST_DATABASE_URL / TEST_REDIS_URL, else containers when a Docker engine answers, else the
 * machine's own binaries in a temp dir (what CI uses). Test files isolate themselves on top (a
 * database each, a key prefix each: see test/helpers/services.ts).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { TestProject } from "vitest/node";
import { Databases, startPostgres, startRedis } from "@quay/localservices";
import type { AcquiredService, ServiceSource } from "./context";
import { dockerEngineAnswers, postgresContainer, redisContainer } from "./docker";

type Kind = "postgres" | "redis";

let dockerCheck: ReturnType<typeof dockerEngineAnswers> | undefined;

async function acquire(kind: Kind, envUrl: string | undefined): Promise<AcquiredService> {
  if (envUrl !== undefined && envUrl !== "") return { url: envUrl, source: "env", release: async () => undefined };
  dockerCheck ??= dockerEngineAnswers();
  if ((await dockerCheck).answers) return kind === "postgres" ? postgresContainer() : redisContainer();
  const local = kind === "postgres" ? await startPostgres() : await startRedis();
  return { url: local.url, source: "local", release: () => local.stop() };
}

/** host:port only: a URL from the environment may carry a password. */
function endpoint(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port}`;
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await client.connect();
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/** Servers we did not start outlive the run: remove what this run put on them. */
async function cleanShared(postgres: AcquiredService, redis: AcquiredService, prefix: string): Promise<void> {
  if (postgres.source === "env") await Databases.dropAll(postgres.url, prefix);
  if (redis.source === "env") await deleteKeys(redis.url, prefix);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const testRunPrefix = `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const [postgres, redis] = await Promise.allSettled([
    acquire("postgres", process.env.TEST_DATABASE_URL),
    acquire("redis", process.env.TEST_REDIS_URL),
  ]);
  if (postgres.status === "rejected" || redis.status === "rejected") {
    // one came up, the other did not: stop the one, report the other
    for (const result of [postgres, redis]) if (result.status === "fulfilled") await result.value.release();
    throw postgres.status === "rejected" ? postgres.reason : (redis as PromiseRejectedResult).reason;
  }
  const sources: Record<Kind, ServiceSource> = { postgres: postgres.value.source, redis: redis.value.source };
  if (dockerCheck !== undefined) console.log(`[test services] docker: ${(await dockerCheck).reason}`);
  console.log(
    `[test services] postgres ${sources.postgres} ${endpoint(postgres.value.url)}, redis ${sources.redis} ${endpoint(redis.value.url)}`,
  );

  project.provide("testPostgresUrl", postgres.value.url);
  project.provide("testRedisUrl", redis.value.url);
  project.provide("testRunPrefix", testRunPrefix);

  return async () => {
    try {
      await cleanShared(postgres.value, redis.value, testRunPrefix);
    } finally {
      await Promise.all([postgres.value.release(), redis.value.release()]);
    }
  };
}
