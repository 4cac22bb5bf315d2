import pg from "pg";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import * as schema from "./schema";

export type DbPool = pg.Pool;
export type Db = NodePgDatabase<typeof schema>;

export interface PoolOptions {
  readonly url: string;
  readonly max?: number;
  readonly applicationName?: string;
}

export function createPool(options: PoolOptions): DbPool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "quay",
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart) must not crash the process; the
  // next query reconnects and the health check reports the outage.
  pool.on("error", () => {});
  return pool;
}

export function createDb(pool: DbPool): Db {
  return drizzle(pool, { schema });
}

/** A transaction handle, for code that must run inside a caller's transaction. */
export type DbTx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either a database or a transaction on it. */
export type DbLike = Db | DbTx;

/**
 * A statement built once per database handle, for hot paths: `preparedOnce((db) => db.select()…
 * .prepare("name"))` gives a function returning that database's prepared statement. Drizzle then
 * builds the SQL once, and Postgres parses and plans it once per connection.
 */
export function preparedOnce<T>(build: (db: Db) => T): (db: Db) => T {
  const built = new WeakMap<Db, T>();
  return (db) => {
    let statement = built.get(db);
    if (statement === undefined) built.set(db, (statement = build(db)));
    return statement;
  };
}
