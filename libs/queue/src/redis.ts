import { Redis } from "ioredis";

export { Redis };

export interface RedisOptions {
  readonly url: string;
  /** BullMQ workers block on Redis and need `maxRetriesPerRequest: null`; plain clients fail fast instead. */
  readonly forBullWorker?: boolean;
  readonly connectionName?: string;
}

export function createRedis(options: RedisOptions): Redis {
  const client = new Redis(options.url, {
    maxRetriesPerRequest: options.forBullWorker ? null : 3,
    enableReadyCheck: true,
    connectionName: options.connectionName ?? "quay",
    lazyConnect: false,
  });
  // Connection errors are retried by ioredis and surface through health checks and failing
  // commands; an unhandled 'error' event would otherwise crash the process.
  client.on("error", () => {});
  return client;
}
