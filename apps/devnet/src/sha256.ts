import { createHash } from "node:crypto";

/**
 * SHA-256 on Node's native crypto. The SDK's `hash()` runs sha.js in JavaScript, about ten times
 * slower; the devnet hashes every transaction, auth payload and ledger, so it uses this instead.
 * Same digest: `hash(x)` and `sha256(x)` are byte-for-byte equal; more parts hash as their concatenation.
 */
export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return h.digest();
}
