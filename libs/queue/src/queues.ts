import { Queue, type ConnectionOptions } from "bullmq";
import { z } from "zod";

/**
 * Every BullMQ queue Quay runs and the shape of its jobs, in one place. Jobs carry ids only:
 * the state they act on lives in Postgres, so a job that is retried, or picked up again after a
 * worker died, re-reads the truth instead of trusting a stale copy.
 */
export const QueueNames = {
  /** The settlement core: build, submit and confirm one submission (any kind). */
  settle: "settle",
  /** MPP: close one channel (job id = the channel id, so a channel has at most one close job). */
  mppClose: "mpp-close",
  /** MPP: repeatable sweep that restores and extends the TTL of open channels, and closes idle ones. */
  mppTtl: "mpp-ttl",
  /** MPP: repeatable poll of getEvents for channel contract events, from a cursor kept in Postgres. */
  mppEvents: "mpp-events",
} as const;

export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];

export const JobSchemas = {
  settle: z.union([
    z.object({ submissionId: z.uuid() }),
    // Jobs queued before submissions had their name.
    z.object({ paymentId: z.uuid() }).transform(({ paymentId }) => ({ submissionId: paymentId })),
  ]),
  "mpp-close": z.object({ channelId: z.uuid() }),
  "mpp-ttl": z.object({ network: z.string().optional() }),
  "mpp-events": z.object({ network: z.string().optional() }),
} satisfies Record<QueueName, z.ZodType>;

export type JobData<Q extends QueueName> = z.infer<(typeof JobSchemas)[Q]>;

export interface QueueOptionsBase {
  readonly connection: ConnectionOptions;
  /** Key prefix; lets tests and several deployments share one Redis. */
  readonly prefix?: string;
}

export type QuayQueue<Q extends QueueName> = Queue<JobData<Q>, unknown, Q>;

export function openQueue<Q extends QueueName>(name: Q, options: QueueOptionsBase): QuayQueue<Q> {
  const queue = new Queue<JobData<Q>, unknown, Q>(name, {
    connection: options.connection,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    defaultJobOptions: { removeOnComplete: { count: 10_000 }, removeOnFail: { count: 10_000 } },
  });
  // A Redis outage surfaces in the calls that fail (and in /healthz); unlistened, BullMQ prints each reconnect error.
  queue.on("error", () => {});
  return queue;
}
