import { Account, Address, Keypair, Networks, Operation, SorobanDataBuilder, TransactionBuilder, nativeToScVal } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { FeeBumpBidError, Signer, Envelopes, Tx } from "@quay/stellar";

const contract = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC";
const payer = Keypair.random().publicKey();
const payee = Keypair.random().publicKey();

/** A Soroban transfer as settlement builds one: one invokeHostFunction, resources with a resource fee. */
function sorobanTx(source: Keypair, sequence: string, resourceFee: bigint) {
  const data = new SorobanDataBuilder().setResources(1_000_000, 2_000, 3_000).setResourceFee(resourceFee).build();
  return new TransactionBuilder(new Account(source.publicKey(), sequence), { fee: "100", networkPassphrase: Networks.TESTNET })
    .addOperation(
      Operation.invokeContractFunction({
        contract,
        function: "transfer",
        args: [new Address(payer).toScVal(), new Address(payee).toScVal(), nativeToScVal(12_345n, { type: "i128" })],
      }),
    )
    .setSorobanData(data)
    .setTimebounds(0, 1_900_000_123)
    .build();
}

function classicTx(source: Keypair) {
  return new TransactionBuilder(new Account(source.publicKey(), "41"), { fee: "150", networkPassphrase: Networks.TESTNET })
    .addOperation(Operation.bumpSequence({ bumpTo: "50" }))
    .addOperation(Operation.bumpSequence({ bumpTo: "60" }))
    .setTimebounds(0, 1_900_000_000)
    .build();
}

describe("Envelopes (as bytes)", () => {
  it.each([
    ["a Soroban transaction", (kp: Keypair) => sorobanTx(kp, "9007199254740993", 1_234_567n), 2_000n],
    ["a Soroban transaction at the minimum bid", (kp: Keypair) => sorobanTx(kp, "7", 98_765n), 100n],
    ["a classic transaction of two operations", classicTx, 150n],
  ])("signs and fee-bumps %s byte for byte as the SDK does", (_, build, bid) => {
    const channel = Keypair.random();
    const fund = Keypair.random();
    const bySdk = build(channel);
    bySdk.sign(channel);
    const bumpBySdk = TransactionBuilder.buildFeeBumpTransaction(fund, bid.toString(), bySdk, Networks.TESTNET);
    bumpBySdk.sign(fund);

    const inner = Envelopes.signInner(build(channel), Signer.fromSecret(channel.secret()), Networks.TESTNET);
    expect(inner.hash).toBe(bySdk.hash().toString("hex"));
    expect(inner.v1Envelope.toString("base64")).toBe(bySdk.toEnvelope().v1().toXDR("base64"));
    expect(inner.sequence).toBe(bySdk.sequence);
    expect(inner.resourceFee).toBe(Tx.resourceFee(bySdk));
    expect(inner.operationCount).toBe(bySdk.operations.length);
    expect(inner.maxTime).toBe(Number(bySdk.timeBounds!.maxTime));

    const bump = Envelopes.feeBump(inner, Signer.fromSecret(fund.secret()), bid, Networks.TESTNET);
    expect(bump.envelope).toBe(bumpBySdk.toXDR());
    expect(bump.hash).toBe(bumpBySdk.hash().toString("hex"));
    expect(bump.fee).toBe(BigInt(bumpBySdk.fee));
    expect(bump.fee).toBe(bid * BigInt(bySdk.operations.length + 1) + Tx.resourceFee(bySdk));
  });

  it("commits to the network: the same transaction on another network has other hashes", () => {
    const channel = Signer.fromSecret(Keypair.random().secret());
    const tx = sorobanTx(Keypair.fromRawEd25519Seed(Buffer.alloc(32, 7)), "5", 1_000n);
    const testnet = Envelopes.signInner(tx, channel, Networks.TESTNET);
    const pubnet = Envelopes.signInner(tx, channel, Networks.PUBLIC);
    expect(pubnet.hash).not.toBe(testnet.hash);
    expect(pubnet.v1Envelope.equals(testnet.v1Envelope)).toBe(false);
  });

  it("refuses a bid below the inner transaction's or the network's minimum, as the SDK does", () => {
    const channel = Keypair.random();
    const fund = Signer.fromSecret(Keypair.random().secret());
    const inner = Envelopes.signInner(classicTx(channel), Signer.fromSecret(channel.secret()), Networks.TESTNET);
    expect(() => Envelopes.feeBump(inner, fund, 149n, Networks.TESTNET)).toThrow(FeeBumpBidError);
    const soroban = Envelopes.signInner(sorobanTx(channel, "3", 500n), Signer.fromSecret(channel.secret()), Networks.TESTNET);
    expect(() => Envelopes.feeBump(soroban, fund, 99n, Networks.TESTNET)).toThrow(FeeBumpBidError);
    expect(Envelopes.feeBump(soroban, fund, 100n, Networks.TESTNET).fee).toBe(700n);
    // An inner rate that is not a whole number of stroops (301 over 2 operations) is not rounded down.
    const uneven = new TransactionBuilder(new Account(channel.publicKey(), "1"), { fee: "100", networkPassphrase: Networks.TESTNET })
      .addOperation(Operation.bumpSequence({ bumpTo: "5" }))
      .addOperation(Operation.bumpSequence({ bumpTo: "6" }))
      .setTimebounds(0, 1_900_000_000)
      .build();
    const unevenInner = Envelopes.signInner(uneven, Signer.fromSecret(channel.secret()), Networks.TESTNET);
    const raised = { ...unevenInner, fee: 301n }; // the bid rule only reads the fee fields
    expect(() => Envelopes.feeBump(raised, fund, 150n, Networks.TESTNET)).toThrow(FeeBumpBidError);
    expect(Envelopes.feeBump(raised, fund, 151n, Networks.TESTNET).fee).toBe(453n);
  });
});
