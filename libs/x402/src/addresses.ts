import { StrKey } from "@stellar/stellar-sdk";

/**
 * The account an address acts for: a muxed M… address is its G… account with a routing id, so
 * a muxed alias of one of Quay's accounts is still that account.
 */
export function baseAccountOf(address: string): string {
  if (!StrKey.isValidMed25519PublicKey(address)) return address;
  return StrKey.encodeEd25519PublicKey(StrKey.decodeMed25519PublicKey(address).subarray(0, 32));
}

/** Whether `address` is, or is a muxed alias of, one of `accounts`. */
export function isOneOf(accounts: ReadonlySet<string>, address: string | undefined): boolean {
  return address !== undefined && accounts.has(baseAccountOf(address));
}
