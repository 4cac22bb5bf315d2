import { createPublicKey, verify, type KeyObject } from "node:crypto";

/**
 * Ed25519 signature checks on Node's native crypto. The SDK's `Keypair.verify` runs a pure-JS
 * curve, tens of times slower; under load the devnet spent most of its CPU there, and a devnet
 * that saturates a core measures itself instead of what runs against it. Same strict rules
 * (RFC 8032, as the SDK's `zip215: false` and stellar-core's libsodium).
 */

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Keys seen recently: the same few accounts sign again and again. */
const CACHE_LIMIT = 4_096;
const keys = new Map<string, KeyObject>();

function keyObject(publicKey: Buffer): KeyObject {
  const id = publicKey.toString("hex");
  let key = keys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    if (keys.size >= CACHE_LIMIT) keys.delete(keys.keys().next().value!);
    keys.set(id, key);
  }
  return key;
}

/** True when `signature` is `publicKey`'s signature of `message`; false for any malformed input. */
export function verifyEd25519(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, keyObject(publicKey), signature);
  } catch {
    return false;
  }
}
