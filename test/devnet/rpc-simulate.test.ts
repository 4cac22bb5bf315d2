import { Address, Asset, Contract, Operation, SorobanDataBuilder, TransactionBuilder, nativeToScVal, rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import type { Keypair } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USDC, builderFor, fundedKeypair, startTestDevnet, submitAndWait, xlmBalance } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
let t: TestDevnet;
let usdc: Contract;

beforeAll(async () => {
  // A short persistent TTL so an entry can be archived within the test.
  t = await startTestDevnet({ minPersistentTtl: 10, minTemporaryTtl: 10 });
  usdc = new Contract(USDC.contractId(t.passphrase));
});
afterAll(async () => {
  await t.close();
});

const addr = (a: string) => Address.fromString(a).toScVal();
const i128 = (v: bigint) => nativeToScVal(v, { type: "i128" });

async function invocation(source: Keypair, method: string, ...args: xdr.ScVal[]) {
  return (await builderFor(t, source.publicKey())).addOperation(usdc.call(method, ...args)).setTimeout(60).build();
}

describe("simulateTransaction", () => {
  it("records the auth a non-source payer must give, with footprint, resource fee and return value", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const sim = await t.server.simulateTransaction(await invocation(relayer, "transfer", addr(payer.publicKey()), addr(payee.publicKey()), i128(5n)));
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
    expect(rpc.Api.isSimulationRestore(sim)).toBe(false);
    expect(Number(sim.minResourceFee)).toBeGreaterThan(0);
    const data = sim.transactionData.build();
    expect(data.resources().footprint().readWrite().length).toBeGreaterThanOrEqual(2);
    expect(sim.result?.auth).toHaveLength(1);
    expect(sim.result?.auth[0]?.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsAddress());
    expect(sim.result?.retval.switch()).toBe(xdr.ScValType.scvVoid());
    // The simulated transfer emits its event but moves nothing.
    expect(sim.events.some((e) => e.event().type() === xdr.ContractEventType.contract())).toBe(true);
    expect((await t.server.getTrustline(payer.publicKey(), USDC)).balance().toString()).toBe((10n * XLM).toString());
  });

  it("enforces auth entries a transaction already carries, and reports host errors as `error`", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const recorded = await t.server.simulateTransaction(await invocation(relayer, "transfer", addr(payer.publicKey()), addr(payee.publicKey()), i128(5n)));
    if (!rpc.Api.isSimulationSuccess(recorded)) throw new Error("recording simulation failed");
    // The recorded entry, unsigned, put back on the op: enforcing mode rejects the missing signature.
    const unsigned = (await builderFor(t, relayer.publicKey()))
      .addOperation(Operation.invokeHostFunction({ func: xdr.HostFunction.hostFunctionTypeInvokeContract(new xdr.InvokeContractArgs({
        contractAddress: Address.fromString(usdc.contractId()).toScAddress(),
        functionName: "transfer",
        args: [addr(payer.publicKey()), addr(payee.publicKey()), i128(5n)],
      })), auth: recorded.result?.auth ?? [] }))
      .setTimeout(60)
      .build();
    const enforced = await t.server.simulateTransaction(unsigned);
    expect(rpc.Api.isSimulationError(enforced)).toBe(true);
    if (rpc.Api.isSimulationError(enforced)) expect(enforced.error).toMatch(/HostError/);
  });

  it("answers a non-Soroban transaction with an error, not a crash", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey()))
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(60)
      .build();
    const sim = await t.server.simulateTransaction(tx);
    expect(rpc.Api.isSimulationError(sim)).toBe(true);
  });
});

describe("Soroban transactions through sendTransaction", () => {
  it("lands a prepared invocation with its return value in the meta and refunds the unused resource fee", async () => {
    const holder = await fundedKeypair(t.devnet, { usdc: 777n });
    const prepared = await t.server.prepareTransaction(await invocation(holder, "balance", addr(holder.publicKey())));
    const env = prepared.toEnvelope();
    const data = env.v1().tx().ext().sorobanData();
    const needed = BigInt(data.resourceFee().toString());
    // Over-declare the resource fee by 10 000 stroops: the unused part comes back after apply.
    data.resourceFee(xdr.Int64.fromString((needed + 10_000n).toString()));
    env.v1().tx().fee(Number(needed + 10_000n + 100n));
    const generous = TransactionBuilder.fromXDR(env, t.passphrase);
    generous.sign(holder);
    const res = await submitAndWait(t.server, generous);
    expect(res.status).toBe("SUCCESS");
    if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(scValToNative(res.returnValue!)).toBe(777n);
    const charged = BigInt(res.resultXdr.feeCharged().toString());
    // Charged: the inclusion fee, the non-refundable fee of the declared resources and the actual
    // size, and the refundable fee consumed; simulation's padding of the size and of the
    // refundable fee comes back with the over-declared 10 000.
    const fees = res.resultMetaXdr.v4().sorobanMeta()!.ext().v1();
    const nonRefundable = BigInt(fees.totalNonRefundableResourceFeeCharged().toString());
    const refundable = BigInt(fees.totalRefundableResourceFeeCharged().toString());
    expect(charged).toBe(100n + nonRefundable + refundable);
    expect(charged).toBeLessThan(needed + 100n);
    expect(await xlmBalance(t.server, holder.publicKey())).toBe(10_000n * XLM - charged);
    // The refund is reported as an after-all-transactions fee event with a negative amount.
    const feeEvents = res.events.transactionEventsXdr.map((e) => scValToNative(e.event().body().v0().data()) as bigint);
    expect(feeEvents).toEqual([needed + 10_100n, charged - needed - 10_100n]);
    // Soroban inclusion fees are reported in their own lane.
    const stats = await t.server.getFeeStats();
    expect(Number(stats.sorobanInclusionFee.transactionCount)).toBeGreaterThanOrEqual(1);
    expect(stats.sorobanInclusionFee.max).toBe("100");
  });

  it("rejects a Soroban transaction whose fee does not cover resource fee + inclusion fee", async () => {
    const holder = await fundedKeypair(t.devnet, { usdc: 1n });
    const prepared = await t.server.prepareTransaction(await invocation(holder, "balance", addr(holder.publicKey())));
    const resourceFee = prepared.toEnvelope().v1().tx().ext().sorobanData().resourceFee().toString();
    const env = prepared.toEnvelope();
    env.v1().tx().fee(Number(resourceFee) + 50);
    const starved = TransactionBuilder.fromXDR(env, t.passphrase);
    starved.sign(holder);
    const sent = await t.server.sendTransaction(starved);
    expect(sent.status).toBe("ERROR");
    expect(sent.errorResult?.result().switch().name).toBe("txInsufficientFee");
  });

  it("rejects a Soroban operation sharing its transaction with another operation (txMalformed)", async () => {
    const holder = await fundedKeypair(t.devnet, { usdc: 1n });
    const prepared = await t.server.prepareTransaction(await invocation(holder, "balance", addr(holder.publicKey())));
    const env = prepared.toEnvelope();
    const extra = Operation.payment({ destination: holder.publicKey(), asset: Asset.native(), amount: "1" });
    env.v1().tx().operations().push(xdr.Operation.fromXDR(extra.toXDR()));
    const mixed = TransactionBuilder.fromXDR(env, t.passphrase);
    mixed.sign(holder);
    const sent = await t.server.sendTransaction(mixed);
    expect(sent.status).toBe("ERROR");
    expect(sent.errorResult?.result().switch().name).toBe("txMalformed");
  });

  it("refuses restore marks that are not ascending indexes of persistent read-write entries (txSorobanInvalid)", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const prepared = await t.server.prepareTransaction(await invocation(payer, "transfer", addr(payer.publicKey()), addr(payee.publicKey()), i128(1n)));
    const readWrite = prepared.toEnvelope().v1().tx().ext().sorobanData().resources().footprint().readWrite();
    // A transfer between G accounts writes their trustlines: not persistent contract entries.
    const trustline = readWrite.findIndex((k) => k.switch() === xdr.LedgerEntryType.trustline());
    expect(trustline).toBeGreaterThanOrEqual(0);
    for (const marks of [[trustline], [readWrite.length], [0, 0]]) {
      const env = prepared.toEnvelope();
      env.v1().tx().ext().sorobanData().ext(new xdr.SorobanTransactionDataExt(1, new xdr.SorobanResourcesExtV0({ archivedSorobanEntries: marks })));
      const marked = TransactionBuilder.fromXDR(env, t.passphrase);
      marked.sign(payer);
      const sent = await t.server.sendTransaction(marked);
      expect(sent.status, JSON.stringify(marks)).toBe("ERROR");
      expect(sent.errorResult?.result().switch().name).toBe("txSorobanInvalid");
    }
  });

  it("reports liveUntilLedgerSeq, then 0 once archived; an invocation restores the entry automatically (protocol 23)", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    // A contract holder's balance is persistent contract data under the SAC, with the minimum TTL.
    const holder = Asset.native().contractId(t.passphrase);
    const transfer = await t.server.prepareTransaction(await invocation(payer, "transfer", addr(payer.publicKey()), addr(holder), i128(42n)));
    transfer.sign(payer);
    const landed = await submitAndWait(t.server, transfer);
    expect(landed.status).toBe("SUCCESS");

    const balanceKey = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: Address.fromString(usdc.contractId()).toScAddress(),
        key: xdr.ScVal.scvVec([xdr.ScVal.scvSymbol("Balance"), addr(holder)]),
        durability: xdr.ContractDataDurability.persistent(),
      }),
    );
    const entries = await t.server.getLedgerEntries(balanceKey);
    const live = entries.entries[0]?.liveUntilLedgerSeq;
    expect(live).toBe((landed as rpc.Api.GetSuccessfulTransactionResponse).ledger + 10 - 1);

    // Wait until the entry is archived: still reported, with core's placeholder TTL 0.
    while ((await t.server.getLatestLedger()).sequence <= live!) await new Promise((r) => setTimeout(r, 100));
    const archived = await t.server.getLedgerEntries(balanceKey);
    expect(archived.entries).toHaveLength(1);
    expect(archived.entries[0]!.liveUntilLedgerSeq).toBe(0);

    // Extending an archived entry still needs a restore first: that simulation has a restorePreamble.
    const reader = await fundedKeypair(t.devnet);
    const extend = (await builderFor(t, reader.publicKey()))
      .setSorobanData(new SorobanDataBuilder().setReadOnly([balanceKey]).build())
      .addOperation(Operation.extendFootprintTtl({ extendTo: 100 }))
      .setTimeout(60)
      .build();
    const extendSim = await t.server.simulateTransaction(extend);
    expect(rpc.Api.isSimulationRestore(extendSim)).toBe(true);

    // An invocation gets no restorePreamble: its footprint marks the entry for restore, and the
    // restore's rent is in the fee.
    const sim = await t.server.simulateTransaction(await invocation(reader, "balance", addr(holder)));
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
    expect(rpc.Api.isSimulationRestore(sim)).toBe(false);
    expect(scValToNative(sim.result!.retval)).toBe(42n);
    const data = sim.transactionData.build();
    const readWrite = data.resources().footprint().readWrite().map((k) => k.toXDR("base64"));
    expect(data.ext().switch()).toBe(1);
    expect(data.ext().resourceExt().archivedSorobanEntries().map((i) => readWrite[i])).toEqual([balanceKey.toXDR("base64")]);

    // Sent as simulated (the SDK keeps the marks), the read lands and the entry is live again.
    const read = rpc.assembleTransaction(await invocation(reader, "balance", addr(holder)), sim).build();
    expect(read.toEnvelope().v1().tx().ext().sorobanData().ext().switch()).toBe(1);
    read.sign(reader);
    const restored = await submitAndWait(t.server, read);
    expect(restored.status).toBe("SUCCESS");
    const after = await t.server.getLedgerEntries(balanceKey);
    expect(after.entries[0]!.liveUntilLedgerSeq).toBe((restored as rpc.Api.GetSuccessfulTransactionResponse).ledger + 10 - 1);
    const again = await t.server.simulateTransaction(await invocation(reader, "balance", addr(holder)));
    if (!rpc.Api.isSimulationSuccess(again)) throw new Error("simulation failed");
    expect(again.transactionData.build().ext().switch()).toBe(0);
    expect(BigInt(again.minResourceFee)).toBeLessThan(BigInt(sim.minResourceFee));
  });

  it("an archived entry the footprint does not mark fails the invocation on chain (entry archived), fee taken", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const holder = Asset.native().contractId(t.passphrase);
    const reader = await fundedKeypair(t.devnet);
    // Simulated while live, sent after the entry is archived: the footprint has it read-only, unmarked.
    const transfer = await t.server.prepareTransaction(await invocation(payer, "transfer", addr(payer.publicKey()), addr(holder), i128(1n)));
    transfer.sign(payer);
    const landed = (await submitAndWait(t.server, transfer)) as rpc.Api.GetSuccessfulTransactionResponse;
    const stale = await t.server.prepareTransaction(await invocation(reader, "balance", addr(holder)));
    stale.sign(reader);
    while ((await t.server.getLatestLedger()).sequence <= landed.ledger + 10 - 1) await new Promise((r) => setTimeout(r, 100));
    const failed = await submitAndWait(t.server, stale);
    expect(failed.status).toBe("FAILED");
    const result = (failed as rpc.Api.GetFailedTransactionResponse).resultXdr;
    expect(result.result().results()[0]!.tr().invokeHostFunctionResult().switch().name).toBe("invokeHostFunctionEntryArchived");
    expect(BigInt(result.feeCharged().toString())).toBeGreaterThan(0n);
  });
});
