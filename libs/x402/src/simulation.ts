import { rpc, StrKey, xdr } from "@stellar/stellar-sdk";
import { DEFAULT_RESOURCE_PAD_PERCENT, Fees, strKeyOf, TransferCheck, type ExpectedEvents } from "@quay/stellar";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";
import { Transfer } from "./transfer";

/**
 * What the RPC's simulation of the client's transaction must show: success, a cost Quay can pay
 * within its maximum, and as its only contract event the one transfer of exactly the amount from
 * the payer to payTo in the asset: no other balance change. Pure.
 */

export type SimulationSuccess = rpc.Api.SimulateTransactionSuccessResponse;

/** The transfer the simulation must show: the shared check's expectation, the payer known by then. */
export type ExpectedTransfer = ExpectedEvents;

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

  /**
   * As upstream x402 judges fees since its fees-from-simulation change: the client's own fee is not
   * judged (Quay rebuilds the transaction and pays its own), the cost Quay will pay is. That is the
   * simulated minimum resource fee, padded as settlement pads it, plus the minimum inclusion bid on
   * the fee bump's two operations; it must fit the facilitator's maximum.
   */
  requireAffordable(simulation: SimulationSuccess, maxFeeStroops: bigint): void {
    const least = Fees.leastCost(BigInt(simulation.minResourceFee));
    if (least > maxFeeStroops) {
      throw new Rejection(
        InvalidReason.feeExceedsMaximum,
        `settling this payment costs at least ${least} stroops (simulated resource fee ${simulation.minResourceFee}${DEFAULT_RESOURCE_PAD_PERCENT ? `, padded ${DEFAULT_RESOURCE_PAD_PERCENT} %` : ""}, and the minimum inclusion bid); this facilitator pays at most ${maxFeeStroops}`,
        // No payer here, as from the library.
      );
    }
  },

  /** The ledger entries the payment writes (its read-write footprint): see `writeAllowed`. */
  requireOwnWrites(simulation: SimulationSuccess, expected: ExpectedTransfer): void {
    for (const key of simulation.transactionData.build().resources().footprint().readWrite()) {
      if (!writeAllowed(key, expected)) {
        throw new Rejection(InvalidReason.unexpectedWrites, `the payment writes ${describeKey(key)}, beyond the transfer's balances and the payer's own storage`, expected.from);
      }
    }
  },

  /**
   * The contract events (TransferCheck's, shared with MPP): exactly the one transfer, to the
   * requirements' payTo, and besides it only events the payer's own contract account emits about
   * itself (a spending policy recording what it allowed), as long as none of them is named like a
   * movement of value. Anything else is refused.
   */
  requireOnlyTheTransfer(events: readonly xdr.DiagnosticEvent[], expected: ExpectedTransfer): void {
    const checked = TransferCheck.events(events, expected);
    if (!checked.ok) throw Transfer.rejection(checked);
  },
};

/**
 * What the payment may write: the two balances the transfer moves (trustlines or accounts of a G
 * payer and payee; anything the token contract keeps in its own storage), and the paying
 * account's own storage (a contract account's instance and data; every payer's auth nonce lives
 * under its address). Anything else written could move or lock value elsewhere.
 */
function writeAllowed(key: xdr.LedgerKey, expected: ExpectedTransfer): boolean {
  const parties = new Set([expected.from, expected.to]);
  switch (key.switch().value) {
    case xdr.LedgerEntryType.trustline().value:
      return parties.has(StrKey.encodeEd25519PublicKey(key.trustLine().accountId().ed25519()));
    case xdr.LedgerEntryType.account().value:
      return parties.has(StrKey.encodeEd25519PublicKey(key.account().accountId().ed25519()));
    case xdr.LedgerEntryType.contractData().value: {
      const owner = strKeyOf(key.contractData().contract());
      return owner === expected.asset || owner === expected.from;
    }
    default:
      return false;
  }
}

function describeKey(key: xdr.LedgerKey): string {
  switch (key.switch().value) {
    case xdr.LedgerEntryType.contractData().value:
      return `contract data of ${strKeyOf(key.contractData().contract())}`;
    case xdr.LedgerEntryType.trustline().value:
      return `a trustline of ${StrKey.encodeEd25519PublicKey(key.trustLine().accountId().ed25519())}`;
    case xdr.LedgerEntryType.account().value:
      return `the account ${StrKey.encodeEd25519PublicKey(key.account().accountId().ed25519())}`;
    default:
      return `a ${key.switch().name} entry`;
  }
}

/** The error's first line only: the event log after it can quote call arguments, signatures among them. */
function headline(error: string): string {
  const first = error.split("\n", 1)[0]?.trim() ?? "";
  return first.length > MAX_MESSAGE ? `${first.slice(0, MAX_MESSAGE)}…` : first;
}
