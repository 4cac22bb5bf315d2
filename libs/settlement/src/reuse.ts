import { rpc, SorobanDataBuilder, xdr } from "@stellar/stellar-sdk";
import type { Submission } from "./records";

/**
 * Verify at /settle has just simulated the client's transaction. Rebuilt on a channel account it
 * touches the same ledger entries with the same auth (the source account is outside a Soroban
 * footprint), so a submission's first build can take that simulation's footprint and resources
 * instead of asking the RPC again: one simulation per submission, not two, and a channel account
 * back on the wire sooner. Only while the simulation is a few ledgers old; rebuilds simulate afresh.
 */
export const ReusableSimulation = {
  /** What a submission row keeps of verify's simulation. */
  from(simulation: rpc.Api.SimulateTransactionSuccessResponse): { simulatedResources: string; simulatedAtLedger: number } {
    const data = new SorobanDataBuilder(simulation.transactionData.build().toXDR("base64"))
      .setResourceFee(BigInt(simulation.minResourceFee))
      .build();
    return { simulatedResources: data.toXDR("base64"), simulatedAtLedger: simulation.latestLedger };
  },

  /** The kept footprint and resources (resource fee = the simulated minimum), if at most `maxAgeLedgers` old at `latestLedger`. */
  fresh(
    submission: Pick<Submission, "simulatedResources" | "simulatedAtLedger">,
    latestLedger: number,
    maxAgeLedgers: number,
  ): { transactionData: xdr.SorobanTransactionData; minResourceFee: bigint } | undefined {
    if (!submission.simulatedResources || submission.simulatedAtLedger === null || maxAgeLedgers <= 0) return undefined;
    if (latestLedger - submission.simulatedAtLedger > maxAgeLedgers) return undefined;
    const transactionData = xdr.SorobanTransactionData.fromXDR(submission.simulatedResources, "base64");
    return { transactionData, minResourceFee: BigInt(transactionData.resourceFee().toString()) };
  },
};
