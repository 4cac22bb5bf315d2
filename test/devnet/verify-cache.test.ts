import { createHash } from "node:crypto";
import { Keypair } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { BoundedCache } from "../../apps/devnet/src/bounded-cache";
import { CachedEd25519, nativeEd25519, verifyEd25519 } from "../../apps/devnet/src/ed25519";
import type { Ed25519Check } from "../../apps/devnet/src/ed25519";

const signer = Keypair.random();
const message = createHash("sha256").update("a transaction").digest();
const signature = signer.sign(message);
const publicKey = signer.rawPublicKey();

/** The native check, counting how often it really runs. */
function counting(): { check: Ed25519Check; calls: () => number } {
  let calls = 0;
  return {
    check: (k, m, s) => {
      calls++;
      return nativeEd25519(k, m, s);
    },
    calls: () => calls,
  };
}

describe("devnet ed25519 verdict cache", () => {
  it("checks a (key, signature, message) once, then answers from the cache", () => {
    const native = counting();
    const cache = new CachedEd25519(native.check);
    expect(cache.verify(publicKey, message, signature)).toBe(true);
    expect(cache.verify(publicKey, message, signature)).toBe(true);
    expect(cache.verify(Buffer.from(publicKey), Buffer.from(message), Buffer.from(signature))).toBe(true);
    expect(native.calls()).toBe(1);
  });

  it("still rejects a wrong signature, another message and another key once a good verdict is cached", () => {
    const native = counting();
    const cache = new CachedEd25519(native.check);
    expect(cache.verify(publicKey, message, signature)).toBe(true);

    const flipped = Buffer.from(signature);
    flipped[5]! ^= 1;
    const otherMessage = createHash("sha256").update("another transaction").digest();
    const otherKey = Keypair.random().rawPublicKey();
    expect(cache.verify(publicKey, message, flipped)).toBe(false);
    expect(cache.verify(publicKey, otherMessage, signature)).toBe(false);
    expect(cache.verify(otherKey, message, signature)).toBe(false);
    expect(native.calls()).toBe(4);

    // Cached refusals stay refusals, and the good triple stays good.
    expect(cache.verify(publicKey, message, flipped)).toBe(false);
    expect(cache.verify(publicKey, otherMessage, signature)).toBe(false);
    expect(cache.verify(otherKey, message, signature)).toBe(false);
    expect(cache.verify(publicKey, message, signature)).toBe(true);
    expect(native.calls()).toBe(4);
  });

  it("refuses malformed keys and signatures without checking them", () => {
    const native = counting();
    const cache = new CachedEd25519(native.check);
    expect(cache.verify(publicKey.subarray(0, 31), message, signature)).toBe(false);
    expect(cache.verify(publicKey, message, signature.subarray(0, 63))).toBe(false);
    expect(native.calls()).toBe(0);
  });

  it("forgets its oldest verdicts beyond its limit and checks them again", () => {
    const native = counting();
    const cache = new CachedEd25519(native.check, 2);
    const messages = ["one", "two", "three"].map((m) => createHash("sha256").update(m).digest());
    const signatures = messages.map((m) => signer.sign(m));
    messages.forEach((m, i) => expect(cache.verify(publicKey, m, signatures[i]!)).toBe(true));
    expect(native.calls()).toBe(3);
    expect(cache.verify(publicKey, messages[2]!, signatures[2]!)).toBe(true);
    expect(native.calls()).toBe(3);
    expect(cache.verify(publicKey, messages[0]!, signatures[0]!)).toBe(true);
    expect(native.calls()).toBe(4);
  });

  it("the shared verifier the devnet uses gives the same verdicts on repeat", () => {
    const flipped = Buffer.from(signature);
    flipped[40]! ^= 0x80;
    for (let round = 0; round < 2; round++) {
      expect(verifyEd25519(publicKey, message, signature)).toBe(true);
      expect(verifyEd25519(publicKey, message, flipped)).toBe(false);
    }
  });
});

describe("BoundedCache", () => {
  it("drops the oldest entry once full, and overwriting a key evicts nothing", () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 3);
    expect(cache.size).toBe(2);
    expect(cache.get("a")).toBe(3);
    cache.set("c", 4);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBe(2);
    expect(cache.get("c")).toBe(4);
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => new BoundedCache(0)).toThrow(RangeError);
    expect(() => new BoundedCache(1.5)).toThrow(RangeError);
  });
});
