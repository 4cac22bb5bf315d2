import { ConfigError, type QuayConfig } from "@quay/config";
import type { Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import { ChannelLeases } from "@quay/pool";
import { JobSchemas, QueueNames } from "@quay/queue";
import { Intake, isFinal, Records, SettlementEngine, settleBackoffMs, type SettleQueue, type SettlementNetwork, type Submission } from "@quay/settlement";
import { Signer, StellarNetwork } from "@quay/stellar";
import type { Consumer } from "./app";
import { mppConsumers } from "./mpp/consumers";

export interface ConsumerContext {
  readonly config: QuayConfig;
  readonly logger: Logger;
  readonly db: Db;
  readonly metrics: Metrics;
  readonly settleQueue: SettleQueue;
  readonly engineOptions?: ConstructorParameters<typeof SettlementEngine>[0]["options"];
  readonly leaseMs?: number;
}

/** The queues this worker consumes, and what its settlement engine tells readiness. */
export function consumers(context: ConsumerContext): { readonly list: Consumer[]; fundOvercommitted(network: string): boolean } {
  const { config } = context;
  if (!config.masterKey) throw new ConfigError("QUAY_MASTER_KEY", "set: the worker opens channel-account keys with it");
  const networks = new Map<string, SettlementNetwork>(
    config.networks.map((n) => [
      n.id,
      { network: new StellarNetwork(n, context.metrics), fund: Signer.fromSecret(n.fundSecret), maxFeeStroops: n.maxFeeStroops },
    ]),
  );
  const leases = new ChannelLeases(context.db, config.masterKey, context.leaseMs ? { leaseMs: context.leaseMs } : {});
  const engine = new SettlementEngine({
    db: context.db,
    leases,
    networks,
    metrics: context.metrics,
    logger: context.logger,
    ...(context.engineOptions ? { options: context.engineOptions } : {}),
  });
  const mpp = mppConsumers({
    config,
    logger: context.logger,
    db: context.db,
    settleQueue: context.settleQueue,
    leases,
    networks: new Map([...networks].map(([id, n]) => [id, n.network])),
    masterKey: config.masterKey,
    metrics: context.metrics,
  });
  // What a protocol layer does once one of its submissions is final (e.g. an MPP close records its
  // outcome): run by the settle job, so a failed hook fails the job and its retry runs it again.
  const afterFinal = async (submission: Submission) => {
    await mpp.afterFinal[submission.kind]?.(submission);
    return { status: submission.status, txHash: submission.txHash };
  };
  const list: Consumer[] = [
    {
      queue: QueueNames.settle,
      concurrency: config.settleConcurrency,
      backoffMs: settleBackoffMs,
      process: async (job) => {
        const { submissionId } = JobSchemas.settle.parse(job.data);
        try {
          return await afterFinal(await engine.settle(submissionId));
        } catch (error) {
          // Another run of the submission may have made it final meanwhile: this job's work is done,
          // and BullMQ's failed set keeps meaning "submissions still not settled".
          const submission = await Records.submission(context.db, submissionId).catch(() => undefined);
          if (submission && isFinal(submission)) return afterFinal(submission);
          throw error;
        }
      },
      // Payments a crash left unfinished run again now, not once BullMQ notices their dead worker.
      recover: async () => {
        for (const id of await Intake.unfinished(context.db)) await Intake.resume(context.settleQueue, id);
      },
      sweep: {
        everyMs: config.settleSweepSeconds * 1000,
        run: async () => {
          for (const id of await Intake.unfinished(context.db, { idleSeconds: config.settleSweepSeconds })) {
            const queued = await Intake.requeue(context.settleQueue, id).catch((error: unknown) => {
              context.metrics.settleSweeps.inc({ outcome: "failed" });
              throw error; // Redis is down: the next tick tries again
            });
            if (queued) context.metrics.settleSweeps.inc({ outcome: "queued" });
          }
        },
      },
    },
    ...mpp.list,
  ];
  return { list, fundOvercommitted: (network) => engine.fundOvercommitted(network) };
}
