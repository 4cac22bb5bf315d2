import { Transaction } from "@stellar/stellar-sdk";
import type { Operation } from "@stellar/stellar-sdk";
import { TransferCheck, type TransferCheckFailure, type TransferRefusal } from "@quay/stellar";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";

/**
 * The static part of verify: the client's envelope must be one SEP-41 `transfer(from, to, amount)`
 * call on the required asset, to the required payee, of exactly the required amount, touching none
 * of Quay's accounts, and the payer's auth entry must authorise exactly that call. The checks are
 * TransferCheck's (shared with MPP), in the order of @x402/stellar's facilitator; this maps its
 * refusals to x402's reason strings. Pure.
 */

export interface TransferCall {
  readonly transaction: Transaction;
  readonly invokeOp: Operation.InvokeHostFunction;
  readonly from: string;
  readonly to: string;
  readonly amount: bigint;
}

export interface TransferExpectation {
  readonly asset: string;
  readonly payTo: string;
  readonly amount: bigint;
  readonly quayAddresses: ReadonlySet<string>;
}

export const Transfer = {
  /** The envelope as a (non fee-bump) transaction bound to `passphrase`, or `malformed`. */
  parse(envelope: string, passphrase: string): Transaction {
    try {
      return new Transaction(envelope, passphrase);
    } catch {
      // The parser's message can quote the input; the reason says enough.
      throw new Rejection(InvalidReason.malformed, "payload.transaction is not a base64 transaction envelope");
    }
  },

  /** The call and the payer's auth entries against it (TransferCheck), as x402 reasons. */
  read(transaction: Transaction, expected: TransferExpectation): TransferCall {
    const checked = TransferCheck.call(transaction, { asset: expected.asset, to: expected.payTo, amount: expected.amount, forbidden: expected.quayAddresses });
    if (!checked.ok) throw Transfer.rejection(checked);
    const { operation, from, to, amount } = checked.value;
    return { transaction, invokeOp: operation, from, to, amount };
  },

  /** A TransferCheck refusal as the x402 rejection it is on the wire. */
  rejection(failure: TransferCheckFailure): Rejection {
    const reason = X402_REASONS[failure.refusal];
    // As the library answers it: no payer when the payer is one of the facilitator's accounts.
    return new Rejection(reason, failure.message, reason === InvalidReason.facilitatorIsPayer ? undefined : failure.payer);
  },
};

/** Each refusal of the shared check under @x402/stellar's reason for it (Quay's own where the library has none). */
const X402_REASONS: Readonly<Record<TransferRefusal, InvalidReason>> = {
  wrong_operation_count: InvalidReason.wrongOperation,
  not_host_function: InvalidReason.wrongOperation,
  forbidden_source: InvalidReason.unsafeTxOrOpSource,
  not_contract_call: InvalidReason.wrongOperation,
  wrong_asset: InvalidReason.wrongAsset,
  wrong_function: InvalidReason.wrongFunctionName,
  wrong_argument_types: InvalidReason.wrongFunctionName,
  forbidden_payer: InvalidReason.facilitatorIsPayer,
  // x402 names no payer before the call does, so the check never answers this; were it to, the
  // transfer would not be the one required.
  wrong_from: InvalidReason.wrongOperation,
  wrong_recipient: InvalidReason.wrongRecipient,
  wrong_amount: InvalidReason.wrongAmount,
  auth_invocation_mismatch: InvalidReason.authInvocationMismatch,
  event_not_transfer: InvalidReason.eventNotTransfer,
  event_in_failed_call: InvalidReason.eventNotTransfer,
  event_missing_contract: InvalidReason.eventMissingContractId,
  event_wrong_asset: InvalidReason.eventWrongAsset,
  no_transfer_event: InvalidReason.noTransferEvents,
  multiple_transfer_events: InvalidReason.multipleTransfers,
  event_forbidden_sender: InvalidReason.eventWrongFrom,
  event_wrong_from: InvalidReason.eventWrongFrom,
  event_wrong_to: InvalidReason.eventWrongTo,
  event_wrong_amount: InvalidReason.eventWrongAmount,
};
