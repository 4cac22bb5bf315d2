/**
 * Clients on @stellar/stellar-sdk 17.2.0 (the npm alias @stellar/stellar-sdk-17) against the
 * devnet. SDK 17 parses getLatestLedger's headerXdr/metadataXdr and getLedgers' entries, always
 * asks simulation for V2 auth (useUpgradedAuth: true) and signs V2 by default. Its XDR objects stay
 * in this file's SDK-17 code; only strings (base64 XDR, addresses, secrets) cross to SDK 16.
 */
import * as S17 from "@stellar/stellar-sdk-17";
import { Address, nativeToScVal, Operation, rpc, xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderFor, fundedKeypair, startTestDevnet, submitAndWait, usdcBalance, USDC } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
let t: TestDevnet;
let server17: S17.rpc.Server;
let usdcSac: string;

beforeAll(async () => {
  t = await startTestDevnet({ ledgerCloseMs: 200 });
  server17 = new S17.rpc.Server(t.devnet.rpcUrl, { allowHttp: true });
  usdcSac = USDC.contractId(t.passphrase);
});
afterAll(async () => {
  await t.close();
});

/** An SDK-17 keypair for an account funded through the SDK-16 helpers (the secret crosses as a string). */
async function funded17(opts: { usdc?: bigint } = {}): Promise<S17.Keypair> {
  return S17.Keypair.fromSecret((await fundedKeypair(t.devnet, opts)).secret());
}

function transfer17(from: string, to: string, amount: bigint): S17.xdr.Operation {
  return S17.Operation.invokeContractFunction({
    contract: usdcSac,
    function: "transfer",
    args: [S17.Address.fromString(from).toScVal(), S17.Address.fromString(to).toScVal(), S17.nativeToScVal(amount, { type: "i128" })],
  });
}

/** What a buyer's wallet on SDK 17 does with its defaults: simulate (V2 recorded), sign the entry (V2). */
async function buyerSigns(buyer: S17.Keypair, relayer: string, payee: string, amount: bigint): Promise<S17.xdr.SorobanAuthorizationEntry> {
  const draft = new S17.TransactionBuilder(await server17.getAccount(relayer), { fee: "100", networkPassphrase: t.passphrase })
    .addOperation(transfer17(buyer.publicKey(), payee, amount))
    .setTimeout(60)
    .build();
  const sim = await server17.simulateTransaction(draft);
  if (!S17.rpc.Api.isSimulationSuccess(sim) || !sim.result) throw new Error(`SDK 17 simulation failed: ${JSON.stringify(sim)}`);
  expect(sim.result.auth).toHaveLength(1);
  const recorded = sim.result.auth[0]!;
  expect(recorded.credentials.type).toBe("sorobanCredentialsAddressV2");
  const latest = await server17.getLatestLedger();
  const signed = await S17.authorizeEntry(recorded, buyer, latest.sequence + 50, t.passphrase);
  expect(signed.credentials.type).toBe("sorobanCredentialsAddressV2");
  return signed;
}

describe("SDK 17's rpc.Server reads the devnet", () => {
  it("getNetwork, getHealth, getVersionInfo, getLatestLedger (parsed header and close meta) and getLedgers", async () => {
    expect(Number((await server17.getNetwork()).protocolVersion)).toBe(28);
    expect((await server17.getHealth()).status).toBe("healthy");
    expect((await server17.getVersionInfo()).protocolVersion).toBe(28);

    const latest = await server17.getLatestLedger();
    expect(latest.headerXdr.ledgerSeq).toBe(latest.sequence);
    expect(latest.headerXdr.ledgerVersion).toBe(28);
    expect(latest.metadataXdr.type).toBeDefined();

    while ((await server17.getLatestLedger()).sequence < 3) await new Promise((r) => setTimeout(r, 50));
    const page = await server17.getLedgers({ startLedger: 1, pagination: { limit: 3 } });
    expect(page.ledgers.map((l) => l.sequence)).toEqual([1, 2, 3]);
    for (const l of page.ledgers) {
      expect(l.headerXdr.header.ledgerSeq).toBe(l.sequence);
      expect(S17.xdr.LedgerCloseMeta.is(l.metadataXdr)).toBe(true);
    }
  });
});

describe("a buyer on SDK 17 pays a SAC transfer", () => {
  it("signed with SDK 17's defaults (V2), handed over as base64 and landed by an SDK-16 relayer: the amount moves once", async () => {
    const buyer = await funded17({ usdc: 20n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const amount = 7n * XLM;
    const handedOver = (await buyerSigns(buyer, relayer.publicKey(), payee.publicKey(), amount)).toXdr("base64");

    // The relayer's side, on SDK 16: the same entry decodes as V2 and lands.
    const entry = xdr.SorobanAuthorizationEntry.fromXDR(handedOver, "base64");
    expect(entry.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsAddressV2());
    // The relayer builds the same transfer itself, as a facilitator does from the payment terms.
    const func = Operation.invokeContractFunction({
      contract: usdcSac,
      function: "transfer",
      args: [Address.fromString(buyer.publicKey()).toScVal(), Address.fromString(payee.publicKey()).toScVal(), nativeToScVal(amount, { type: "i128" })],
    })
      .body()
      .invokeHostFunctionOp()
      .hostFunction();
    const send = async (): Promise<rpc.Api.GetTransactionResponse> => {
      const body = Operation.invokeHostFunction({ func, auth: [entry] });
      const tx = await t.server.prepareTransaction((await builderFor(t, relayer.publicKey())).addOperation(body).setTimeout(60).build());
      tx.sign(relayer);
      return submitAndWait(t.server, tx);
    };
    expect((await send()).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, buyer.publicKey())).toBe(20n * XLM - amount);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n + amount);
    // Its nonce is consumed: a second submission of the same entry is refused.
    await expect(send()).rejects.toThrow(/Error\(Auth, ExistingValue\)/);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n + amount);
  });

  it("all on SDK 17: prepareTransaction, sendTransaction, then getTransaction and getEvents read the landed transfer", async () => {
    const buyer = await funded17({ usdc: 20n * XLM });
    const payee = await funded17({ usdc: 1n });
    const relayer = await funded17();
    const amount = 2n * XLM;
    const signed = await buyerSigns(buyer, relayer.publicKey(), payee.publicKey(), amount);

    const unsigned = transfer17(buyer.publicKey(), payee.publicKey(), amount);
    const hostFunction = (unsigned.body as S17.xdr.OperationBodyInvokeHostFunction).invokeHostFunctionOp.hostFunction;
    const tx = await server17.prepareTransaction(
      new S17.TransactionBuilder(await server17.getAccount(relayer.publicKey()), { fee: "100", networkPassphrase: t.passphrase })
        .addOperation(S17.Operation.invokeHostFunction({ func: hostFunction, auth: [signed] }))
        .setTimeout(60)
        .build(),
    );
    tx.sign(relayer);
    const sent = await server17.sendTransaction(tx);
    expect(sent.status).toBe("PENDING");
    const landed = await server17.pollTransaction(sent.hash, { attempts: 100, sleepStrategy: () => 50 });
    expect(landed.status).toBe(S17.rpc.Api.GetTransactionStatus.SUCCESS);
    if (landed.status !== S17.rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(landed.envelopeXdr.toXdr("base64")).toBe(tx.toEnvelope().toXdr("base64"));

    const events = await server17.getEvents({ startLedger: landed.ledger, endLedger: landed.ledger + 1, filters: [{ type: "contract", contractIds: [usdcSac] }] });
    const mine = events.events.filter((e) => e.txHash === sent.hash);
    expect(mine).toHaveLength(1);
    expect(S17.scValToNative(mine[0]!.topic[0]!)).toBe("transfer");
    expect(S17.scValToNative(mine[0]!.value)).toBe(amount);

    const ledger = await server17.getLedgers({ startLedger: landed.ledger, pagination: { limit: 1 } });
    expect(ledger.ledgers[0]!.sequence).toBe(landed.ledger);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n + amount);
  });
});
