import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { StrKey, xdr, type FeeBumpTransaction, type Transaction } from "@stellar/stellar-sdk";

/** DER prefix of an Ed25519 PKCS#8 private key; the raw 32-byte seed follows it. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * An account's signing key as a native key object. Settlement signs twice per payment (the inner
 * transaction and its fee bump) and opens a channel account's key per lease; the SDK's Keypair
 * does both on a pure-JS curve, milliseconds each, where Node's Ed25519 takes microseconds.
 * Signatures are the same bytes: Ed25519 is deterministic.
 */
export class Signer {
  private constructor(
    /** The account's G... address. */
    readonly publicKey: string,
    private readonly key: KeyObject,
    /** The raw 32-byte Ed25519 public key. */
    readonly publicKeyBytes: Buffer,
  ) {}

  /** From an S... secret seed; throws on anything else. */
  static fromSecret(secret: string): Signer {
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, StrKey.decodeEd25519SecretSeed(secret)]), format: "der", type: "pkcs8" });
    const raw = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
    return new Signer(StrKey.encodeEd25519PublicKey(raw), key, raw);
  }

  /** Adds this key's signature of the transaction's hash, as `tx.sign(keypair)` does. */
  sign(tx: Transaction | FeeBumpTransaction): void {
    const hash = createHash("sha256").update(tx.signatureBase()).digest();
    tx.addDecoratedSignature(new xdr.DecoratedSignature({ hint: this.hint(), signature: this.signHash(hash) }));
  }

  /** The Ed25519 signature of a transaction hash. */
  signHash(hash: Buffer): Buffer {
    return sign(null, hash, this.key);
  }

  /** The signature hint: the public key's last four bytes. */
  hint(): Buffer {
    return this.publicKeyBytes.subarray(-4);
  }
}
