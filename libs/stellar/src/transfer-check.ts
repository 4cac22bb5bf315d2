import { scValToNative, xdr, type Operation, type Transaction } from "@stellar/stellar-sdk";
import { baseAccountOf, isOneOf, strKeyOf, strKeyOfScVal } from "./addresses";
import { AuthEntry } from "./auth-entry";

/**
 * The one check of a SEP-41 `transfer(from, to, amount)` payment, shared by every protocol Quay
 * settles (x402 `exact`, MPP `stellar/charge`), so both judge the same transaction the same way:
 * the call itself, the payer's auth entries (they must authorise exactly this call), and, once
 * simulated, its contract events (the one transfer, nothing else moving value). Pure: no RPC, no
 * clock, no throw; every outcome is a value, and a refusal is a typed reason each protocol maps to
 * its own vocabulary. What only one protocol cares about (x402's auth-entry rules and footprint,
 * MPP's challenge, DID and fee bump) stays with it.
 */

export type TransferRefusal =
  // The call.
  | "wrong_operation_count"
  | "not_host_function"
  | "forbidden_source"
  | "not_contract_call"
  | "wrong_asset"
  | "wrong_function"
  | "wrong_argument_types"
  | "forbidden_payer"
  | "wrong_from"
  | "wrong_recipient"
  | "wrong_amount"
  // The payer's auth entries.
  | "auth_invocation_mismatch"
  // The simulation's contract events.
  | "event_not_transfer"
  | "event_in_failed_call"
  | "event_missing_contract"
  | "event_wrong_asset"
  | "no_transfer_event"
  | "multiple_transfer_events"
  | "event_forbidden_sender"
  | "event_wrong_from"
  | "event_wrong_to"
  | "event_wrong_amount";

export interface ExpectedTransfer {
  /** The token contract (C…). */
  readonly asset: string;
  /** The payer, when the protocol names it before the call does (MPP's source DID); x402 reads it from the call. */
  readonly from?: string;
  /** The recipient the payment must reach: x402's `payTo`, MPP's `recipient`. */
  readonly to: string;
  readonly amount: bigint;
  /**
   * The verifier's own accounts: none may be the transaction's or operation's source, the payer,
   * or a transfer event's sender. A muxed (M…) alias counts as its account.
   */
  readonly forbidden?: ReadonlySet<string>;
}

/** What the events are checked against: the payer is known by then. */
export interface ExpectedEvents extends ExpectedTransfer {
  readonly from: string;
}

/** The transfer as the call makes it. */
export interface TransferCall {
  readonly operation: Operation.InvokeHostFunction;
  readonly asset: string;
  readonly from: string;
  readonly to: string;
  readonly amount: bigint;
}

export interface TransferCheckFailure {
  readonly ok: false;
  readonly refusal: TransferRefusal;
  /** For people: may name public addresses and amounts, never a signature. */
  readonly message: string;
  /** The call's `from`, once read. */
  readonly payer?: string;
}

export type TransferCheckResult<T> = { readonly ok: true; readonly value: T } | TransferCheckFailure;

export interface TransferCheckInput {
  readonly transaction: Transaction;
  readonly expected: ExpectedTransfer;
  /** The simulation's events (`simulateTransaction(...).events`); without them only the call and its auth are checked. */
  readonly events?: readonly xdr.DiagnosticEvent[];
}

/** SEP-41 and Stellar Asset Contract event names: events that move or govern value, never an account's own bookkeeping. */
const VALUE_EVENTS: ReadonlySet<string> = new Set(["transfer", "mint", "burn", "clawback", "approve", "set_authorized", "set_admin"]);

const refuse = (refusal: TransferRefusal, message: string, payer?: string): TransferCheckFailure => ({
  ok: false,
  refusal,
  message,
  ...(payer !== undefined ? { payer } : {}),
});

export const TransferCheck = {
  /** The call and its auth, then, when the simulation's events are given, the events. */
  check(input: TransferCheckInput): TransferCheckResult<TransferCall> {
    const call = TransferCheck.call(input.transaction, input.expected);
    if (!call.ok || input.events === undefined) return call;
    const events = TransferCheck.events(input.events, { ...input.expected, from: call.value.from });
    return events.ok ? call : events;
  },

  /**
   * One operation, a contract call to the asset's `transfer(address, address, i128)`, from the
   * expected payer (if named) to the expected recipient of exactly the amount, no forbidden
   * account as source or payer, and every auth entry of the payer authorising exactly this call.
   * The order is @x402/stellar's facilitator's, whose reasons x402 keeps on the wire.
   */
  call(transaction: Transaction, expected: ExpectedTransfer): TransferCheckResult<TransferCall> {
    const forbidden = expected.forbidden ?? new Set<string>();
    const [operation, ...others] = transaction.operations;
    if (!operation || others.length > 0) return refuse("wrong_operation_count", `expected exactly 1 operation, got ${transaction.operations.length}`);
    if (operation.type !== "invokeHostFunction") return refuse("not_host_function", `expected invokeHostFunction, got ${operation.type}`);
    if (isOneOf(forbidden, operation.source) || isOneOf(forbidden, transaction.source)) {
      return refuse("forbidden_source", "a verifier's account is the transaction or operation source");
    }
    if (operation.func.switch() !== xdr.HostFunctionType.hostFunctionTypeInvokeContract()) {
      return refuse("not_contract_call", `expected a contract invocation, got ${operation.func.switch().name}`);
    }
    const invoked = operation.func.invokeContract();
    const contract = strKeyOf(invoked.contractAddress());
    if (contract !== expected.asset) return refuse("wrong_asset", `the transaction calls ${contract}, not the asset ${expected.asset}`);
    const functionName = invoked.functionName().toString();
    const args = invoked.args();
    if (functionName !== "transfer" || args.length !== 3) {
      return refuse("wrong_function", `expected transfer with 3 arguments, got ${functionName} with ${args.length}`);
    }
    const [fromArg, toArg, amountArg] = args as [xdr.ScVal, xdr.ScVal, xdr.ScVal];
    // The token's signature, checked up front: anything else fails on chain, or means another function.
    if (!isAddress(fromArg) || !isAddress(toArg) || amountArg.switch() !== xdr.ScValType.scvI128()) {
      return refuse("wrong_argument_types", "transfer arguments must be (address, address, i128)");
    }
    const from = strKeyOfScVal(fromArg);
    const to = strKeyOfScVal(toArg);
    const amount = scValToNative(amountArg) as bigint;
    if (isOneOf(forbidden, from)) return refuse("forbidden_payer", "the payer is a verifier's account", from);
    if (expected.from !== undefined && from !== expected.from) return refuse("wrong_from", `the transfer is from ${from}, not the payer ${expected.from}`, from);
    if (to !== expected.to) return refuse("wrong_recipient", `the transfer pays ${to}, not the recipient ${expected.to}`, from);
    if (amount !== expected.amount) return refuse("wrong_amount", `the transfer moves ${amount}, not the required ${expected.amount}`, from);

    // What the payer signed must be this call: an entry for other terms (another amount, payee or
    // token) is either a forgery the network refuses or an authorisation for something else.
    const invokedXdr = invoked.toXDR();
    for (const entry of operation.auth ?? []) {
      if (authorizer(entry, operation, transaction) !== from) continue;
      const authorized = entry.rootInvocation().function();
      if (authorized.switch() !== xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeContractFn() || !authorized.contractFn().toXDR().equals(invokedXdr)) {
        return refuse("auth_invocation_mismatch", "the payer's auth entry authorises another call than the transfer", from);
      }
    }
    return { ok: true, value: { operation, asset: contract, from, to, amount } };
  },

  /**
   * The simulation's contract events: exactly the one transfer, from a successful call, in the
   * asset, from the payer to the expected recipient (x402's payTo, never the call's own `to`) of
   * the amount. Besides it, only events a paying contract account emits about itself (a spending
   * policy recording what it allowed) are let through, as long as none is named like a movement of
   * value. System and diagnostic events move nothing and are skipped.
   */
  events(events: readonly xdr.DiagnosticEvent[], expected: ExpectedEvents): TransferCheckResult<void> {
    const payer = expected.from;
    const transfers: Array<{ from: string | undefined; to: string | undefined; amount: bigint | undefined }> = [];
    for (const diagnostic of events) {
      const event = diagnostic.event();
      if (event.type() !== xdr.ContractEventType.contract()) continue;
      const body = event.body().v0();
      const [name, fromTopic, toTopic] = body.topics();
      if (isAccountsOwnEvent(event, name, payer)) continue;
      if (!name || !fromTopic || !toTopic || name.switch() !== xdr.ScValType.scvSymbol() || name.sym().toString() !== "transfer") {
        return refuse("event_not_transfer", "the simulation emits a contract event other than a transfer", payer);
      }
      // An event from a call that failed (and was caught) moved nothing: it cannot be the payment.
      if (!diagnostic.inSuccessfulContractCall()) return refuse("event_in_failed_call", "the simulation emits a transfer event from a failed call", payer);
      const contractId = event.contractId();
      if (!contractId) return refuse("event_missing_contract", "a transfer event has no contract id", payer);
      const contract = strKeyOf(xdr.ScAddress.scAddressTypeContract(contractId));
      if (contract !== expected.asset) return refuse("event_wrong_asset", `a transfer event comes from ${contract}, not the asset`, payer);
      transfers.push({ from: addressOf(fromTopic), to: addressOf(toTopic), amount: amountOf(body.data()) });
    }
    const [transfer, ...more] = transfers;
    if (!transfer) return refuse("no_transfer_event", "the simulation emits no transfer event", payer);
    if (more.length > 0) return refuse("multiple_transfer_events", `the simulation emits ${transfers.length} transfer events`, payer);
    if (isOneOf(expected.forbidden ?? new Set(), transfer.from)) return refuse("event_forbidden_sender", "the transfer event is from a verifier's account", payer);
    if (transfer.from !== payer) return refuse("event_wrong_from", "the transfer event is not from the payer", payer);
    if (transfer.to !== expected.to) return refuse("event_wrong_to", `the transfer event pays ${transfer.to ?? "no address"}, not the recipient ${expected.to}`, payer);
    if (transfer.amount !== expected.amount) return refuse("event_wrong_amount", "the transfer event does not move the required amount", payer);
    return { ok: true, value: undefined };
  },
} as const;

/**
 * Whose authorisation an entry is: its address (V1, V2 or delegated credentials alike), or, for
 * source-account credentials, the account of the operation's source (else the transaction's).
 */
function authorizer(entry: xdr.SorobanAuthorizationEntry, operation: Operation.InvokeHostFunction, transaction: Transaction): string {
  const credentials = AuthEntry.addressCredentials(entry);
  return credentials ? strKeyOf(credentials.address()) : baseAccountOf(operation.source ?? transaction.source);
}

/** An event the paying contract account emits from its own address (its `__check_auth`'s bookkeeping), not named like a movement of value. */
function isAccountsOwnEvent(event: xdr.ContractEvent, name: xdr.ScVal | undefined, payer: string): boolean {
  const contractId = event.contractId();
  if (!contractId || !payer.startsWith("C")) return false;
  if (strKeyOf(xdr.ScAddress.scAddressTypeContract(contractId)) !== payer) return false;
  const symbol = name?.switch().value === xdr.ScValType.scvSymbol().value ? name.sym().toString() : name?.switch().value === xdr.ScValType.scvString().value ? name.str().toString() : "";
  return !VALUE_EVENTS.has(symbol);
}

function isAddress(value: xdr.ScVal): boolean {
  return value.switch() === xdr.ScValType.scvAddress();
}

function addressOf(value: xdr.ScVal): string | undefined {
  return isAddress(value) ? strKeyOfScVal(value) : undefined;
}

function amountOf(value: xdr.ScVal): bigint | undefined {
  return value.switch() === xdr.ScValType.scvI128() ? (scValToNative(value) as bigint) : undefined;
}
