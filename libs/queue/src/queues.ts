import { Queue, type ConnectionOptions } from "bullmq";
import { z } from "zod";

/**
 * Every BullMQ queue Quay runs and the shape of its jobs, in one place. Jobs carry ids only:
 * the state they act on lives in Postgres, so a job that is retried, or picked up again after a
 * worker died, re-reads the truth instead of trusting a stale copy.
 */
export const QueueNames = {
  /** x402 and MPP charge settlements: build, submit and confirm one payment. */
  settle: "settle",
} as const;

export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];

export const JobSchemas = {
  settle: z.object({ paymentId: z.uuid() }),
} satisfies Record<QueueName, z.ZodType>;

export type JobData<Q extends QueueName> = z.infer<(typeof JobSchemas)[Q]>;

export interface QueueOptionsBase {
  readonly connection: ConnectionOptions;
  /** Key prefix; lets tests and several deployments share one Redis. */
  readonly prefix?: string;
}

export type QuayQueue<Q extends QueueName> = Queue<JobData<Q>, unknown, Q>;

export function openQueue<Q extends QueueName>(name: Q, options: QueueOptionsBase): QuayQueue<Q> {
  return new Queue<JobData<Q>, unknown, Q>(name, {
    connection: options.connection,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    defaultJobOptions: { removeOnComplete: { count: 10_000 }, removeOnFail: { count: 10_000 } },
  });
}
