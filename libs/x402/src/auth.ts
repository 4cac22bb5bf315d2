import type { xdr } from "@stellar/stellar-sdk";
import { AuthEntry, isOneOf, strKeyOf } from "@quay/stellar";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";

/**
 * The auth entries of the transfer: only the payer's address credential, signed, expiring after
 * settlement can still land and no later than the requirements' timeout allows, authorising the
 * transfer alone. Pure.
 */

/** An entry expiring within this many ledgers of the latest one could not be settled in time. */
export const MIN_REMAINING_LEDGERS = 2;
/** Slack the library allows above `latest + ceil(maxTimeoutSeconds / ledgerSeconds)`. */
export const EXPIRATION_TOLERANCE_LEDGERS = 2;

export interface PayerAuth {
  readonly entry: xdr.SorobanAuthorizationEntry;
  /** The int64 nonce, as a decimal string. */
  readonly nonce: string;
  readonly signatureExpirationLedger: number;
  /** What the payer signed: see `AuthEntry.termsHash`. */
  readonly termsHash: string;
}

export const Auth = {
  /**
   * Quay's check, run before simulating: an address credential that has expired, or will within
   * MIN_REMAINING_LEDGERS, makes the payment unsettleable (the library lets the simulation find it).
   */
  requireTimeToSettle(entries: readonly xdr.SorobanAuthorizationEntry[], latestLedger: number, payer: string): void {
    for (const entry of entries) {
      const credentials = AuthEntry.addressCredentials(entry);
      if (!credentials) continue;
      const expiration = credentials.signatureExpirationLedger();
      if (expiration <= latestLedger + MIN_REMAINING_LEDGERS) {
        throw new Rejection(
          InvalidReason.authAlreadyExpired,
          `an auth entry expires at ledger ${expiration}; the latest ledger is ${latestLedger} and settling needs more than ${MIN_REMAINING_LEDGERS} ledgers`,
          payer,
        );
      }
    }
  },

  /** The library's checks in its order, then Quay's: exactly one entry, the payer's. Returns that entry. */
  requirePayerOnly(
    entries: readonly xdr.SorobanAuthorizationEntry[],
    expected: { readonly payer: string; readonly quayAddresses: ReadonlySet<string>; readonly maxLedger: number },
  ): PayerAuth {
    const { payer } = expected;
    if (entries.length === 0) throw new Rejection(InvalidReason.noAuthEntries, "the transfer carries no auth entry", payer);
    const signed = new Set<string>();
    const pending = new Set<string>();
    for (const entry of entries) {
      // Address credentials: V1, V2, or CAP-71-01 delegated ones (whose signers the payer's account names).
      const credentials = AuthEntry.addressCredentials(entry);
      if (!credentials) {
        throw new Rejection(InvalidReason.unsupportedCredentialType, `auth credentials must be address credentials, got ${AuthEntry.kind(entry)}`, payer);
      }
      const address = strKeyOf(credentials.address());
      if (isOneOf(expected.quayAddresses, address)) {
        throw new Rejection(InvalidReason.facilitatorInAuth, "an auth entry is for a facilitator account", payer);
      }
      if (AuthEntry.delegates(entry).some((delegate) => isOneOf(expected.quayAddresses, strKeyOf(delegate.address())))) {
        throw new Rejection(InvalidReason.facilitatorInAuth, "a facilitator account is a delegate signer of an auth entry", payer);
      }
      const expiration = credentials.signatureExpirationLedger();
      const limit = expected.maxLedger + EXPIRATION_TOLERANCE_LEDGERS;
      if (expiration > limit) {
        throw new Rejection(InvalidReason.signatureExpirationTooFar, `an auth entry expires at ledger ${expiration}, after ledger ${limit}`, payer);
      }
      if (entry.rootInvocation().subInvocations().length > 0) {
        throw new Rejection(InvalidReason.hasSubinvocations, "an auth entry authorises sub-invocations", payer);
      }
      (AuthEntry.isSigned(entry) ? signed : pending).add(address);
    }
    if (!signed.has(payer)) throw new Rejection(InvalidReason.missingPayerSignature, "the payer has not signed its auth entry", payer);
    if (pending.size > 0) {
      throw new Rejection(InvalidReason.unexpectedPendingSignatures, `${pending.size} auth entr${pending.size === 1 ? "y is" : "ies are"} unsigned`, payer);
    }
    const [only, ...extra] = entries;
    if (!only || extra.length > 0) {
      throw new Rejection(InvalidReason.unexpectedAuthEntries, `expected the payer's auth entry alone, got ${entries.length} entries`, payer);
    }
    const credentials = AuthEntry.addressCredentials(only)!;
    return {
      entry: only,
      nonce: credentials.nonce().toString(),
      signatureExpirationLedger: credentials.signatureExpirationLedger(),
      termsHash: AuthEntry.termsHash(only),
    };
  },
};
