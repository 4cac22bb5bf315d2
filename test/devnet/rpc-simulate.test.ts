import { Address, Asset, Contract, Operation, TransactionBuilder, nativeToScVal, rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
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
    expect(charged).toBe(needed + 100n);
    expect(await xlmBalance(t.server, holder.publicKey())).toBe(10_000n * XLM - charged);
    // The refund is reported as an after-all-transactions fee event with a negative amount.
    const feeEvents = res.events.transactionEventsXdr.map((e) => scValToNative(e.event().body().v0().data()) as bigint);
    expect(feeEvents).toEqual([needed + 10_100n, -10_000n]);
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

  it("reports liveUntilLedgerSeq for contract entries and a restorePreamble once one is archived", async () => {
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

    // Wait until the entry is archived.
    while ((await t.server.getLatestLedger()).sequence <= live!) await new Promise((r) => setTimeout(r, 100));
    const reader = await fundedKeypair(t.devnet);
    const sim = await t.server.simulateTransaction(await invocation(reader, "balance", addr(holder)));
    expect(rpc.Api.isSimulationRestore(sim)).toBe(true);
    if (!rpc.Api.isSimulationRestore(sim)) return;
    expect(scValToNative(sim.result.retval)).toBe(42n);
    const preamble = sim.restorePreamble.transactionData.build();
    expect(preamble.resources().footprint().readWrite().map((k) => k.toXDR("base64"))).toContain(balanceKey.toXDR("base64"));

    // Restore with the preamble, then the read simulates cleanly.
    const restore = (await builderFor(t, reader.publicKey()))
      .setSorobanData(preamble)
      .addOperation(Operation.restoreFootprint({}))
      .setTimeout(60)
      .build();
    const restoreEnv = restore.toEnvelope();
    restoreEnv.v1().tx().fee(Number(sim.restorePreamble.minResourceFee) + 100);
    const restoreTx = TransactionBuilder.fromXDR(restoreEnv, t.passphrase);
    restoreTx.sign(reader);
    expect((await submitAndWait(t.server, restoreTx)).status).toBe("SUCCESS");
    const after = await t.server.simulateTransaction(await invocation(reader, "balance", addr(holder)));
    expect(rpc.Api.isSimulationSuccess(after) && !rpc.Api.isSimulationRestore(after)).toBe(true);
  });
});
