import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Signing keys Quay holds (channel-account seeds, recipient keys entrusted by tenants) are kept
 * sealed with AES-256-GCM under the operator's master key. The `context` (e.g. the key's public
 * address) is bound as associated data, so a sealed value copied onto another row won't open.
 */

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class VaultError extends Error {
  override readonly name = "VaultError";
}

function checkKey(masterKey: Buffer): void {
  if (masterKey.length !== 32) throw new VaultError("the master key must be 32 bytes");
}

export const Vault = {
  seal(masterKey: Buffer, plaintext: string, context: string): string {
    checkKey(masterKey);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", masterKey, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
  },

  open(masterKey: Buffer, sealed: string, context: string): string {
    checkKey(masterKey);
    const [version, encoded] = sealed.split(":");
    if (version !== VERSION || !encoded) throw new VaultError("not a sealed value");
    const raw = Buffer.from(encoded, "base64");
    if (raw.length < IV_BYTES + TAG_BYTES) throw new VaultError("not a sealed value");
    const decipher = createDecipheriv("aes-256-gcm", masterKey, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch {
      // Never say more: a wrong key, a wrong context and tampering must look the same.
      throw new VaultError("sealed value does not open with this key and context");
    }
  },
};
