import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { BoundedCache } from "./bounded-cache";

/**
 * Ed25519 signature checks on Node's native crypto. The SDK's `Keypair.verify` runs a pure-JS
 * curve, tens of times slower; under load the devnet spent most of its CPU there, and a devnet
 * that saturates a core measures itself instead of what runs against it. Same strict rules
 * (RFC 8032, as the SDK's `zip215: false` and stellar-core's libsodium).
 *
 * Verdicts are remembered, as stellar-core's verify-sig cache does: one signature is checked when
 * its transaction is simulated, admitted, re-validated at ledger close and applied, and a verdict
 * is a pure function of (key, signature, message), so a cached `false` is as sound as a `true`.
 */

export type Ed25519Check = (publicKey: Buffer, message: Buffer, signature: Buffer) => boolean;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Keys seen recently: the same few accounts sign again and again. */
const KEY_LIMIT = 4_096;
/** Verdicts kept: at three signatures per payment, minutes of traffic at benchmark rates. */
export const VERDICT_LIMIT = 32_768;
const keys = new BoundedCache<string, KeyObject>(KEY_LIMIT);

function keyObject(publicKey: Buffer): KeyObject {
  const id = publicKey.toString("hex");
  let key = keys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    keys.set(id, key);
  }
  return key;
}

/** The uncached check: native verify of a well-formed key and signature. */
export const nativeEd25519: Ed25519Check = (publicKey, message, signature) => {
  try {
    return verify(null, message, keyObject(publicKey), signature);
  } catch {
    // Not a point on the curve, and the like: not a valid signature.
    return false;
  }
};

/** An Ed25519 check that remembers its last `limit` verdicts. */
export class CachedEd25519 {
  private readonly verdicts: BoundedCache<string, boolean>;

  constructor(
    private readonly check: Ed25519Check = nativeEd25519,
    limit: number = VERDICT_LIMIT,
  ) {
    this.verdicts = new BoundedCache(limit);
  }

  /** True when `signature` is `publicKey`'s signature of `message`; false for any malformed input. */
  verify(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    const id = verdictId(publicKey, message, signature);
    const known = this.verdicts.get(id);
    if (known !== undefined) return known;
    const valid = this.check(publicKey, message, signature);
    this.verdicts.set(id, valid);
    return valid;
  }
}

/**
 * The cache key: a digest of key, signature and message. Key and signature have fixed lengths, so
 * their concatenation with the message is unambiguous, and a digest keeps entries small whatever
 * the message's size.
 */
function verdictId(publicKey: Buffer, message: Buffer, signature: Buffer): string {
  return createHash("sha256").update(publicKey).update(signature).update(message).digest("base64");
}

const shared = new CachedEd25519();

/** True when `signature` is `publicKey`'s signature of `message`; false for any malformed input. */
export function verifyEd25519(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  return shared.verify(publicKey, message, signature);
}
