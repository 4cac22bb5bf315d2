import { rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import { strKeyOf, strKeyOfScVal } from "./addresses";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";

/**
 * What the RPC's simulation of the client's transaction must show: success, a fee inside
 * [minResourceFee, Quay's maximum], and as its only contract event the one transfer of exactly the
 * amount from the payer to payTo in the asset: no other balance change. Pure.
 */

export type SimulationSuccess = rpc.Api.SimulateTransactionSuccessResponse;

export interface ExpectedTransfer {
  readonly asset: string;
  readonly from: string;
  readonly to: string;
  readonly amount: bigint;
}

const MAX_MESSAGE = 300;

export const Simulation = {
  requireSuccess(simulation: rpc.Api.SimulateTransactionResponse, payer: string): SimulationSuccess {
    if (rpc.Api.isSimulationError(simulation)) {
      throw new Rejection(InvalidReason.simulationFailed, `simulation failed: ${headline(simulation.error)}`, payer);
    }
    // Stricter than the library, which accepts it: a transfer that needs a restore first fails on chain as built.
    if (rpc.Api.isSimulationRestore(simulation)) {
      throw new Rejection(InvalidReason.simulationFailed, "simulation needs archived entries restored first", payer);
    }
    if (!rpc.Api.isSimulationSuccess(simulation)) {
      throw new Rejection(InvalidReason.simulationFailed, "simulation returned no result", payer);
    }
    return simulation;
  },

  requireFeeWithin(fee: bigint, simulation: SimulationSuccess, maxFeeStroops: bigint, payer: string): void {
    const minimum = BigInt(simulation.minResourceFee);
    if (fee < minimum) {
      throw new Rejection(InvalidReason.feeBelowMinimum, `the fee ${fee} is below the simulated minimum resource fee ${minimum}`, payer);
    }
    if (fee > maxFeeStroops) {
      // No payer here, as from the library.
      throw new Rejection(InvalidReason.feeExceedsMaximum, `the fee ${fee} exceeds the facilitator's maximum ${maxFeeStroops}`);
    }
  },

  requireOnlyTheTransfer(events: readonly xdr.DiagnosticEvent[], expected: ExpectedTransfer): void {
    const payer = expected.from;
    const transfers: Array<{ from: unknown; to: unknown; amount: unknown }> = [];
    for (const diagnostic of events) {
      const event = diagnostic.event();
      // System and diagnostic events (fn_call, fn_return, logs) move no balance.
      if (event.type() !== xdr.ContractEventType.contract()) continue;
      const body = event.body().v0();
      const topics = body.topics();
      const [name, fromTopic, toTopic] = topics;
      if (!name || !fromTopic || !toTopic || name.switch() !== xdr.ScValType.scvSymbol() || name.sym().toString() !== "transfer") {
        throw new Rejection(InvalidReason.eventNotTransfer, "the simulation emits a contract event other than a transfer", payer);
      }
      // Stricter than the library: an event from a call that failed (and was caught) moved nothing.
      if (!diagnostic.inSuccessfulContractCall()) {
        throw new Rejection(InvalidReason.eventNotTransfer, "the simulation emits a transfer event from a failed call", payer);
      }
      const contractId = event.contractId();
      if (!contractId) throw new Rejection(InvalidReason.eventMissingContractId, "a transfer event has no contract id", payer);
      const contract = strKeyOf(xdr.ScAddress.scAddressTypeContract(contractId));
      if (contract !== expected.asset) {
        throw new Rejection(InvalidReason.eventWrongAsset, `a transfer event comes from ${contract}, not the asset`, payer);
      }
      transfers.push({ from: addressOf(fromTopic), to: addressOf(toTopic), amount: amountOf(body.data()) });
    }
    const [transfer, ...more] = transfers;
    if (!transfer) throw new Rejection(InvalidReason.noTransferEvents, "the simulation emits no transfer event", payer);
    if (more.length > 0) throw new Rejection(InvalidReason.multipleTransfers, `the simulation emits ${transfers.length} transfer events`, payer);
    if (transfer.from !== expected.from) throw new Rejection(InvalidReason.eventWrongFrom, "the transfer event is not from the payer", payer);
    if (transfer.to !== expected.to) throw new Rejection(InvalidReason.eventWrongTo, "the transfer event is not to payTo", payer);
    if (transfer.amount !== expected.amount) {
      throw new Rejection(InvalidReason.eventWrongAmount, "the transfer event does not move the required amount", payer);
    }
  },
};

function addressOf(value: xdr.ScVal): string | undefined {
  return value.switch() === xdr.ScValType.scvAddress() ? strKeyOfScVal(value) : undefined;
}

function amountOf(value: xdr.ScVal): bigint | undefined {
  return value.switch() === xdr.ScValType.scvI128() ? (scValToNative(value) as bigint) : undefined;
}

/** The error's first line only: the event log after it can quote call arguments, signatures among them. */
function headline(error: string): string {
  const first = error.split("\n", 1)[0]?.trim() ?? "";
  return first.length > MAX_MESSAGE ? `${first.slice(0, MAX_MESSAGE)}…` : first;
}
