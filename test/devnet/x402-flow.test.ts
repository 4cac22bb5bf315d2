/**
 * End to end: an @x402/stellar client pays USDC through the devnet; a relayer-style account
 * rebuilds the payment as its own source and fee-bumps it; the official facilitator's verify judges
 * the payment against the devnet.
 *
 * The @x402/stellar client and facilitator ask a hard-coded Horizon for the ledger close time on
 * every call: blockNonLoopbackNetwork() refuses it at once, and @x402/stellar falls back to its 5 s
 * estimate (maxLedger = latest + 12). Its client also refuses plain-http RPCs:
 * allowClientHttpRpc() lets it use the devnet on loopback. Both are undone after the file.
 */
import { Keypair, Operation, Transaction, TransactionBuilder, rpc, xdr } from "@stellar/stellar-sdk";
import { allowClientHttpRpc, blockNonLoopbackNetwork } from "@quay/demo";
import { ExactStellarScheme as ExactStellarClient, createEd25519Signer } from "@x402/stellar";
import { ExactStellarScheme as ExactStellarFacilitator } from "@x402/stellar/exact/facilitator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USDC, fundedKeypair, startTestDevnet, submitAndWait, txResultCode, usdcBalance, xlmBalance } from "./helpers";
import type { TestDevnet } from "./helpers";

const undo: Array<() => void> = [];
let t: TestDevnet;

beforeAll(async () => {
  const block = blockNonLoopbackNetwork();
  undo.push(() => block.restore(), allowClientHttpRpc());
  // 1 s ledgers: the client's 12-ledger auth window (60 s / 5 s estimate) spans 12 s of devnet time,
  // room enough on a loaded machine.
  t = await startTestDevnet({ ledgerCloseMs: 1000 });
});
afterAll(async () => {
  undo.forEach((restore) => restore());
  await t?.close();
});

const USDC_SAC = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";

function requirements(payTo: string, amount: string) {
  return {
    scheme: "exact",
    network: "stellar:testnet" as const,
    asset: USDC_SAC,
    amount,
    payTo,
    maxTimeoutSeconds: 60,
    extra: { areFeesSponsored: true },
  };
}

/** What a settling facilitator does: same op (auth kept), relayer as source, then a fee bump. */
async function relay(clientXdr: string, relayer: Keypair, feePayer: Keypair): Promise<rpc.Api.GetTransactionResponse> {
  const client = new Transaction(clientXdr, t.passphrase);
  const op = client.operations[0] as Operation.InvokeHostFunction;
  const sorobanData = client.toEnvelope().v1().tx().ext().sorobanData();
  const account = await t.server.getAccount(relayer.publicKey());
  const resourceFee = BigInt(sorobanData.resourceFee().toString());
  const inner = new TransactionBuilder(account, {
    fee: (BigInt(client.fee) - resourceFee).toString(),
    networkPassphrase: t.passphrase,
    sorobanData,
  })
    .setTimeout(60)
    .addOperation(Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [] }))
    .build();
  inner.sign(relayer);
  const bump = TransactionBuilder.buildFeeBumpTransaction(feePayer, "1000", inner, t.passphrase);
  bump.sign(feePayer);
  return submitAndWait(t.server, bump);
}

describe("x402 exact payment through the devnet", () => {
  it("USDC SAC id is the real testnet one", () => {
    expect(USDC.contractId(t.passphrase)).toBe(USDC_SAC);
  });

  it("client builds, signs and simulates; relayer fee-bumps it and it lands moving exactly the amount", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 100_000_000n });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const feePayer = await fundedKeypair(t.devnet);

    const client = new ExactStellarClient(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: t.devnet.rpcUrl });
    const req = requirements(payee.publicKey(), "12345678");
    const payload = await client.createPaymentPayload(2, req);
    const clientTx = new Transaction(payload.payload.transaction as string, t.passphrase);
    expect(clientTx.signatures).toHaveLength(0);
    const auth = (clientTx.operations[0] as Operation.InvokeHostFunction).auth ?? [];
    expect(auth).toHaveLength(1);
    expect(auth[0]?.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsAddress());

    const facilitator = new ExactStellarFacilitator([createEd25519Signer(relayer.secret(), "stellar:testnet")], {
      rpcConfig: { url: t.devnet.rpcUrl },
    });
    const verdict = await facilitator.verify({ x402Version: 2, accepted: req, payload: payload.payload } as never, req as never);
    expect(verdict).toMatchObject({ isValid: true, payer: payer.publicKey() });

    const res = await relay(payload.payload.transaction as string, relayer, feePayer);
    expect(res.status).toBe("SUCCESS");
    if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(txResultCode(res.resultXdr)).toBe("txFeeBumpInnerSuccess");
    expect(await usdcBalance(t.server, payer.publicKey())).toBe(100_000_000n - 12_345_678n);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n + 12_345_678n);
    // The transfer shows as the SAC's event, found by getEvents.
    const events = await t.server.getEvents({ startLedger: res.ledger, filters: [{ type: "contract", contractIds: [USDC_SAC] }] });
    expect(events.events.some((e) => e.txHash === res.txHash && e.topic[0]?.sym().toString() === "transfer")).toBe(true);
  });

  it("the official facilitator settles it too: its own source, a fee bump by a separate key, polled to SUCCESS", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 30_000_000n });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const feePayer = await fundedKeypair(t.devnet);
    const client = new ExactStellarClient(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: t.devnet.rpcUrl });
    const req = requirements(payee.publicKey(), "7000000");
    const payload = await client.createPaymentPayload(2, req);
    const facilitator = new ExactStellarFacilitator([createEd25519Signer(relayer.secret(), "stellar:testnet")], {
      rpcConfig: { url: t.devnet.rpcUrl },
      feeBumpSigner: createEd25519Signer(feePayer.secret(), "stellar:testnet"),
    });
    const feePayerBefore = await xlmBalance(t.server, feePayer.publicKey());
    const settled = await facilitator.settle({ x402Version: 2, accepted: req, payload: payload.payload } as never, req as never);
    expect(settled).toMatchObject({ success: true, payer: payer.publicKey() });
    const tx = await t.server.getTransaction(settled.transaction);
    expect(tx.status).toBe("SUCCESS");
    if (tx.status === rpc.Api.GetTransactionStatus.SUCCESS) expect(tx.feeBump).toBe(true);
    expect(await usdcBalance(t.server, payer.publicKey())).toBe(23_000_000n);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(7_000_001n);
    // The fee-bump key paid the fee; the relayer only lent its sequence number.
    expect(await xlmBalance(t.server, feePayer.publicKey())).toBeLessThan(feePayerBefore);
    expect(await xlmBalance(t.server, relayer.publicKey())).toBe(10_000n * 10_000_000n);
  });

  it("the facilitator's verify rejects a tampered payment", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 50_000_000n });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const relayer = await fundedKeypair(t.devnet);
    const client = new ExactStellarClient(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: t.devnet.rpcUrl });
    const req = requirements(payee.publicKey(), "1000000");
    const payload = await client.createPaymentPayload(2, req);
    const facilitator = new ExactStellarFacilitator([createEd25519Signer(relayer.secret(), "stellar:testnet")], {
      rpcConfig: { url: t.devnet.rpcUrl },
    });

    // Raise the amount in the invocation and in the payer's signed auth entry: the signature no longer matches.
    const env = xdr.TransactionEnvelope.fromXDR(payload.payload.transaction as string, "base64");
    const op = env.v1().tx().operations()[0]!.body().invokeHostFunctionOp();
    const bigger = xdr.ScVal.scvI128(new xdr.Int128Parts({ hi: xdr.Int64.fromString("0"), lo: xdr.Uint64.fromString("2000000") }));
    op.hostFunction().invokeContract().args()[2] = bigger;
    op.auth()[0]!.rootInvocation().function().contractFn().args()[2] = bigger;
    const tampered = env.toXDR("base64");
    const tamperedReq = requirements(payee.publicKey(), "2000000");
    const verdict = await facilitator.verify({ x402Version: 2, accepted: tamperedReq, payload: { transaction: tampered } } as never, tamperedReq as never);
    expect(verdict).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_simulation_failed" });

    // The untouched payment still verifies.
    const ok = await facilitator.verify({ x402Version: 2, accepted: req, payload: payload.payload } as never, req as never);
    expect(ok.isValid).toBe(true);
  });
});
