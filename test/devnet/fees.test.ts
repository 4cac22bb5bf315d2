/**
 * Soroban fees as the network charges them (stellar-core, rs-soroban-env fees.rs) and as stellar-rpc
 * simulates and reports them: simulation padded, the non-refundable fee priced on the declared
 * resources and the transaction's size, the refundable fee refunded in full on failure, a resource
 * fee below the declared resources' need refused at send, getFeeStats per transaction. Each rule
 * can be relaxed.
 */
import { Address, Asset, Contract, Keypair, Operation, TransactionBuilder, nativeToScVal, rpc, xdr } from "@stellar/stellar-sdk";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { Fees } from "../../apps/devnet/src/soroban/fees";
import { USDC, builderFor, fundedKeypair, setFaults, devnetPerTest, submitAndWait, txResultCode, xlmBalance } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
const devnet = devnetPerTest();

const addr = (a: string): xdr.ScVal => Address.fromString(a).toScVal();

/** A USDC transfer by its own holder (source-account auth: nothing to sign but the envelope). */
async function transfer(net: TestDevnet, from: Keypair, to: string, amount: bigint): Promise<Transaction> {
  const usdc = new Contract(USDC.contractId(net.passphrase));
  return (await builderFor(net, from.publicKey()))
    .addOperation(usdc.call("transfer", addr(from.publicKey()), addr(to), nativeToScVal(amount, { type: "i128" })))
    .setTimeout(60)
    .build();
}

async function holders(net: TestDevnet): Promise<{ payer: Keypair; payee: Keypair }> {
  return { payer: await fundedKeypair(net.devnet, { usdc: 100n * XLM }), payee: await fundedKeypair(net.devnet, { usdc: 1n }) };
}

async function simulated(net: TestDevnet, tx: Transaction, leeway?: number): Promise<rpc.Api.SimulateTransactionSuccessResponse> {
  const sim = await net.server.simulateTransaction(tx, leeway === undefined ? undefined : { cpuInstructions: leeway });
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
  return sim;
}

/** The transfer with its simulation applied (auth entries and Soroban data), unsigned. */
async function assembled(net: TestDevnet, tx: Transaction): Promise<{ tx: Transaction; data: xdr.SorobanTransactionData }> {
  const built = rpc.assembleTransaction(tx, await simulated(net, tx)).build();
  return { tx: built, data: built.toEnvelope().v1().tx().ext().sorobanData() };
}

/** Rebuilds `tx` with this Soroban data and fee, signed by `signer`. */
function withData(net: TestDevnet, tx: Transaction, data: xdr.SorobanTransactionData, signer: Keypair, inclusion = 100n): Transaction {
  const env = xdr.TransactionEnvelope.fromXDR(tx.toEnvelope().toXDR());
  env.v1().tx().ext(new xdr.TransactionExt(1, data));
  env.v1().tx().fee(Number(BigInt(data.resourceFee().toString()) + inclusion));
  env.v1().signatures([]);
  const rebuilt = TransactionBuilder.fromXDR(env, net.passphrase) as Transaction;
  rebuilt.sign(signer);
  return rebuilt;
}

/** The non-refundable fee the network prices a transaction's declared resources and size at. */
function declaredNonRefundable(tx: Transaction | FeeBumpTransaction): bigint {
  const env = tx.toEnvelope();
  const inner = env.switch() === xdr.EnvelopeType.envelopeTypeTxFeeBump() ? env.feeBump().tx().innerTx() : env;
  const v1 = env.switch() === xdr.EnvelopeType.envelopeTypeTxFeeBump() ? env.feeBump().tx().innerTx().v1() : env.v1();
  return Fees.nonRefundableOf(Fees.declared(v1.tx().ext().sorobanData(), inner.toXDR().length));
}

function feesCharged(res: rpc.Api.GetSuccessfulTransactionResponse | rpc.Api.GetFailedTransactionResponse): { nonRefundable: bigint; refundable: bigint; rent: bigint } {
  const v1 = res.resultMetaXdr.v4().sorobanMeta()!.ext().v1();
  return {
    nonRefundable: BigInt(v1.totalNonRefundableResourceFeeCharged().toString()),
    refundable: BigInt(v1.totalRefundableResourceFeeCharged().toString()),
    rent: BigInt(v1.rentFeeCharged().toString()),
  };
}

const charged = (res: { resultXdr: xdr.TransactionResult }): bigint => BigInt(res.resultXdr.feeCharged().toString());

function settled(res: rpc.Api.GetTransactionResponse): rpc.Api.GetSuccessfulTransactionResponse | rpc.Api.GetFailedTransactionResponse {
  if (res.status === rpc.Api.GetTransactionStatus.NOT_FOUND) throw new Error("transaction not found");
  return res;
}

describe("simulation padding (soroban-simulation default_adjustment)", () => {
  it("pads instructions to max(x1.04, +50 000) (or the leeway) and the fee; read and write bytes as measured", async () => {
    const net = await devnet();
    const { payer, payee } = await holders(net);
    const tx = await transfer(net, payer, payee.publicKey(), 5n);
    const padded = await simulated(net, tx);
    await setFaults(net.devnet, { rules: { simulationPadding: false } });
    const exact = await simulated(net, tx);
    const leeway = await simulated(net, tx, 2_000_000);
    await setFaults(net.devnet, { rules: null });

    const raw = exact.transactionData.build().resources();
    const p = padded.transactionData.build().resources();
    expect(p.instructions()).toBe(Math.max(raw.instructions() + 50_000, Math.floor(raw.instructions() * 1.04)));
    expect(p.diskReadBytes()).toBe(raw.diskReadBytes());
    expect(p.writeBytes()).toBe(raw.writeBytes());
    expect(BigInt(padded.minResourceFee)).toBeGreaterThan(BigInt(exact.minResourceFee));
    // Without padding the leeway has nothing to raise; with it, it raises the additive part.
    expect(leeway.transactionData.build().resources().instructions()).toBe(raw.instructions());
    expect((await simulated(net, tx, 2_000_000)).transactionData.build().resources().instructions()).toBe(raw.instructions() + 2_000_000);
  });
});

describe("what a Soroban transaction is charged", () => {
  it("success: the declared resources' non-refundable fee (over-declared instructions included) plus the refundable fee consumed", async () => {
    const net = await devnet();
    const { payer, payee } = await holders(net);
    const { tx, data } = await assembled(net, await transfer(net, payer, payee.publicKey(), 5n));
    data.resources().instructions(data.resources().instructions() * 2);
    data.resourceFee(xdr.Int64.fromString((BigInt(data.resourceFee().toString()) + 50_000n).toString()));
    const generous = withData(net, tx, data, payer);
    const before = await xlmBalance(net.server, payer.publicKey());
    const res = settled(await submitAndWait(net.server, generous));
    expect(res.status).toBe("SUCCESS");
    const fees = feesCharged(res);
    expect(fees.nonRefundable).toBe(declaredNonRefundable(generous));
    expect(fees.refundable).toBeGreaterThan(0n); // the transfer's event and return value
    expect(charged(res)).toBe(100n + fees.nonRefundable + fees.refundable);
    expect(await xlmBalance(net.server, payer.publicKey())).toBe(before - charged(res));
  });

  it("failure: the refundable part comes back whole; the relaxed rule keeps the whole declared fee", async () => {
    for (const networkResourceFees of [true, false]) {
      const net = await devnet({ networkResourceFees });
      const { payer, payee } = await holders(net);
      const tx = await simulatedAndSigned(net, payer, payee.publicKey());
      const declared = BigInt(tx.toEnvelope().v1().tx().ext().sorobanData().resourceFee().toString());
      const before = await xlmBalance(net.server, payer.publicKey());
      // The ledger moved since simulation: the invocation fails at apply.
      await setFaults(net.devnet, { resourceDrift: { kind: "resourceLimitExceeded", count: 1 } });
      const res = settled(await submitAndWait(net.server, tx));
      expect(res.status).toBe("FAILED");
      const expected = networkResourceFees ? 100n + declaredNonRefundable(tx) : 100n + declared;
      expect(charged(res)).toBe(expected);
      expect(feesCharged(res)).toEqual({ nonRefundable: expected - 100n, refundable: 0n, rent: 0n });
      expect(await xlmBalance(net.server, payer.publicKey())).toBe(before - expected);
    }
  });

  it("a resource fee below the declared resources' non-refundable fee is txSOROBAN_INVALID at send: no fee, no sequence", async () => {
    const net = await devnet();
    const { payer, payee } = await holders(net);
    const { tx, data } = await assembled(net, await transfer(net, payer, payee.publicKey(), 5n));
    const probe = withData(net, tx, data, payer);
    data.resourceFee(xdr.Int64.fromString((declaredNonRefundable(probe) - 1n).toString()));
    const starved = withData(net, tx, data, payer);
    const account = await net.server.getAccount(payer.publicKey());
    const before = await xlmBalance(net.server, payer.publicKey());
    const sent = await net.server.sendTransaction(starved);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txSorobanInvalid");
    expect(await xlmBalance(net.server, payer.publicKey())).toBe(before);
    expect((await net.server.getAccount(payer.publicKey())).sequenceNumber()).toBe(account.sequenceNumber());

    // Relaxed: admitted, then it fails for want of refundable fee, charged, its sequence spent.
    await setFaults(net.devnet, { rules: { resourceFeeCheckAtSend: false } });
    const res = settled(await submitAndWait(net.server, starved));
    expect(res.status).toBe("FAILED");
    expect((await net.server.getAccount(payer.publicKey())).sequenceNumber()).not.toBe(account.sequenceNumber());
  });

  it("a fee bump's inner transaction may declare a resource fee above its own fee (protocol 23)", async () => {
    const net = await devnet();
    const { payer, payee } = await holders(net);
    const sponsor = await fundedKeypair(net.devnet);
    const prepared = await simulatedAndSigned(net, payer, payee.publicKey());
    const env = xdr.TransactionEnvelope.fromXDR(prepared.toEnvelope().toXDR());
    env.v1().tx().fee(100); // below its resource fee
    env.v1().signatures([]);
    const inner = TransactionBuilder.fromXDR(env, net.passphrase) as Transaction;
    inner.sign(payer);
    const alone = await net.server.sendTransaction(inner);
    expect(txResultCode(alone.errorResult!)).toBe("txSorobanInvalid");
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "100", inner, net.passphrase);
    bump.sign(sponsor);
    expect((await submitAndWait(net.server, bump)).status).toBe("SUCCESS");
  });
});

describe("getFeeStats as stellar-rpc reports it", () => {
  it("a Soroban transaction's inclusion fee whole, a classic one per inner operation; the relaxed rule per fee operation", async () => {
    for (const feeStatsPerTransaction of [true, false]) {
      const net = await devnet({ feeStatsPerTransaction });
      const { payer, payee } = await holders(net);
      const sponsor = await fundedKeypair(net.devnet);
      const inner = await simulatedAndSigned(net, payer, payee.publicKey());
      // 100 per fee operation: the bump pays 200 of inclusion fee for its 2 fee operations.
      const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "100", inner, net.passphrase);
      bump.sign(sponsor);
      const res = settled(await submitAndWait(net.server, bump));
      expect(charged(res) - feesCharged(res).nonRefundable - feesCharged(res).refundable).toBe(200n);
      // A classic fee bump of a one-operation transaction: charged 200, one inner operation.
      const payment = (await builderFor(net, payee.publicKey()))
        .addOperation(Operation.payment({ destination: payee.publicKey(), asset: Asset.native(), amount: "1" }))
        .setTimeout(60)
        .build();
      payment.sign(payee);
      const classicBump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "100", payment, net.passphrase);
      classicBump.sign(sponsor);
      expect(charged(settled(await submitAndWait(net.server, classicBump)))).toBe(200n);
      const stats = await net.server.getFeeStats();
      expect(stats.sorobanInclusionFee.max).toBe(feeStatsPerTransaction ? "200" : "100");
      expect(stats.inclusionFee.max).toBe(feeStatsPerTransaction ? "200" : "100");
    }
  });
});

/** A prepared, signed USDC transfer (padded simulation data, fee = resource fee + 100). */
async function simulatedAndSigned(net: TestDevnet, payer: Keypair, to: string): Promise<Transaction> {
  const { tx, data } = await assembled(net, await transfer(net, payer, to, 5n));
  return withData(net, tx, data, payer);
}
