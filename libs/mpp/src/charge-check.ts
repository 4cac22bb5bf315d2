import { Address, FeeBumpTransaction, Keypair, MuxedAccount, scValToBigInt, StrKey, Transaction, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import type { Operation } from "@stellar/stellar-sdk";
import { ALL_ZEROS, DEFAULT_LEDGER_CLOSE_SECONDS, Network } from "./constants.js";
import { Did } from "./did.js";
import type { MppErrorCode } from "./errors.js";
import type { ChargeRequest } from "./methods.js";

/**
 * The checks of a `stellar/charge` credential that need no RPC (`structure`) and the check of its
 * simulation (`simulation`), shared by the LOCAL server method and Quay's relayer. Pure: every
 * input is passed in (latest ledger, clock), and every outcome is a value, never a throw.
 * The order follows stellar-mpp-sdk's `doVerify`; Quay is stricter in a few places, each noted.
 */

export type ChargeRejectReason =
  | "wrong_network"
  | "missing_expires"
  | "expired"
  | "invalid_source"
  | "malformed_transaction"
  | "fee_bump_not_allowed"
  | "wrong_operation_count"
  | "wrong_operation"
  | "wrong_currency"
  | "wrong_function"
  | "source_mismatch"
  | "wrong_recipient"
  | "wrong_amount"
  | "sponsor_address_used"
  | "sponsorship_unavailable"
  | "source_account_auth"
  | "delegated_credentials"
  | "unexpected_auth_entry"
  | "unsigned_auth_entry"
  | "sub_invocation"
  | "auth_expiration_too_far"
  | "timebounds_after_expiry"
  | "simulation_failed"
  | "no_transfer_event"
  | "multiple_transfer_events"
  | "event_mismatch"
  | "sponsor_is_sender"
  | "invalid_source_signature";

export interface CheckFailure {
  readonly ok: false;
  readonly code: MppErrorCode;
  readonly reason: ChargeRejectReason;
  readonly message: string;
}
export type CheckResult<T> = { readonly ok: true; readonly value: T } | CheckFailure;

export interface ExpectedTransfer {
  /** The SEP-41 token contract (C…). */
  readonly currency: string;
  readonly from: string;
  readonly to: string;
  readonly amount: bigint;
}

export interface StructureInput {
  /** `payload.transaction`: a base64 TransactionEnvelope (plain v1, or a client's fee bump when unsponsored). */
  readonly transaction: string;
  /** The challenge's `request` (decoded). */
  readonly request: ChargeRequest;
  /** `credential.source`: did:pkh:stellar:<network>:G… */
  readonly source: string | undefined;
  /** `challenge.expires` (RFC 3339). */
  readonly expires: string | undefined;
  /** The verifier's own network: the envelope is parsed and hashed with it. */
  readonly networkPassphrase: string;
  /** Accounts of the verifier (envelope signer, fee-bump signer, relayer channel accounts): none may appear in the payment. */
  readonly sponsorAddresses: readonly string[];
  /** Whether this verifier sponsors (accepts the ALL_ZEROS source and rebuilds around its own account). */
  readonly sponsors: boolean;
  /** Latest ledger sequence, for the sponsored auth-expiration bound. */
  readonly latestLedger: number;
  /** Clock, ms since epoch. */
  readonly now?: number;
  readonly ledgerCloseSeconds?: number;
}

export interface CheckedTransfer extends ExpectedTransfer {
  /** The envelope as received (what an unsponsored verifier submits unchanged). */
  readonly envelope: Transaction | FeeBumpTransaction;
  /** The client's transaction (inner one of a fee bump). */
  readonly transaction: Transaction;
  readonly operation: Operation.InvokeHostFunction;
  /** Source is ALL_ZEROS: the verifier must rebuild around its own account. */
  readonly sponsored: boolean;
  /** Hex hash of the client's transaction: the `stellar:charge:hash:` replay key. */
  readonly transactionHash: string;
}

export interface SimulationInput {
  /** `simulateTransaction(...).events` of the transaction to be submitted. */
  readonly events: readonly xdr.DiagnosticEvent[] | undefined;
  readonly expected: ExpectedTransfer;
  readonly sponsorAddresses: readonly string[];
}

export interface SignedHashInput {
  readonly challengeId: string;
  readonly hash: string;
  /** 128 hex chars: ed25519 by `from` over the UTF-8 "{challengeId}:{lowercase hash}". */
  readonly sourceSignature: string;
  readonly from: string;
}

const fail = (code: MppErrorCode, reason: ChargeRejectReason, message: string): CheckFailure => ({ ok: false, code, reason, message });
const invalid = (reason: ChargeRejectReason, message: string) => fail("invalid_payment", reason, message);

export const ChargeCheck = {
  /** The §1.3 pull checks that need no RPC. */
  structure(input: StructureInput): CheckResult<CheckedTransfer> {
    const now = input.now ?? Date.now();
    const network = input.request.methodDetails?.network;
    // Stricter than the SDK, which trusts its own configuration: the spec requires the match.
    if (network === undefined || !Network.isId(network) || Network.passphrase(network) !== input.networkPassphrase) {
      return invalid("wrong_network", `the challenge names network ${network ?? "(none)"}, not this verifier's network`);
    }
    if (input.expires === undefined) return invalid("missing_expires", "the challenge has no expiry");
    const expiresMs = Date.parse(input.expires);
    if (!Number.isFinite(expiresMs)) return invalid("missing_expires", "the challenge expiry is not a date");
    if (expiresMs <= now) return fail("expired", "expired", "the challenge has expired");

    const did = Did.tryParse(input.source);
    if (!did) return invalid("invalid_source", "credential source must be did:pkh:stellar:<network>:G…");
    if (did.network !== network) return invalid("wrong_network", "the source DID names another network than the challenge");

    let envelope: Transaction | FeeBumpTransaction;
    try {
      envelope = TransactionBuilder.fromXDR(input.transaction, input.networkPassphrase);
    } catch {
      return invalid("malformed_transaction", "payload.transaction is not a base64 transaction envelope");
    }
    const transaction = envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope;
    const sponsored = transaction.source === ALL_ZEROS;
    const sponsorSet = new Set(input.sponsorAddresses);

    const transfer = ChargeCheck.transfer(transaction, {
      currency: input.request.currency,
      from: did.address,
      to: input.request.recipient,
      amount: parseAmount(input.request.amount),
    });
    if (!transfer.ok) return transfer;
    const operation = transfer.value;

    // An M-address is its G account with an id: a server account's muxed alias is that account.
    const isSponsor = (address: string) => sponsorSet.has(StrKey.isValidMed25519PublicKey(address) ? MuxedAccount.fromAddress(address, "0").baseAccount().accountId() : address);
    if (isSponsor(transaction.source) || (operation.source !== undefined && isSponsor(operation.source))) {
      return invalid("sponsor_address_used", "a server account is the transaction or operation source");
    }
    if (envelope instanceof FeeBumpTransaction && isSponsor(envelope.feeSource)) {
      return invalid("sponsor_address_used", "a server account is the fee-bump source");
    }
    if (sponsorSet.has(did.address)) return invalid("sponsor_address_used", "a server account is the payer");

    if (sponsored) {
      if (!input.sponsors) return invalid("sponsorship_unavailable", "this server does not sponsor: the transaction needs a real source");
      if (envelope instanceof FeeBumpTransaction) return invalid("fee_bump_not_allowed", "a sponsored transaction cannot be fee-bumped by the client");
    }

    const closeSeconds = input.ledgerCloseSeconds ?? DEFAULT_LEDGER_CLOSE_SECONDS;
    const maxLedger = input.latestLedger + Math.ceil(Math.max(expiresMs - now, 0) / 1000 / closeSeconds);
    const auth = checkAuth(operation, { from: did.address, sponsored, sponsorSet, maxLedger });
    if (!auth.ok) return auth;

    if (!sponsored) {
      const maxTime = Number(transaction.timeBounds?.maxTime ?? "0");
      // Stricter than the SDK: an unbounded transaction (maxTime 0) could land after the challenge expired.
      if (maxTime === 0 || maxTime * 1000 > expiresMs) {
        return invalid("timebounds_after_expiry", "the transaction's time bounds reach past the challenge expiry");
      }
    }

    return {
      ok: true,
      value: {
        envelope,
        transaction,
        operation,
        sponsored,
        currency: input.request.currency,
        from: did.address,
        to: input.request.recipient,
        amount: parseAmount(input.request.amount),
        transactionHash: transaction.hash().toString("hex"),
      },
    };
  },

  /** The one-operation `transfer(from, to, amount)` on the token, as expected. Returns the operation. */
  transfer(transaction: Transaction, expected: ExpectedTransfer): CheckResult<Operation.InvokeHostFunction> {
    const [operation, ...more] = transaction.operations;
    if (!operation || more.length > 0) return invalid("wrong_operation_count", `expected exactly 1 operation, got ${transaction.operations.length}`);
    if (operation.type !== "invokeHostFunction") return invalid("wrong_operation", `expected invokeHostFunction, got ${operation.type}`);
    if (operation.func.switch() !== xdr.HostFunctionType.hostFunctionTypeInvokeContract()) {
      return invalid("wrong_operation", "expected a contract invocation");
    }
    const call = operation.func.invokeContract();
    if (Address.fromScAddress(call.contractAddress()).toString() !== expected.currency) {
      return invalid("wrong_currency", "the transaction does not call the challenge's currency contract");
    }
    const args = call.args();
    if (call.functionName().toString() !== "transfer" || args.length !== 3) {
      return invalid("wrong_function", "expected transfer(from, to, amount)");
    }
    const [fromArg, toArg, amountArg] = args as [xdr.ScVal, xdr.ScVal, xdr.ScVal];
    if (addressOf(fromArg) !== expected.from) return invalid("source_mismatch", "the transfer's from is not the credential source");
    if (addressOf(toArg) !== expected.to) return invalid("wrong_recipient", "the transfer does not pay the challenge's recipient");
    if (intOf(amountArg) !== expected.amount) return invalid("wrong_amount", "the transfer does not move the challenge's amount");
    return { ok: true, value: operation };
  },

  /** Exactly one transfer event in the simulation, and it is the expected one; no server account sends. */
  simulation(input: SimulationInput): CheckResult<void> {
    if (!input.events || input.events.length === 0) return fail("simulation_failed", "no_transfer_event", "the simulation shows no events");
    const sponsorSet = new Set(input.sponsorAddresses);
    const transfers: Array<{ contract: string | undefined; from: string | undefined; to: string | undefined; amount: bigint | undefined }> = [];
    for (const diagnostic of input.events) {
      const event = diagnostic.event();
      if (event.type() !== xdr.ContractEventType.contract()) continue;
      const topics = event.body().v0().topics();
      const [name, fromTopic, toTopic] = topics;
      if (!name || !fromTopic || !toTopic || name.switch() !== xdr.ScValType.scvSymbol() || name.sym().toString() !== "transfer") continue;
      const contractId = event.contractId();
      transfers.push({
        contract: contractId ? Address.fromScAddress(xdr.ScAddress.scAddressTypeContract(contractId)).toString() : undefined,
        from: addressOf(fromTopic),
        to: addressOf(toTopic),
        amount: intOf(event.body().v0().data()),
      });
    }
    const [transfer, ...more] = transfers;
    if (!transfer) return invalid("no_transfer_event", "the simulation shows no transfer");
    if (more.length > 0) return invalid("multiple_transfer_events", `the simulation shows ${transfers.length} transfers`);
    if (transfer.from !== undefined && sponsorSet.has(transfer.from)) return invalid("sponsor_is_sender", "a server account would pay");
    const { expected } = input;
    if (transfer.contract !== expected.currency || transfer.from !== expected.from || transfer.to !== expected.to || transfer.amount !== expected.amount) {
      return invalid("event_mismatch", "the simulated transfer is not the expected one");
    }
    return { ok: true, value: undefined };
  },

  /** The push proof: `from` signed "{challengeId}:{lowercase hash}". */
  sourceSignature(input: SignedHashInput): CheckResult<void> {
    if (!/^[0-9a-f]{128}$/i.test(input.sourceSignature)) return invalid("invalid_source_signature", "sourceSignature must be 128 hex chars");
    try {
      const message = Buffer.from(ChargeCheck.sourceSignatureMessage(input.challengeId, input.hash));
      if (Keypair.fromPublicKey(input.from).verify(message, Buffer.from(input.sourceSignature, "hex"))) return { ok: true, value: undefined };
    } catch {
      // an invalid key is the same refusal as an invalid signature
    }
    return invalid("invalid_source_signature", "sourceSignature is not the payer's signature over the challenge and hash");
  },

  sourceSignatureMessage(challengeId: string, hash: string): string {
    return `${challengeId}:${hash.toLowerCase()}`;
  },
} as const;

function checkAuth(
  operation: Operation.InvokeHostFunction,
  context: { from: string; sponsored: boolean; sponsorSet: ReadonlySet<string>; maxLedger: number },
): CheckResult<void> {
  const entries = operation.auth ?? [];
  // Stricter than the SDK: the transfer needs exactly the payer's authorisation, so anything else is refused
  // before it can reach a simulation (an extra signed entry could authorise something else in the same tx).
  if (entries.length !== 1) return invalid("unexpected_auth_entry", `expected exactly the payer's auth entry, got ${entries.length}`);
  const entry = entries[0]!;
  const credentials = entry.credentials();
  const arm = credentials.switch().value;
  if (arm === xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount().value) {
    // Source-account credentials authorise as the tx source: fine when the payer is the source, never when sponsored.
    if (context.sponsored) return invalid("source_account_auth", "a sponsored transaction must carry address credentials only");
  } else if (arm === xdr.SorobanCredentialsType.sorobanCredentialsAddressWithDelegates().value) {
    return invalid("delegated_credentials", "delegated auth credentials (CAP-71 ADDRESS_WITH_DELEGATES) are not accepted");
  } else {
    // V1 and CAP-71's V2 carry the same address credentials; V2's signature binds the address (the network checks it).
    const address = arm === xdr.SorobanCredentialsType.sorobanCredentialsAddressV2().value ? credentials.addressV2() : credentials.address();
    const who = Address.fromScAddress(address.address()).toString();
    if (context.sponsorSet.has(who)) return invalid("sponsor_address_used", "an auth entry is for a server account");
    if (who !== context.from) return invalid("unexpected_auth_entry", "the auth entry is not the payer's");
    if (address.signature().switch().value === xdr.ScValType.scvVoid().value) return invalid("unsigned_auth_entry", "the payer's auth entry is not signed");
    if (context.sponsored && address.signatureExpirationLedger() > context.maxLedger) {
      return invalid("auth_expiration_too_far", "the auth entry stays valid past the challenge expiry");
    }
  }
  const root = entry.rootInvocation();
  if (root.subInvocations().length > 0) return invalid("sub_invocation", "the auth entry authorises sub-invocations");
  const fn = root.function();
  if (fn.switch() !== xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeContractFn()) {
    return invalid("unexpected_auth_entry", "the auth entry does not authorise a contract call");
  }
  const authorized = fn.contractFn();
  const invoked = operation.func.invokeContract();
  if (authorized.toXDR("base64") !== invoked.toXDR("base64")) return invalid("unexpected_auth_entry", "the auth entry authorises another call than the transfer");
  return { ok: true, value: undefined };
}

function addressOf(value: xdr.ScVal): string | undefined {
  return value.switch() === xdr.ScValType.scvAddress() ? Address.fromScVal(value).toString() : undefined;
}

/** Any integer ScVal (u32 … i128), as the SDK accepts; undefined for anything else. */
function intOf(value: xdr.ScVal): bigint | undefined {
  try {
    return scValToBigInt(value);
  } catch {
    return undefined;
  }
}

function parseAmount(amount: string): bigint {
  return /^\d+$/.test(amount) ? BigInt(amount) : -1n;
}
