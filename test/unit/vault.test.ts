import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Vault, VaultError } from "@quay/vault";

const key = randomBytes(32);
const seed = "SCZANGBA5YHTNYVVV4C3U252E2B6P6F5T3U6MM63WBSBZATAQI3EBTQ4";

describe("Vault", () => {
  it("seals a secret so that it is not readable, and opens it again", () => {
    const sealed = Vault.seal(key, seed, "GABC");
    expect(sealed).not.toContain(seed);
    expect(sealed).not.toContain(Buffer.from(seed).toString("base64"));
    expect(Vault.open(key, sealed, "GABC")).toBe(seed);
    expect(Vault.seal(key, seed, "GABC")).not.toBe(sealed); // a fresh IV each time
  });

  it("refuses another key, another context, and any tampering, without saying which", () => {
    const sealed = Vault.seal(key, seed, "GABC");
    const flipped = Buffer.from(sealed.slice(3), "base64");
    flipped[flipped.length - 1]! ^= 1;
    for (const attempt of [
      () => Vault.open(randomBytes(32), sealed, "GABC"),
      () => Vault.open(key, sealed, "GXYZ"),
      () => Vault.open(key, `v1:${flipped.toString("base64")}`, "GABC"),
    ]) {
      expect(attempt).toThrow(VaultError);
      expect(attempt).toThrow("sealed value does not open with this key and context");
    }
    expect(() => Vault.open(key, "garbage", "GABC")).toThrow("not a sealed value");
    expect(() => Vault.seal(Buffer.alloc(16), seed, "GABC")).toThrow("32 bytes");
  });
});
