import { Keypair } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { verifyEd25519 } from "../../apps/devnet/src/ed25519";

describe("devnet ed25519 checks (native crypto)", () => {
  const signer = Keypair.random();
  const message = Buffer.from("a transaction hash, say");
  const signature = signer.sign(message);
  const publicKey = signer.rawPublicKey();

  it("accepts what the SDK signs, as the SDK's own verify does", () => {
    expect(verifyEd25519(publicKey, message, signature)).toBe(true);
    expect(signer.verify(message, signature)).toBe(true);
  });

  it("rejects another message, another key, a flipped bit and malformed input", () => {
    expect(verifyEd25519(publicKey, Buffer.from("another message"), signature)).toBe(false);
    expect(verifyEd25519(Keypair.random().rawPublicKey(), message, signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[10]! ^= 1;
    expect(verifyEd25519(publicKey, message, flipped)).toBe(false);
    expect(verifyEd25519(publicKey.subarray(0, 31), message, signature)).toBe(false);
    expect(verifyEd25519(publicKey, message, signature.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(Buffer.alloc(32), message, Buffer.alloc(64))).toBe(false);
  });

  it("rejects a non-canonical S (s + L), as stellar-core does", () => {
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString("hex")}`);
    const bumped = Buffer.from((s + L).toString(16).padStart(64, "0"), "hex").reverse();
    const malleated = Buffer.concat([signature.subarray(0, 32), bumped]);
    expect(signer.verify(message, malleated)).toBe(false);
    expect(verifyEd25519(publicKey, message, malleated)).toBe(false);
  });
});
