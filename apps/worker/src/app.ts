import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Worker, type ConnectionOptions, type Processor } from "bullmq";
import { liveness } from "@quay/health";
import type { Logger } from "@quay/log";
import type { DbPool } from "@quay/db";
import type { QueueName, Redis } from "@quay/queue";
import { recordQueueWait, registerOpsRoutes, type WorkerOpsDeps } from "./ops-routes";

/** One queue this worker consumes and how. */
export interface Consumer {
  readonly queue: QueueName;
  readonly concurrency: number;
  readonly process: Processor;
  /** Delay before retry number `attemptsMade`, for jobs queued with a custom backoff. */
  readonly backoffMs?: (attemptsMade: number) => number;
  /** Runs once when the worker starts, before it takes jobs: re-queues work a crash left behind. */
  readonly recover?: () => Promise<void>;
  /**
   * Runs every `everyMs` while the worker lives: re-queues work whose job was lost while no worker
   * restarted (an api that died, or Redis down, between recording the work and queueing it). Its
   * errors are logged, and it runs again at the next tick.
   */
  readonly sweep?: { readonly everyMs: number; run(): Promise<void> };
}

export interface WorkerDeps {
  readonly logger: Logger;
  readonly pool: DbPool;
  /** For health checks and ordinary commands. */
  readonly redis: Redis;
  /** BullMQ workers block on their connection, so they get their own. */
  readonly bullConnection: ConnectionOptions;
  readonly prefix?: string;
  readonly consumers: readonly Consumer[];
  /** GET /metrics, GET /readyz and the queue-wait metric; absent, only /healthz is served. */
  readonly ops?: WorkerOpsDeps;
}

export interface RunningWorker {
  readonly http: FastifyInstance;
  readonly workers: readonly Worker[];
  close(): Promise<void>;
}

/** Starts the consumers and the worker's own small HTTP server (/healthz). */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  for (const consumer of deps.consumers) await consumer.recover?.();
  const workers = deps.consumers.map((consumer) => {
    const worker = new Worker(consumer.queue, consumer.process, {
      connection: deps.bullConnection,
      concurrency: consumer.concurrency,
      ...(consumer.backoffMs ? { settings: { backoffStrategy: consumer.backoffMs } } : {}),
      ...(deps.prefix ? { prefix: deps.prefix } : {}),
    });
    worker.on("failed", (job, error) =>
      deps.logger.warn({ queue: consumer.queue, jobId: job?.id, err: error }, "job failed"),
    );
    worker.on("error", (error) => deps.logger.error({ queue: consumer.queue, err: error }, "worker error"));
    if (deps.ops) recordQueueWait(worker, deps.ops.metrics);
    return worker;
  });

  const sweeps = deps.consumers.flatMap((consumer) => {
    const sweep = consumer.sweep;
    if (!sweep) return [];
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      sweep
        .run()
        .catch((error: unknown) => deps.logger.warn({ queue: consumer.queue, err: error }, "sweep failed; it runs again"))
        .finally(() => {
          running = false;
        });
    }, sweep.everyMs);
    timer.unref();
    return [timer];
  });

  const http = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  http.get("/healthz", async () => ({
    ...(await liveness({ postgres: () => deps.pool.query("select 1"), redis: () => deps.redis.ping() })),
    consumers: Object.fromEntries(workers.map((w) => [w.name, { running: w.isRunning() }])),
  }));

  if (deps.ops) registerOpsRoutes(http, deps.ops);

  return {
    http,
    workers,
    async close() {
      for (const timer of sweeps) clearInterval(timer);
      await Promise.allSettled(workers.map((w) => w.close()));
      await http.close();
    },
  };
}
