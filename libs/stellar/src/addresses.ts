import { Address, StrKey, xdr } from "@stellar/stellar-sdk";

/**
 * The strkey (G…, C…) of an ScAddress: what `Address.fromScAddress(a).toString()` answers. The
 * SDK's way encodes the key, then decodes and checksums it again to build the Address; verify
 * reads a dozen addresses per payment, and the round trip was a tenth of its CPU.
 */
export function strKeyOf(address: xdr.ScAddress): string {
  switch (address.switch()) {
    case xdr.ScAddressType.scAddressTypeAccount():
      return StrKey.encodeEd25519PublicKey(address.accountId().ed25519());
    case xdr.ScAddressType.scAddressTypeContract():
      // A Buffer at runtime; the SDK's typings declare Hash as Opaque[] ("workaround, cause unknown").
      return StrKey.encodeContract(address.contractId() as unknown as Buffer);
    default:
      return Address.fromScAddress(address).toString();
  }
}

/** `Address.fromScVal(v).toString()`, the same way; throws as it does for a value that is not an address. */
export function strKeyOfScVal(value: xdr.ScVal): string {
  return value.switch() === xdr.ScValType.scvAddress() ? strKeyOf(value.address()) : Address.fromScVal(value).toString();
}

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
