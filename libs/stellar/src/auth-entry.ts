import { createHash } from "node:crypto";
import { xdr } from "@stellar/stellar-sdk";

/**
 * Reading Soroban authorization entries whatever their credentials' arm. CAP-71 (protocol 27)
 * added `SOROBAN_CREDENTIALS_ADDRESS_V2`, the same address credentials with the address bound
 * into the signed payload (so its signature is over another preimage: the network checks it), and
 * `SOROBAN_CREDENTIALS_ADDRESS_WITH_DELEGATES`. Everything Quay reads of an entry (the address,
 * the nonce, the expiration, whether it is signed) is the same for V1 and V2.
 */

export type CredentialsKind = "source_account" | "address" | "address_v2" | "address_with_delegates";

export const AuthEntry = {
  kind(entry: xdr.SorobanAuthorizationEntry): CredentialsKind {
    switch (entry.credentials().switch().value) {
      case xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount().value:
        return "source_account";
      case xdr.SorobanCredentialsType.sorobanCredentialsAddress().value:
        return "address";
      case xdr.SorobanCredentialsType.sorobanCredentialsAddressV2().value:
        return "address_v2";
      default:
        return "address_with_delegates";
    }
  },

  /**
   * The address credentials of an entry: V1, V2, or the top level of CAP-71-01 delegated
   * credentials (the account whose authorisation it is, its nonce and expiration); undefined for
   * source-account credentials.
   */
  addressCredentials(entry: xdr.SorobanAuthorizationEntry): xdr.SorobanAddressCredentials | undefined {
    const credentials = entry.credentials();
    switch (AuthEntry.kind(entry)) {
      case "address":
        return credentials.address();
      case "address_v2":
        return credentials.addressV2();
      case "address_with_delegates":
        return credentials.addressWithDelegates().addressCredentials();
      default:
        return undefined;
    }
  },

  /** Every delegate signer of CAP-71-01 credentials, nested ones included, as ScAddresses; none for other credentials. */
  delegates(entry: xdr.SorobanAuthorizationEntry): xdr.SorobanDelegateSignature[] {
    if (AuthEntry.kind(entry) !== "address_with_delegates") return [];
    const all: xdr.SorobanDelegateSignature[] = [];
    const walk = (level: readonly xdr.SorobanDelegateSignature[]) => {
      for (const delegate of level) {
        all.push(delegate);
        walk(delegate.nestedDelegates());
      }
    };
    walk(entry.credentials().addressWithDelegates().delegates());
    return all;
  },

  /**
   * Whether the entry carries a signature: its own, or (delegated credentials may leave the top
   * level void, CAP-71-01) a delegate's. Whether it is valid only the network can say.
   */
  isSigned(entry: xdr.SorobanAuthorizationEntry): boolean {
    const credentials = AuthEntry.addressCredentials(entry);
    if (!credentials) return false;
    return !AuthEntry.isUnsigned(credentials) || AuthEntry.delegates(entry).some((d) => d.signature().switch().value !== xdr.ScValType.scvVoid().value);
  },

  /** Whether the address credentials carry no signature yet (a void `ScVal`, as simulation records them). */
  isUnsigned(credentials: xdr.SorobanAddressCredentials): boolean {
    return credentials.signature().switch().value === xdr.ScValType.scvVoid().value;
  },

  /**
   * SHA-256 (hex) of the entry's root invocation: the contract, function and arguments its signer
   * agreed to, whatever the credentials, expiration or signature. Two entries with one (address,
   * nonce) and different terms hash differently.
   */
  termsHash(entry: xdr.SorobanAuthorizationEntry): string {
    return createHash("sha256").update(entry.rootInvocation().toXDR()).digest("hex");
  },
};
