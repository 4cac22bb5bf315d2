import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The bearer secret itself: `qk_` followed by 32 random bytes in base64url (43 characters). Only
 * its SHA-256 is ever stored; a key carries 256 bits of entropy, so an unsalted hash is enough
 * (there is nothing to brute-force the way there is with a password).
 */

const MARKER = "qk_";
const SECRET_BYTES = 32;
const SHAPE = /^qk_[A-Za-z0-9_-]{43}$/;
/** Characters of the random part shown in listings: enough to tell keys apart, far too few to use. */
const PREFIX_CHARS = 8;

export const KeySecret = {
  generate(): string {
    return MARKER + randomBytes(SECRET_BYTES).toString("base64url");
  },

  isWellFormed(presented: string): boolean {
    return SHAPE.test(presented);
  },

  /** Hex SHA-256, the only form of the key the database holds. */
  hash(key: string): string {
    return createHash("sha256").update(key, "utf8").digest("hex");
  },

  /** `qk_` and the first characters of the random part: recognisable in a listing, not usable. */
  prefix(key: string): string {
    return key.slice(0, MARKER.length + PREFIX_CHARS);
  },

  /** Compares two hex digests without an early exit, so timing says nothing about how much matched. */
  hashesEqual(a: string, b: string): boolean {
    const left = Buffer.from(a, "hex");
    const right = Buffer.from(b, "hex");
    return left.length === right.length && timingSafeEqual(left, right);
  },
};
