/**
 * The devnet reads transaction hashes off the envelope's XDR instead of re-encoding it (as the SDK's
 * `hash()` does): every envelope shape must give the SDK's hash, whatever its source accounts and
 * signatures look like.
 */
import { Account, FeeBumpTransaction, Keypair, MuxedAccount, Networks, Operation, Transaction, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { Envelopes } from "../../apps/devnet/src/envelope";

const PASS = Networks.TESTNET;
const source = Keypair.random();
const feePayer = Keypair.random();

function classic(from: Account | MuxedAccount): Transaction {
  return new TransactionBuilder(from, { fee: "100", networkPassphrase: PASS })
    .addOperation(Operation.bumpSequence({ bumpTo: "99" }))
    .setTimeout(60)
    .build();
}

/** A signature of an odd length: XDR pads it, and the hash must skip the padding right. */
function oddSignature(hintFrom: Keypair, length: number): xdr.DecoratedSignature {
  return new xdr.DecoratedSignature({ hint: hintFrom.signatureHint(), signature: Buffer.alloc(length, 9) });
}

function expectSdkHashes(tx: Transaction | FeeBumpTransaction): void {
  const parsed = Envelopes.parse(tx.toXDR(), PASS);
  expect(parsed.hash).toBe(tx.hash().toString("hex"));
  expect(parsed.envelopeXdr).toBe(tx.toEnvelope().toXDR("base64"));
  if (tx instanceof FeeBumpTransaction) {
    expect(parsed.feeBump?.hash.equals(tx.hash())).toBe(true);
    expect(parsed.inner.hash.equals(tx.innerTransaction.hash())).toBe(true);
  } else {
    expect(parsed.inner.hash.equals(tx.hash())).toBe(true);
  }
}

describe("devnet transaction hashes", () => {
  const plain = new Account(source.publicKey(), "1");
  const muxed = new MuxedAccount(new Account(source.publicKey(), "1"), "12345");

  it("v1 envelopes with no, one and several signatures", () => {
    const tx = classic(plain);
    expectSdkHashes(tx);
    tx.sign(source);
    expectSdkHashes(tx);
    tx.sign(feePayer);
    tx.signatures.push(oddSignature(feePayer, 63), oddSignature(source, 1));
    expectSdkHashes(tx);
  });

  it("a v1 envelope from a muxed source", () => {
    const tx = classic(muxed);
    tx.sign(source);
    expectSdkHashes(tx);
  });

  it("fee bumps, from plain and muxed fee sources, over plain and muxed inner sources", () => {
    for (const from of [plain, muxed]) {
      for (const feeSource of [feePayer.publicKey(), new MuxedAccount(new Account(feePayer.publicKey(), "1"), "7").accountId()]) {
        const inner = classic(from);
        inner.sign(source);
        inner.signatures.push(oddSignature(source, 62));
        const bump = TransactionBuilder.buildFeeBumpTransaction(feeSource, "1000", inner, PASS);
        expectSdkHashes(bump);
        bump.sign(feePayer);
        bump.signatures.push(oddSignature(feePayer, 3));
        expectSdkHashes(bump);
      }
    }
  });

  it("a v0 envelope", () => {
    const v1 = classic(plain).toEnvelope().v1().tx();
    const v0 = new xdr.TransactionV0({
      sourceAccountEd25519: source.rawPublicKey(),
      fee: v1.fee(),
      seqNum: v1.seqNum(),
      timeBounds: v1.cond().timeBounds(),
      memo: v1.memo(),
      operations: v1.operations(),
      ext: new xdr.TransactionV0Ext(0),
    });
    const envelope = xdr.TransactionEnvelope.envelopeTypeTxV0(new xdr.TransactionV0Envelope({ tx: v0, signatures: [] }));
    const tx = new Transaction(envelope, PASS);
    tx.sign(source);
    expectSdkHashes(tx);
  });

  it("a payment built the usual way", () => {
    const tx = new TransactionBuilder(plain, { fee: "100", networkPassphrase: PASS })
      .addOperation(Operation.createAccount({ destination: Keypair.random().publicKey(), startingBalance: "1" }))
      .setTimeout(0)
      .build();
    tx.sign(source);
    expectSdkHashes(tx);
  });
});
