/**
 * The devnet's Soroban host end to end: only the real @stellar/stellar-sdk and @x402/stellar talk
 * to the devnet, over its RPC.
 */
import { Address, authorizeEntry, contract, nativeToScVal, Operation, rpc, scValToNative, SorobanDataBuilder, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { createEd25519Signer } from "@x402/stellar";
import { ExactStellarScheme as ExactStellarClient } from "@x402/stellar/exact/client";
import { ExactStellarScheme as ExactStellarFacilitator } from "@x402/stellar/exact/facilitator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderFor, fundedKeypair, opResultCodes, startTestDevnet, submitAndWait, usdcBalance, USDC } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
const NETWORK = "stellar:testnet" as const;
let t: TestDevnet;
let usdcSac: string;

beforeAll(async () => {
  // Ledgers close every second: the x402 client gives its auth entry ~12 ledgers (60 s / 5 s estimate).
  t = await startTestDevnet({ ledgerCloseMs: 1_000 });
  usdcSac = USDC.contractId(t.passphrase);
});
afterAll(async () => {
  await t.close();
});

describe("SAC through the RPC", () => {
  it("the USDC SAC answers at the testnet address with its SEP-11 name", async () => {
    expect(usdcSac).toBe("CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA");
    const tx = await contract.AssembledTransaction.build({
      contractId: usdcSac,
      method: "name",
      args: [],
      networkPassphrase: t.passphrase,
      rpcUrl: t.devnet.rpcUrl,
      allowHttp: true,
      parseResultXdr: (v: xdr.ScVal) => scValToNative(v) as string,
    });
    expect(tx.result).toBe(`USDC:${USDC.getIssuer()}`);
  });

  it("a relayer submits a transfer the payer authorized with authorizeEntry; a replay of the entry fails on chain", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 20n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const op = Operation.invokeContractFunction({
      contract: usdcSac,
      function: "transfer",
      args: [Address.fromString(payer.publicKey()).toScVal(), Address.fromString(payee.publicKey()).toScVal(), nativeToScVal(5n * XLM, { type: "i128" })],
    });
    const draft = (await builderFor(t, relayer.publicKey())).addOperation(op).setTimeout(60).build();
    const sim = await t.server.simulateTransaction(draft);
    if (!("transactionData" in sim) || !("result" in sim) || !sim.result) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
    const latest = (await t.server.getLatestLedger()).sequence;
    const signed = await Promise.all(sim.result.auth.map((entry) => authorizeEntry(entry, payer, latest + 30, t.passphrase)));
    const send = async () => {
      const body = Operation.invokeHostFunction({ func: op.body().invokeHostFunctionOp().hostFunction(), auth: signed });
      const tx = await t.server.prepareTransaction((await builderFor(t, relayer.publicKey())).addOperation(body).setTimeout(60).build());
      tx.sign(relayer);
      return tx;
    };
    const first = await send();
    expect((await submitAndWait(t.server, first)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(5n * XLM + 1n);

    // Same signed entry in a new transaction: simulation already refuses it…
    await expect(send()).rejects.toThrow(/Error\(Auth, ExistingValue\)/);
    // …and forced on chain with the old footprint it fails with the trapped code.
    const account = await t.server.getAccount(relayer.publicKey());
    const replay = new TransactionBuilder(account, { fee: "1000000", networkPassphrase: t.passphrase, sorobanData: new SorobanDataBuilder(first.toEnvelope().v1().tx().ext().sorobanData()).build() })
      .addOperation(Operation.invokeHostFunction({ func: op.body().invokeHostFunctionOp().hostFunction(), auth: signed }))
      .setTimeout(60)
      .build();
    replay.sign(relayer);
    const outcome = await submitAndWait(t.server, replay);
    expect(outcome.status).toBe("FAILED");
    if (outcome.status !== "FAILED") return;
    expect(opResultCodes(outcome.resultXdr)).toEqual(["invokeHostFunctionTrapped"]);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(5n * XLM + 1n);
  });
});

/**
 * What `@x402/stellar`'s client `createPaymentPayload` does, step for step. The client itself cannot
 * be pointed at this devnet: it builds its AssembledTransaction without `allowHttp`, so it refuses
 * any http:// RPC URL ("Cannot connect to insecure Soroban RPC server").
 */
async function x402Payment(payer: string, signer: ReturnType<typeof createEd25519Signer>, req: Requirements) {
  const latest = await t.server.getLatestLedger();
  const maxLedger = latest.sequence + Math.ceil(req.maxTimeoutSeconds / 5);
  const tx = await contract.AssembledTransaction.build({
    contractId: req.asset,
    method: "transfer",
    args: [nativeToScVal(payer, { type: "address" }), nativeToScVal(req.payTo, { type: "address" }), nativeToScVal(req.amount, { type: "i128" })],
    networkPassphrase: t.passphrase,
    rpcUrl: t.devnet.rpcUrl,
    allowHttp: true,
    parseResultXdr: (result: xdr.ScVal) => result,
  });
  expect(tx.simulation && rpc.Api.isSimulationSuccess(tx.simulation)).toBe(true);
  expect(tx.needsNonInvokerSigningBy()).toEqual([payer]);
  await tx.signAuthEntries({ address: payer, signAuthEntry: signer.signAuthEntry, expiration: maxLedger });
  await tx.simulate();
  expect(tx.simulation && rpc.Api.isSimulationSuccess(tx.simulation)).toBe(true);
  expect(tx.needsNonInvokerSigningBy()).toEqual([]);
  return { x402Version: 2, accepted: req, payload: { transaction: tx.built!.toXDR() } };
}

interface Requirements {
  scheme: string;
  network: typeof NETWORK;
  asset: string;
  amount: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: { areFeesSponsored: boolean };
}

describe("x402 exact flow against the devnet", () => {
  it("a payment built as the x402 client builds it is verified and settled by the library facilitator", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 50n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const facilitatorKp = await fundedKeypair(t.devnet);
    const requirements: Requirements = {
      scheme: "exact",
      network: NETWORK,
      asset: usdcSac,
      amount: "12345678",
      payTo: payee.publicKey(),
      maxTimeoutSeconds: 60,
      extra: { areFeesSponsored: true },
    };
    const payload = await x402Payment(payer.publicKey(), createEd25519Signer(payer.secret(), NETWORK), requirements);
    // The envelope carries the simulated resource fee; the facilitator caps the whole fee at 50 000 stroops.
    const envelope = TransactionBuilder.fromXDR(payload.payload.transaction, t.passphrase);
    expect(Number(envelope.fee)).toBeLessThan(50_000);

    const facilitator = new ExactStellarFacilitator([createEd25519Signer(facilitatorKp.secret(), NETWORK)], { rpcConfig: { url: t.devnet.rpcUrl } });
    const verified = await facilitator.verify(payload, requirements);
    expect(verified).toMatchObject({ isValid: true, payer: payer.publicKey() });

    const settled = await facilitator.settle(payload, requirements);
    expect(settled).toMatchObject({ success: true, payer: payer.publicKey(), network: NETWORK });
    expect(settled.transaction).toMatch(/^[0-9a-f]{64}$/);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(12_345_678n + 1n);
    expect(await usdcBalance(t.server, payer.publicKey())).toBe(50n * XLM - 12_345_678n);

    // The same payload again: the payer's nonce is spent, so verification fails at simulation.
    const again = await facilitator.verify(payload, requirements);
    expect(again).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_simulation_failed" });
  });

  it("a payer without enough USDC cannot even build the payment: simulation fails with the SAC balance error", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 1n });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const requirements: Requirements = { scheme: "exact", network: NETWORK, asset: usdcSac, amount: "100", payTo: payee.publicKey(), maxTimeoutSeconds: 60, extra: { areFeesSponsored: true } };
    const tx = await contract.AssembledTransaction.build({
      contractId: requirements.asset,
      method: "transfer",
      args: [nativeToScVal(payer.publicKey(), { type: "address" }), nativeToScVal(requirements.payTo, { type: "address" }), nativeToScVal(requirements.amount, { type: "i128" })],
      networkPassphrase: t.passphrase,
      rpcUrl: t.devnet.rpcUrl,
      allowHttp: true,
      parseResultXdr: (result: xdr.ScVal) => result,
    });
    const sim = tx.simulation!;
    expect(rpc.Api.isSimulationError(sim) && sim.error).toMatch(/Error\(Contract, #10\)/);
  });

  it("the unmodified @x402/stellar client refuses the devnet's http:// RPC (it sets no allowHttp)", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 1n });
    const client = new ExactStellarClient(createEd25519Signer(payer.secret(), NETWORK), { url: t.devnet.rpcUrl });
    const requirements: Requirements = { scheme: "exact", network: NETWORK, asset: usdcSac, amount: "1", payTo: payer.publicKey(), maxTimeoutSeconds: 60, extra: { areFeesSponsored: true } };
    await expect(client.createPaymentPayload(2, requirements)).rejects.toThrow(/allowHttp/);
  });
});

describe("storage TTL through the RPC", () => {
  it("extendFootprintTtl prepared by the SDK raises a contract holder's USDC balance entry", async () => {
    const holder = await fundedKeypair(t.devnet, { usdc: 3n * XLM });
    const nativeSac = Address.fromString(usdcSac); // a contract address that can hold USDC
    const op = Operation.invokeContractFunction({
      contract: usdcSac,
      function: "transfer",
      args: [Address.fromString(holder.publicKey()).toScVal(), nativeSac.toScVal(), nativeToScVal(XLM, { type: "i128" })],
    });
    const tx = await t.server.prepareTransaction((await builderFor(t, holder.publicKey())).addOperation(op).setTimeout(60).build());
    tx.sign(holder);
    expect((await submitAndWait(t.server, tx)).status).toBe("SUCCESS");

    const balanceKey = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: Address.fromString(usdcSac).toScAddress(),
        key: xdr.ScVal.scvVec([xdr.ScVal.scvSymbol("Balance"), nativeSac.toScVal()]),
        durability: xdr.ContractDataDurability.persistent(),
      }),
    );
    const before = (await t.server.getLedgerEntries(balanceKey)).entries[0]!;
    expect(scValToNative(before.val.contractData().val())).toEqual({ amount: XLM, authorized: true, clawback: false });

    const extendTo = 2_500_000;
    const bump = (await builderFor(t, holder.publicKey()))
      .addOperation(Operation.extendFootprintTtl({ extendTo }))
      .setSorobanData(new SorobanDataBuilder().setReadOnly([balanceKey]).build())
      .setTimeout(60)
      .build();
    const prepared = await t.server.prepareTransaction(bump);
    prepared.sign(holder);
    const outcome = await submitAndWait(t.server, prepared);
    if (outcome.status !== "SUCCESS") throw new Error(`extend failed: ${outcome.status}`);
    const after = (await t.server.getLedgerEntries(balanceKey)).entries[0]!;
    expect(after.liveUntilLedgerSeq).toBeGreaterThan(before.liveUntilLedgerSeq!);
    expect(after.liveUntilLedgerSeq).toBe(outcome.ledger + extendTo);
  });
});
