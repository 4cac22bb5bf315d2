import { ConfigError, type QuayConfig } from "@quay/config";
import type { Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import { ChannelLeases } from "@quay/pool";
import { JobSchemas, QueueNames } from "@quay/queue";
import { Intake, SettlementEngine, settleBackoffMs, type SettleQueue, type SettlementNetwork } from "@quay/settlement";
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

/** The queues this worker consumes. */
export function consumers(context: ConsumerContext): Consumer[] {
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
  return [
    {
      queue: QueueNames.settle,
      concurrency: config.settleConcurrency,
      backoffMs: settleBackoffMs,
      process: async (job) => {
        const { paymentId } = JobSchemas.settle.parse(job.data);
        const payment = await engine.settle(paymentId);
        return { status: payment.status, txHash: payment.txHash };
      },
      // Payments a crash left unfinished run again now, not once BullMQ notices their dead worker.
      recover: async () => {
        for (const id of await Intake.unfinished(context.db)) await Intake.resume(context.settleQueue, id);
      },
    },
    ...mppConsumers({
      config,
      logger: context.logger,
      db: context.db,
      settleQueue: context.settleQueue,
      leases,
      networks: new Map([...networks].map(([id, n]) => [id, n.network])),
      masterKey: config.masterKey,
      metrics: context.metrics,
    }),
  ];
}
