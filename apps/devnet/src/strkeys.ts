import { Address, Keypair, StrKey, xdr } from "@stellar/stellar-sdk";
import type { Asset } from "@stellar/stellar-sdk";
import { BoundedCache } from "./bounded-cache";

/**
 * Memoized G… (account) and C… (contract) strkey conversions for the devnet's hot paths. The SDK
 * re-decodes and re-checksums a strkey on every `new Address`, `Keypair.fromPublicKey` and
 * `StrKey.isValid…`, and a payment names the same few addresses dozens of times.
 *
 * Each function answers exactly as the SDK call it stands for (named on it): only successful
 * conversions are remembered, anything else goes to that SDK call, so invalid input is rejected
 * with the same error. Raw keys are copied out and XDR values built fresh on every call, so no
 * caller can alter what another one gets.
 */
export namespace StrKeys {
  type Kind = "account" | "contract";
  interface Decoded {
    readonly kind: Kind;
    readonly raw: Buffer;
  }

  /** Far more addresses than a devnet run uses; the bound only matters against endless new ones. */
  export const LIMIT = 16_384;
  const decoded = new BoundedCache<string, Decoded>(LIMIT);
  const encoded = new BoundedCache<string, string>(LIMIT);

  function decode(strkey: string): Decoded | undefined {
    const known = decoded.get(strkey);
    if (known) return known;
    let found: Decoded | undefined;
    if (StrKey.isValidEd25519PublicKey(strkey)) found = { kind: "account", raw: StrKey.decodeEd25519PublicKey(strkey) };
    else if (StrKey.isValidContract(strkey)) found = { kind: "contract", raw: StrKey.decodeContract(strkey) };
    if (found) decoded.set(strkey, found);
    return found;
  }

  function encode(kind: Kind, raw: Buffer): string {
    const id = `${kind === "account" ? "G" : "C"}${Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("hex")}`;
    let strkey = encoded.get(id);
    if (strkey === undefined) {
      strkey = kind === "account" ? StrKey.encodeEd25519PublicKey(raw) : StrKey.encodeContract(raw);
      encoded.set(id, strkey);
    }
    return strkey;
  }

  /** `StrKey.isValidEd25519PublicKey(s)` */
  export function isAccount(s: string): boolean {
    return typeof s === "string" && decode(s)?.kind === "account";
  }

  /** `StrKey.isValidContract(s)` */
  export function isContract(s: string): boolean {
    return typeof s === "string" && decode(s)?.kind === "contract";
  }

  /** `StrKey.decodeEd25519PublicKey(g)` */
  export function accountBytes(g: string): Buffer {
    const d = typeof g === "string" ? decode(g) : undefined;
    return d?.kind === "account" ? Buffer.from(d.raw) : StrKey.decodeEd25519PublicKey(g);
  }

  /** `StrKey.decodeContract(c)` */
  export function contractBytes(c: string): Buffer {
    const d = typeof c === "string" ? decode(c) : undefined;
    return d?.kind === "contract" ? Buffer.from(d.raw) : StrKey.decodeContract(c);
  }

  /** `StrKey.encodeEd25519PublicKey(raw)` */
  export function encodeAccount(raw: Buffer): string {
    // The SDK encodes any length; only real keys are worth remembering.
    return raw.length === 32 ? encode("account", raw) : StrKey.encodeEd25519PublicKey(raw);
  }

  /** `StrKey.encodeContract(raw)` */
  export function encodeContract(raw: Buffer): string {
    return raw.length === 32 ? encode("contract", raw) : StrKey.encodeContract(raw);
  }

  /** `Keypair.fromPublicKey(g).xdrAccountId()` */
  export function accountId(g: string): xdr.AccountId {
    const d = typeof g === "string" ? decode(g) : undefined;
    if (d?.kind !== "account") return Keypair.fromPublicKey(g).xdrAccountId();
    return xdr.PublicKey.publicKeyTypeEd25519(Buffer.from(d.raw));
  }

  /** `Address.fromString(s).toScAddress()` */
  export function scAddress(s: string): xdr.ScAddress {
    const d = typeof s === "string" ? decode(s) : undefined;
    if (d?.kind === "account") return xdr.ScAddress.scAddressTypeAccount(xdr.PublicKey.publicKeyTypeEd25519(Buffer.from(d.raw)));
    // The typings want a ContractId (Opaque[]); at runtime it is the 32-byte Buffer, as the SDK passes it.
    if (d?.kind === "contract") return xdr.ScAddress.scAddressTypeContract(Buffer.from(d.raw) as unknown as xdr.ContractId);
    return Address.fromString(s).toScAddress();
  }

  /** `Address.fromString(s).toScVal()` */
  export function scVal(s: string): xdr.ScVal {
    return xdr.ScVal.scvAddress(scAddress(s));
  }

  /** `Address.fromScAddress(a).toString()` */
  export function fromScAddress(a: xdr.ScAddress): string {
    const t = a.switch();
    if (t === xdr.ScAddressType.scAddressTypeAccount()) {
      const raw = a.accountId().ed25519();
      if (raw.length === 32) return encode("account", raw);
    } else if (t === xdr.ScAddressType.scAddressTypeContract()) {
      const raw = a.contractId() as unknown as Buffer;
      if (raw.length === 32) return encode("contract", raw);
    }
    return Address.fromScAddress(a).toString();
  }

  /** `asset.toTrustLineXDRObject()`: the same union, with the issuer's key from the memo. */
  export function trustLineAsset(asset: Asset): xdr.TrustLineAsset {
    if (asset.isNative()) return asset.toTrustLineXDRObject();
    const code = asset.getCode();
    const issuer = accountId(asset.getIssuer()!);
    // The NUL-padded code goes in as a string, as the SDK passes it (the typings say Buffer).
    const padded = (width: number): Buffer => code.padEnd(width, "\0") as unknown as Buffer;
    return code.length <= 4
      ? xdr.TrustLineAsset.assetTypeCreditAlphanum4(new xdr.AlphaNum4({ assetCode: padded(4), issuer }))
      : xdr.TrustLineAsset.assetTypeCreditAlphanum12(new xdr.AlphaNum12({ assetCode: padded(12), issuer }));
  }
}
