/**
 * The relay's native voucher signature check gives Commitment.verify's verdicts: valid, wrong key,
 * altered signature or amount, malformed input, and a weak (small-order) key that native ed25519
 * alone would accept.
 */
import { Keypair, Networks } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { Commitment } from "@quay/mpp";
import { VoucherSignature } from "@quay/channels";

const CHANNEL = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC";
const input = (amount: bigint) => ({ channel: CHANNEL, amount, networkPassphrase: Networks.TESTNET });

describe("VoucherSignature.verify", () => {
  const key = Keypair.random();
  const hex = key.rawPublicKey().toString("hex");

  it("agrees with Commitment.verify on valid and invalid vouchers", () => {
    for (let amount = 1n; amount <= 20n; amount++) {
      const signature = Commitment.sign(key, input(amount));
      const flipped = (signature[0] === "a" ? "b" : "a") + signature.slice(1);
      const cases: Array<[string, bigint, string]> = [
        [hex, amount, signature],
        [hex, amount, signature.toUpperCase()],
        [hex, amount + 1n, signature],
        [hex, amount, flipped],
        [Keypair.random().rawPublicKey().toString("hex"), amount, signature],
        [hex, amount, signature.slice(2)],
        [hex, amount, "zz" + signature.slice(2)],
        [hex.slice(2), amount, signature],
      ];
      for (const [k, a, s] of cases) expect(VoucherSignature.verify(k, input(a), s)).toBe(Commitment.verify(k, input(a), s));
      expect(VoucherSignature.verify(hex, input(amount), signature)).toBe(true);
    }
  });

  it("refuses a signature under a small-order key, which native ed25519 alone would accept", () => {
    // The identity point as the key; R = identity, S = 0: sB − kA = identity = R.
    const identity = "01" + "00".repeat(31);
    const signature = identity + "00".repeat(32);
    expect(Commitment.verify(identity, input(5n), signature)).toBe(false);
    expect(VoucherSignature.verify(identity, input(5n), signature)).toBe(false);
    expect(VoucherSignature.verify(identity, input(6n), signature)).toBe(false);
  });
});
