import type { QuayConfig } from "@quay/config";
import type { Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import type { ChannelLeases } from "@quay/pool";
import { Closer, Closes, EventWatcher, TtlSweep, ttlBumpSettled, type CloseQueue } from "@quay/channels";
import { JobSchemas, openQueue, QueueNames } from "@quay/queue";
import type { SettleQueue, Submission, SubmissionKind } from "@quay/settlement";
import type { StellarNetwork } from "@quay/stellar";
import type { Consumer } from "../app";

export interface MppConsumerContext {
  readonly config: QuayConfig;
  readonly logger: Logger;
  readonly db: Db;
  readonly settleQueue: SettleQueue;
  readonly leases: ChannelLeases;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  readonly masterKey: Buffer;
  readonly metrics: Metrics;
}

/**
 * The MPP relayer's queues: `mpp-close` (one job per channel), and the repeatable `mpp-ttl` sweep
 * and `mpp-events` watcher, scheduled at start with upsertJobScheduler (idempotent: one scheduler
 * per queue however many workers start). Their queues share the settle queue's Redis connection.
 */
export function mppConsumers(context: MppConsumerContext): {
  readonly list: Consumer[];
  /** Hooks the settle job runs once a submission of this kind is final. */
  readonly afterFinal: Partial<Record<SubmissionKind, (submission: Submission) => Promise<void>>>;
} {
  const connection = { connection: context.settleQueue.opts.connection, ...(context.settleQueue.opts.prefix ? { prefix: context.settleQueue.opts.prefix } : {}) };
  const closeQueue: CloseQueue = openQueue(QueueNames.mppClose, connection);
  const ttlQueue = openQueue(QueueNames.mppTtl, connection);
  const eventsQueue = openQueue(QueueNames.mppEvents, connection);
  const { mpp } = context.config;

  const list: Consumer[] = [
    {
      queue: QueueNames.mppClose,
      concurrency: 5,
      process: async (job) => {
        const { channelId } = JobSchemas["mpp-close"].parse(job.data);
        const close = await Closer.run(
          { db: context.db, settleQueue: context.settleQueue, networks: context.networks, masterKey: context.masterKey, metrics: context.metrics },
          channelId,
        );
        return { status: close?.status, txHash: close?.txHash };
      },
      // Closes a crash left half-done are queued again (job id = channel id, so at most once).
      recover: async () => {
        for (const channelId of await Closes.unfinished(context.db)) await Closes.resume(closeQueue, channelId);
      },
    },
    {
      queue: QueueNames.mppTtl,
      concurrency: 1,
      process: async (job) => {
        const { network } = JobSchemas["mpp-ttl"].parse(job.data);
        return TtlSweep.run(
          {
            db: context.db,
            networks: context.networks,
            settleQueue: context.settleQueue,
            closeQueue,
            logger: context.logger,
            defaults: { ttlThresholdLedgers: mpp.ttlThresholdLedgers, ttlExtendTo: mpp.ttlExtendTo },
            metrics: context.metrics,
          },
          network,
        );
      },
      recover: async () => {
        await ttlQueue.upsertJobScheduler("mpp-ttl", { every: mpp.ttlSweepSeconds * 1000 }, { name: QueueNames.mppTtl, data: {} });
      },
    },
    {
      queue: QueueNames.mppEvents,
      concurrency: 1,
      process: async () => {
        const outcome = { events: 0, disputes: 0 };
        for (const network of context.networks.values()) {
          const polled = await EventWatcher.poll({ db: context.db, networks: context.networks, closeQueue, logger: context.logger, metrics: context.metrics }, network);
          outcome.events += polled.events;
          outcome.disputes += polled.disputes;
        }
        return outcome;
      },
      recover: async () => {
        await eventsQueue.upsertJobScheduler("mpp-events", { every: mpp.eventsPollSeconds * 1000 }, { name: QueueNames.mppEvents, data: {} });
      },
    },
  ];
  return {
    list,
    afterFinal: {
      mpp_close: (submission) => Closer.afterFinal(context.db, closeQueue, submission.id),
      ttl_bump: (submission) => ttlBumpSettled(context.db, context.metrics, submission),
    },
  };
}
