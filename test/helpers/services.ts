/**
 * Per-test-file access to the run's Postgres and Redis (started by test/setup/services.ts).
 * Each test file gets its own database and its own Redis key prefix, so files can run in parallel
 * without seeing each other's rows, jobs or keys.
 */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { Databases } from "@quay/localservices";
import "../setup/context";

/** Creates a new, empty database on the test server and returns its URL. Call once per test file (beforeAll). */
export function freshDatabaseUrl(): Promise<string> {
  return Databases.create(inject("testPostgresUrl"), inject("testRunPrefix"));
}

/** URL of the run's Redis. Share it, but keep keys under redisPrefix(). */
export function redisUrl(): string {
  return inject("testRedisUrl");
}

let filePrefix: string | undefined;

/**
 * A key prefix unique to this test file (pass it as BullMQ's `prefix`). Stable within the file: the
 * forks pool gives every test file a fresh module registry, so this module-level value is per file.
 */
export function redisPrefix(): string {
  filePrefix ??= `${inject("testRunPrefix")}-${randomBytes(4).toString("hex")}`;
  return filePrefix;
}
