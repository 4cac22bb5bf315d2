import { Account, Keypair, Networks, Operation, TransactionBuilder } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { Signer } from "@quay/stellar";

function payment(source: Keypair) {
  return new TransactionBuilder(new Account(source.publicKey(), "41"), { fee: "100", networkPassphrase: Networks.TESTNET })
    .addOperation(Operation.bumpSequence({ bumpTo: "50" }))
    // Fixed bounds: two builds in different seconds must still be the same transaction.
    .setTimebounds(0, 1_900_000_000)
    .build();
}

describe("Signer (native Ed25519)", () => {
  it("knows its account and signs exactly as the SDK's Keypair does", () => {
    const keypair = Keypair.random();
    const signer = Signer.fromSecret(keypair.secret());
    expect(signer.publicKey).toBe(keypair.publicKey());

    const bySdk = payment(keypair);
    bySdk.sign(keypair);
    const bySigner = payment(keypair);
    signer.sign(bySigner);
    expect(bySigner.toXDR()).toBe(bySdk.toXDR());
    expect(keypair.verify(bySigner.hash(), bySigner.signatures[0]!.signature())).toBe(true);
  });

  it("refuses what is not a secret seed", () => {
    expect(() => Signer.fromSecret(Keypair.random().publicKey())).toThrow();
    expect(() => Signer.fromSecret("S-not-a-seed")).toThrow();
  });
});
