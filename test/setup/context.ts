/** What the globalSetup hands every test file (read with `inject`, or through test/helpers/services). */
declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the test Postgres server; tests make their own database on it (freshDatabaseUrl). */
    testPostgresUrl: string;
    testRedisUrl: string;
    /** Unique to this run: prefixes test databases and Redis keys, so that teardown can find and drop them. */
    testRunPrefix: string;
  }
}

export type ServiceSource = "env" | "docker" | "local";

export interface AcquiredService {
  readonly url: string;
  readonly source: ServiceSource;
  /** Undoes whatever acquiring did (stops a server it started; nothing for one given by the env). */
  release(): Promise<void>;
}
