/**
 * X402.verify, check by check, on payloads built with the SDK. The RPC is a scripted JSON-RPC
 * server on loopback, so each simulation-dependent check can be hit on its own; the same checks
 * against a real simulation run in verify-devnet.test.ts.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Account,
  Address,
  Asset,
  Keypair,
  MuxedAccount,
  nativeToScVal,
  Networks,
  Operation,
  SorobanDataBuilder,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";
import { ALL_INVALID_REASONS, InvalidReason, X402, type VerifyOutcome } from "@quay/x402";
import {
  AMOUNT,
  LATEST_LEDGER,
  NULL_ACCOUNT,
  OTHER_TOKEN,
  USDC_TESTNET,
  contractEvent,
  diagnosticEvent,
  invocation,
  metricValue,
  newParties,
  paymentTx,
  requirements,
  signedEntry,
  simulationSuccess,
  sourceAccountEntry,
  startScriptedRpc,
  testMetrics,
  testNetwork,
  transferArgs,
  transferEvent,
  unsignedEntry,
  verifierContext,
  verifyBody,
  type Parties,
  type ScriptedRpc,
} from "./fixtures";

let rpc: ScriptedRpc;
let parties: Parties;

beforeAll(async () => {
  rpc = await startScriptedRpc();
});
afterAll(async () => {
  await rpc.close();
});

/** A fresh network (empty caches) and metrics per test. */
function setup(options: Parameters<typeof verifierContext>[2] = {}) {
  const metrics = testMetrics();
  const network = testNetwork(rpc.url, metrics);
  const context = verifierContext(network, metrics, { quayAddresses: parties.quayAddresses, ...options });
  return { metrics, network, context, verify: (body: unknown) => X402.verify(context, body) };
}

function expectInvalid(outcome: VerifyOutcome, reason: string, payer?: string) {
  if (outcome.isValid) throw new Error(`expected ${reason}, got a valid payment`);
  expect(outcome.invalidReason).toBe(reason);
  expect(outcome.payer).toBe(payer);
  expect(outcome.retryable).toBe(false);
  expect(outcome.invalidMessage.length).toBeGreaterThan(0);
}

/** The simulation the payment would get on a real network: fn_call diagnostics and one SAC transfer event. */
function honestSimulation() {
  return simulationSuccess([diagnosticEvent(), transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT), diagnosticEvent()]);
}

beforeEach(() => {
  parties = newParties();
  rpc.calls.length = 0;
  rpc.latestLedger = LATEST_LEDGER;
  rpc.closeSecondsPerLedger = 5;
  rpc.override.clear();
  rpc.simulate = () => honestSimulation();
});

describe("a valid payment", () => {
  it("is valid, with the payer, nonce, expiration, exact amount and simulation, after one simulation", async () => {
    const { verify, metrics } = setup();
    const tx = await paymentTx(parties, { expiration: LATEST_LEDGER + 12 });
    const outcome = await verify(verifyBody(tx, requirements(parties)));
    if (!outcome.isValid) throw new Error(`${outcome.invalidReason}: ${outcome.invalidMessage}`);
    expect(outcome.payer).toBe(parties.payer.publicKey());
    expect(outcome.payment).toMatchObject({
      network: "stellar:testnet",
      payer: parties.payer.publicKey(),
      nonce: "42",
      signatureExpirationLedger: LATEST_LEDGER + 12,
      asset: USDC_TESTNET,
      payTo: parties.payTo,
      amount: AMOUNT,
    });
    expect(outcome.payment.transaction.hash().equals(tx.hash())).toBe(true);
    expect(outcome.payment.authEntries).toHaveLength(1);
    expect(outcome.payment.simulation.minResourceFee).toBe("50");
    expect(rpc.calls.filter((m) => m === "simulateTransaction")).toHaveLength(1);
    expect(await metricValue(metrics, "quay_verify_total", { network: "stellar:testnet", outcome: "valid" })).toBe(1);
    // The wire body is plain JSON.
    expect(JSON.parse(JSON.stringify(X402.toVerifyResponse(outcome)))).toEqual({ isValid: true, payer: parties.payer.publicKey() });
  });

  it("keeps the nonce's full int64 range as a string", async () => {
    const { verify } = setup();
    const args = transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT);
    const nonce = -9_223_372_036_854_775_807n;
    const auth = [await signedEntry(parties.payer, invocation(USDC_TESTNET, "transfer", args), LATEST_LEDGER + 10, Networks.TESTNET, nonce)];
    const outcome = await verify(verifyBody(await paymentTx(parties, { auth }), requirements(parties)));
    expect(outcome.isValid && outcome.payment.nonce).toBe(nonce.toString());
  });

  it("shares the cached latest ledger and close time between verifications", async () => {
    const { verify } = setup();
    const body = verifyBody(await paymentTx(parties), requirements(parties));
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => verify(body)));
    expect(outcomes.every((o) => o.isValid)).toBe(true);
    expect(rpc.calls.filter((m) => m === "simulateTransaction")).toHaveLength(6);
    expect(rpc.calls.filter((m) => m === "getLatestLedger")).toHaveLength(1);
    expect(rpc.calls.filter((m) => m === "getLedgers")).toHaveLength(1);
  });
});

describe("the request body", () => {
  it.each([
    ["not an object", "nope", InvalidReason.invalidPayload],
    ["without paymentPayload", { paymentRequirements: {} }, InvalidReason.invalidPayload],
    ["with an array as paymentPayload", { paymentPayload: [], paymentRequirements: {} }, InvalidReason.invalidPayload],
  ])("%s is %s", async (_name, body, reason) => {
    const { verify } = setup();
    expectInvalid(await verify(body), reason);
    expect(rpc.calls).toEqual([]);
  });

  it("a version other than 2 is invalid_x402_version, before any schema check", async () => {
    const { verify } = setup();
    expectInvalid(await verify(verifyBody("x", requirements(parties), { x402Version: 1 })), InvalidReason.invalidX402Version);
    expectInvalid(await verify({ paymentPayload: { x402Version: "2" }, paymentRequirements: {} }), InvalidReason.invalidX402Version);
  });

  it("a v2 payload without `accepted` is invalid_payload", async () => {
    const { verify } = setup();
    const body = verifyBody(await paymentTx(parties), requirements(parties));
    const { accepted: _dropped, ...payload } = body.paymentPayload;
    expectInvalid(await verify({ ...body, paymentPayload: payload }), InvalidReason.invalidPayload);
  });

  it.each([
    ["a decimal amount", { amount: "1.5" }],
    ["a zero amount", { amount: "0" }],
    ["a negative amount", { amount: "-10000" }],
    ["an amount beyond i128", { amount: (1n << 127n).toString() }],
    ["no maxTimeoutSeconds", { maxTimeoutSeconds: undefined }],
    ["an empty payTo", { payTo: "" }],
  ])("requirements with %s are invalid_payment_requirements", async (_name, override) => {
    const { verify } = setup();
    const reqs = { ...requirements(parties), ...override } as ReturnType<typeof requirements>;
    const body = verifyBody(await paymentTx(parties), requirements(parties));
    expectInvalid(await verify({ ...body, paymentRequirements: reqs }), InvalidReason.invalidPaymentRequirements);
  });
});

describe("protocol and configuration", () => {
  it("a scheme other than exact, in either place, is unsupported_scheme", async () => {
    const { verify } = setup();
    const tx = await paymentTx(parties);
    expectInvalid(await verify(verifyBody(tx, requirements(parties, { scheme: "upto" }))), InvalidReason.unsupportedScheme);
    expectInvalid(await verify(verifyBody(tx, requirements(parties), { accepted: { scheme: "upto" } })), InvalidReason.unsupportedScheme);
  });

  it("accepted.network differing from the requirements is network_mismatch", async () => {
    const { verify } = setup();
    const body = verifyBody(await paymentTx(parties), requirements(parties), { accepted: { network: "stellar:pubnet" } });
    expectInvalid(await verify(body), InvalidReason.networkMismatch);
  });

  it("a non-Stellar network is invalid_network, counted under network=unknown", async () => {
    const { verify, metrics } = setup();
    const body = verifyBody(await paymentTx(parties), requirements(parties, { network: "eip155:8453" }));
    expectInvalid(await verify(body), InvalidReason.invalidNetwork);
    expect(await metricValue(metrics, "quay_verify_total", { network: "unknown", outcome: InvalidReason.invalidNetwork })).toBe(1);
  });

  it("a Stellar network Quay does not serve is unsupported_network", async () => {
    const { verify } = setup();
    const body = verifyBody(await paymentTx(parties), requirements(parties, { network: "stellar:pubnet" }));
    expectInvalid(await verify(body), InvalidReason.unsupportedNetwork);
  });

  it("a muxed (M…) payTo is refused up front as unsupported_pay_to, before any RPC call", async () => {
    const { verify } = setup();
    const muxed = new MuxedAccount(new Account(parties.payTo, "0"), "42").accountId();
    expect(muxed).toMatch(/^M/);
    expectInvalid(await verify(verifyBody(await paymentTx(parties), requirements(parties, { payTo: muxed }))), InvalidReason.unsupportedPayTo);
    expect(rpc.calls).toEqual([]);
  });

  it("an asset outside the network's allow-list is unsupported_asset, even for a well-formed transfer of it", async () => {
    const { verify, metrics } = setup();
    const body = verifyBody(await paymentTx(parties, { asset: OTHER_TOKEN }), requirements(parties, { asset: OTHER_TOKEN }));
    expectInvalid(await verify(body), InvalidReason.unsupportedAsset);
    expect(rpc.calls).toEqual([]);
    expect(await metricValue(metrics, "quay_verify_total", { network: "stellar:testnet", outcome: InvalidReason.unsupportedAsset })).toBe(1);
    // The same transfer is fine once the asset is allowed.
    rpc.simulate = () => simulationSuccess([transferEvent(OTHER_TOKEN, parties.payer.publicKey(), parties.payTo, AMOUNT)]);
    expect((await setup({ assets: [USDC_TESTNET, OTHER_TOKEN] }).verify(body)).isValid).toBe(true);
  });
});

describe("the transaction, statically (no RPC call)", () => {
  afterEach(() => {
    expect(rpc.calls.filter((m) => m === "simulateTransaction")).toEqual([]);
  });

  it.each([
    ["a number", 42],
    ["missing", undefined],
    ["an empty string", ""],
    ["not XDR", "AAAA-not-base64-xdr"],
    ["longer than any transaction", "A".repeat(200_000)],
  ])("payload.transaction %s is malformed", async (_name, transaction) => {
    const { verify } = setup();
    const body = verifyBody("", requirements(parties), { payload: transaction === undefined ? {} : { transaction } });
    expectInvalid(await verify(body), InvalidReason.malformed);
  });

  it("a fee-bump envelope is malformed", async () => {
    const { verify } = setup();
    const inner = await paymentTx(parties, { txSource: parties.payer.publicKey(), signEnvelopeWith: parties.payer });
    const bump = TransactionBuilder.buildFeeBumpTransaction(parties.payer, "200000", inner, Networks.TESTNET);
    expectInvalid(await verify(verifyBody(bump.toXDR(), requirements(parties))), InvalidReason.malformed);
  });

  it("two operations, or an operation other than invokeHostFunction, is wrong_operation", async () => {
    const { verify } = setup();
    expectInvalid(await verify(verifyBody(await paymentTx(parties, { extraOperation: true }), requirements(parties))), InvalidReason.wrongOperation);
    const payment = new TransactionBuilder(new Account(NULL_ACCOUNT, "0"), { fee: "100", networkPassphrase: Networks.TESTNET })
      .setTimeout(300)
      .addOperation(Operation.bumpSequence({ bumpTo: "5" }))
      .build();
    expectInvalid(await verify(verifyBody(payment, requirements(parties))), InvalidReason.wrongOperation);
  });

  it("a host function other than a contract call is wrong_operation", async () => {
    const { verify } = setup();
    const upload = new TransactionBuilder(new Account(NULL_ACCOUNT, "0"), { fee: "100", networkPassphrase: Networks.TESTNET })
      .setTimeout(300)
      .setSorobanData(new SorobanDataBuilder().build())
      .addOperation(Operation.uploadContractWasm({ wasm: Buffer.from([0, 97, 115, 109]) }))
      .build();
    expectInvalid(await verify(verifyBody(upload, requirements(parties))), InvalidReason.wrongOperation);
  });

  it("a Quay account as transaction source, operation source, or muxed alias of either is unsafe_tx_or_op_source", async () => {
    const { verify } = setup();
    const reqs = requirements(parties);
    const fund = parties.fund.publicKey();
    const muxedChannel = new MuxedAccount(new Account(parties.channel.publicKey(), "0"), "7").accountId();
    for (const options of [{ txSource: fund }, { opSource: parties.channel.publicKey() }, { opSource: muxedChannel }]) {
      expectInvalid(await verify(verifyBody(await paymentTx(parties, options), reqs)), InvalidReason.unsafeTxOrOpSource);
    }
  });

  it("the payer as operation source is fine as far as the source check goes", async () => {
    const { verify } = setup();
    const outcome = await verify(verifyBody(await paymentTx(parties, { opSource: parties.payer.publicKey() }), requirements(parties)));
    expect(outcome.isValid).toBe(true);
    rpc.calls.length = 0; // this one did simulate, as it should
  });

  it("a call to a contract other than the asset is wrong_asset", async () => {
    const { verify } = setup();
    expectInvalid(await verify(verifyBody(await paymentTx(parties, { asset: OTHER_TOKEN }), requirements(parties))), InvalidReason.wrongAsset);
  });

  it.each([
    ["another function", { functionName: "approve" }],
    ["two arguments", { args: transferArgs(Keypair.random().publicKey(), Keypair.random().publicKey(), AMOUNT).slice(0, 2) }],
    ["four arguments", { args: [...transferArgs(Keypair.random().publicKey(), Keypair.random().publicKey(), AMOUNT), xdr.ScVal.scvVoid()] }],
  ])("%s is wrong_function_name", async (_name, options) => {
    const { verify } = setup();
    expectInvalid(await verify(verifyBody(await paymentTx(parties, options), requirements(parties))), InvalidReason.wrongFunctionName);
  });

  it("arguments that are not (address, address, i128) are wrong_function_name", async () => {
    const { verify } = setup();
    const [from, to] = transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT) as [xdr.ScVal, xdr.ScVal];
    for (const args of [
      [from, to, nativeToScVal(AMOUNT, { type: "u64" })],
      [nativeToScVal(parties.payer.publicKey(), { type: "string" }), to, nativeToScVal(AMOUNT, { type: "i128" })],
    ]) {
      expectInvalid(await verify(verifyBody(await paymentTx(parties, { args }), requirements(parties))), InvalidReason.wrongFunctionName);
    }
  });

  it("a Quay account as `from` is facilitator_is_payer, with no payer in the answer", async () => {
    const { verify } = setup();
    const tx = await paymentTx(parties, { from: parties.channel.publicKey() });
    expectInvalid(await verify(verifyBody(tx, requirements(parties))), InvalidReason.facilitatorIsPayer);
  });

  it("a recipient other than payTo is wrong_recipient, muxed alias included", async () => {
    const { verify } = setup();
    const payer = parties.payer.publicKey();
    expectInvalid(await verify(verifyBody(await paymentTx(parties, { to: Keypair.random().publicKey() }), requirements(parties))), InvalidReason.wrongRecipient, payer);
    const muxedPayTo = new MuxedAccount(new Account(parties.payTo, "0"), "1").accountId();
    expectInvalid(await verify(verifyBody(await paymentTx(parties, { to: muxedPayTo }), requirements(parties))), InvalidReason.wrongRecipient, payer);
  });

  it("an amount off by one base unit is wrong_amount, in either direction", async () => {
    const { verify } = setup();
    for (const amount of [AMOUNT - 1n, AMOUNT + 1n]) {
      expectInvalid(await verify(verifyBody(await paymentTx(parties, { amount }), requirements(parties))), InvalidReason.wrongAmount, parties.payer.publicKey());
    }
  });

  it("compares amounts exactly beyond 2^53", async () => {
    const { verify } = setup();
    // Equal as doubles, different as integers.
    const required = 2n ** 60n + 1n;
    const tx = await paymentTx(parties, { amount: 2n ** 60n });
    expect(Number(required)).toBe(Number(2n ** 60n));
    expectInvalid(await verify(verifyBody(tx, requirements(parties, { amount: required.toString() }))), InvalidReason.wrongAmount, parties.payer.publicKey());
  });

  it("the payer's auth entry signed for other terms than the call is auth_invocation_mismatch, before any simulation", async () => {
    const { verify } = setup();
    const payer = parties.payer.publicKey();
    // The simulation is scripted as if the network let it through: the refusal must not rest on it.
    for (const signedTerms of [transferArgs(payer, parties.payTo, AMOUNT - 1n), transferArgs(payer, Keypair.random().publicKey(), AMOUNT)]) {
      const auth = [await signedEntry(parties.payer, invocation(USDC_TESTNET, "transfer", signedTerms), LATEST_LEDGER + 10)];
      expectInvalid(await verify(verifyBody(await paymentTx(parties, { auth }), requirements(parties))), InvalidReason.authInvocationMismatch, payer);
    }
  });

  it("a signed envelope is has_envelope_signatures", async () => {
    const { verify } = setup();
    const tx = await paymentTx(parties, { signEnvelopeWith: Keypair.random() });
    expectInvalid(await verify(verifyBody(tx, requirements(parties))), InvalidReason.hasEnvelopeSignatures, parties.payer.publicKey());
  });

  it("an auth entry expired or expiring within 2 ledgers is auth_already_expired", async () => {
    const { verify } = setup();
    for (const expiration of [LATEST_LEDGER - 5, LATEST_LEDGER, LATEST_LEDGER + 2]) {
      const tx = await paymentTx(parties, { expiration });
      expectInvalid(await verify(verifyBody(tx, requirements(parties))), InvalidReason.authAlreadyExpired, parties.payer.publicKey());
    }
    expect(rpc.calls).toEqual(["getLatestLedger"]);
  });
});

describe("simulation and fee", () => {
  it("a failed simulation is simulation_failed, quoting only the error's first line", async () => {
    const { verify } = setup();
    rpc.simulate = () => ({ error: "HostError: Error(Contract, #10)\n\nEvent log (newest first):\n   0: [Diagnostic Event] data:[\"sig\", Bytes(deadbeef)]" });
    const outcome = await verify(verifyBody(await paymentTx(parties), requirements(parties)));
    expectInvalid(outcome, InvalidReason.simulationFailed, parties.payer.publicKey());
    expect(!outcome.isValid && outcome.invalidMessage).toBe("simulation failed: HostError: Error(Contract, #10)");
  });

  it("a simulation that needs a restore first is simulation_failed", async () => {
    const { verify } = setup();
    rpc.simulate = () => ({
      ...honestSimulation(),
      restorePreamble: { minResourceFee: "1000", transactionData: new SorobanDataBuilder().build().toXDR("base64") },
    });
    expectInvalid(await verify(verifyBody(await paymentTx(parties), requirements(parties))), InvalidReason.simulationFailed, parties.payer.publicKey());
  });

  it("a client fee below the simulated minimum is accepted: Quay rebuilds the transaction and pays its own fee (as upstream x402 judges fees now)", async () => {
    const { verify } = setup();
    rpc.simulate = () => ({ ...honestSimulation(), minResourceFee: "60001" });
    // The builder adds the 50 000 resource fee of the sorobanData to the 100 given: 50 100 in all.
    expect((await verify(verifyBody(await paymentTx(parties), requirements(parties)))).isValid).toBe(true);
  });

  it("a payment Quay cannot settle within its maximum is fee_exceeds_maximum, naming the figures", async () => {
    rpc.simulate = () => ({ ...honestSimulation(), minResourceFee: "60001" });
    // The simulated 60 001 (stellar-rpc pads it already) and the minimum bid on the fee bump's two operations, 200: 60 201.
    const outcome = await setup({ maxFeeStroops: 60_200n }).verify(verifyBody(await paymentTx(parties), requirements(parties)));
    expectInvalid(outcome, InvalidReason.feeExceedsMaximum);
    expect(!outcome.isValid && outcome.invalidMessage).toMatch(/costs at least 60201 stroops .* at most 60200/);
    expect((await setup({ maxFeeStroops: 60_201n }).verify(verifyBody(await paymentTx(parties), requirements(parties)))).isValid).toBe(true);
  });
});

describe("what the payment writes: the transfer's balances and the payer's own storage", () => {
  const withWrites = (keys: xdr.LedgerKey[]) => {
    const base = honestSimulation();
    const data = new SorobanDataBuilder(base.transactionData as string).setReadWrite(keys).build().toXDR("base64");
    return { ...base, transactionData: data };
  };
  const trustline = (account: string) =>
    xdr.LedgerKey.trustline(
      new xdr.LedgerKeyTrustLine({ accountId: Keypair.fromPublicKey(account).xdrPublicKey(), asset: new Asset("USDC", "GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5").toTrustLineXDRObject() }),
    );
  const contractData = (contract: string) =>
    xdr.LedgerKey.contractData(new xdr.LedgerKeyContractData({ contract: new Address(contract).toScAddress(), key: xdr.ScVal.scvSymbol("k"), durability: xdr.ContractDataDurability.persistent() }));

  it("lets through the balances of payer and payTo, the token's own data and the payer's own storage", async () => {
    const { verify } = setup();
    rpc.simulate = () => withWrites([trustline(parties.payer.publicKey()), trustline(parties.payTo), contractData(USDC_TESTNET), contractData(parties.payer.publicKey())]);
    expect((await verify(verifyBody(await paymentTx(parties), requirements(parties)))).isValid).toBe(true);
  });

  it("refuses any other write as unexpected_writes, naming it", async () => {
    const { verify } = setup();
    for (const key of [contractData(OTHER_TOKEN), trustline(Keypair.random().publicKey())]) {
      rpc.simulate = () => withWrites([trustline(parties.payer.publicKey()), key]);
      const outcome = await verify(verifyBody(await paymentTx(parties), requirements(parties)));
      expectInvalid(outcome, InvalidReason.unexpectedWrites, parties.payer.publicKey());
      expect(!outcome.isValid && outcome.invalidMessage).toMatch(/beyond the transfer's balances/);
    }
  });
});

describe("simulation events: the one transfer, and nothing else", () => {
  const cases: Array<[string, () => xdr.DiagnosticEvent[], string]> = [
    ["no contract event", () => [diagnosticEvent()], InvalidReason.noTransferEvents],
    [
      "another event beside the transfer",
      () => [
        transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT),
        contractEvent(USDC_TESTNET, [nativeToScVal("approve", { type: "symbol" }), new Address(parties.payer.publicKey()).toScVal(), new Address(parties.payTo).toScVal()], xdr.ScVal.scvVoid()),
      ],
      InvalidReason.eventNotTransfer,
    ],
    [
      "a transfer event with fewer than 3 topics",
      () => [contractEvent(USDC_TESTNET, [nativeToScVal("transfer", { type: "symbol" }), new Address(parties.payer.publicKey()).toScVal()], nativeToScVal(AMOUNT, { type: "i128" }))],
      InvalidReason.eventNotTransfer,
    ],
    [
      "a transfer event from a call that failed",
      () => [transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT, { inSuccessfulContractCall: false })],
      InvalidReason.eventNotTransfer,
    ],
    [
      "a transfer event without a contract id",
      () => [
        contractEvent(USDC_TESTNET, transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT).event().body().v0().topics(), nativeToScVal(AMOUNT, { type: "i128" }), {
          withoutContractId: true,
        }),
      ],
      InvalidReason.eventMissingContractId,
    ],
    ["a transfer in another token", () => [transferEvent(OTHER_TOKEN, parties.payer.publicKey(), parties.payTo, AMOUNT)], InvalidReason.eventWrongAsset],
    [
      "two transfers",
      () => [transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT), transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT)],
      InvalidReason.multipleTransfers,
    ],
    ["a transfer from someone else", () => [transferEvent(USDC_TESTNET, Keypair.random().publicKey(), parties.payTo, AMOUNT)], InvalidReason.eventWrongFrom],
    ["a transfer to someone else", () => [transferEvent(USDC_TESTNET, parties.payer.publicKey(), Keypair.random().publicKey(), AMOUNT)], InvalidReason.eventWrongTo],
    ["a transfer of another amount", () => [transferEvent(USDC_TESTNET, parties.payer.publicKey(), parties.payTo, AMOUNT + 1n)], InvalidReason.eventWrongAmount],
  ];

  it("a transfer event to someone other than the requirements' payTo is event_wrong_to, though the call pays payTo", async () => {
    const { verify } = setup();
    const elsewhere = Keypair.random().publicKey();
    // A token whose transfer(payer, payTo, amount) credits someone else: only the event tells.
    rpc.simulate = () => simulationSuccess([transferEvent(USDC_TESTNET, parties.payer.publicKey(), elsewhere, AMOUNT)]);
    const outcome = await verify(verifyBody(await paymentTx(parties, { to: parties.payTo }), requirements(parties)));
    expectInvalid(outcome, InvalidReason.eventWrongTo, parties.payer.publicKey());
  });

  it.each(cases)("%s is rejected", async (_name, events, reason) => {
    const { verify } = setup();
    rpc.simulate = () => simulationSuccess(events());
    expectInvalid(await verify(verifyBody(await paymentTx(parties), requirements(parties))), reason, parties.payer.publicKey());
  });
});

describe("auth entries", () => {
  const args = () => transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT);
  const root = () => invocation(USDC_TESTNET, "transfer", args());
  const payerEntry = (expiration = LATEST_LEDGER + 10, nonce = 42n) => signedEntry(parties.payer, root(), expiration, Networks.TESTNET, nonce);

  async function verifyWithAuth(auth: xdr.SorobanAuthorizationEntry[]) {
    return setup().verify(verifyBody(await paymentTx(parties, { auth }), requirements(parties)));
  }

  it("none is no_auth_entries", async () => {
    expectInvalid(await verifyWithAuth([]), InvalidReason.noAuthEntries, parties.payer.publicKey());
  });

  it("a source-account credential is unsupported_credential_type", async () => {
    expectInvalid(await verifyWithAuth([await payerEntry(), sourceAccountEntry(root())]), InvalidReason.unsupportedCredentialType, parties.payer.publicKey());
  });

  it("an entry for a Quay account is facilitator_in_auth", async () => {
    const quayEntry = await signedEntry(parties.fund, root(), LATEST_LEDGER + 10);
    expectInvalid(await verifyWithAuth([await payerEntry(), quayEntry]), InvalidReason.facilitatorInAuth, parties.payer.publicKey());
  });

  it("an expiration beyond latest + ceil(maxTimeout / ledger seconds) + 2 is signature_expiration_too_far", async () => {
    // 60 s at 5 s a ledger: 12 ledgers, plus the tolerance of 2.
    expect((await verifyWithAuth([await payerEntry(LATEST_LEDGER + 14)])).isValid).toBe(true);
    expectInvalid(await verifyWithAuth([await payerEntry(LATEST_LEDGER + 15)]), InvalidReason.signatureExpirationTooFar, parties.payer.publicKey());
  });

  it("the bound follows the ledger close time measured on the RPC", async () => {
    rpc.closeSecondsPerLedger = 2; // 60 s is 30 ledgers
    expect((await verifyWithAuth([await payerEntry(LATEST_LEDGER + 32)])).isValid).toBe(true);
    expectInvalid(await verifyWithAuth([await payerEntry(LATEST_LEDGER + 33)]), InvalidReason.signatureExpirationTooFar, parties.payer.publicKey());
  });

  it("on a network slower than 5 s a ledger, the bound still admits what a client assuming 5 s signs", async () => {
    rpc.closeSecondsPerLedger = 6; // measured: 10 ledgers in 60 s; a 5 s client signs for 12
    expect((await verifyWithAuth([await payerEntry(LATEST_LEDGER + 14)])).isValid).toBe(true);
    expectInvalid(await verifyWithAuth([await payerEntry(LATEST_LEDGER + 15)]), InvalidReason.signatureExpirationTooFar, parties.payer.publicKey());
  });

  it("sub-invocations are has_subinvocations", async () => {
    const nested = invocation(USDC_TESTNET, "transfer", args(), [invocation(OTHER_TOKEN, "transfer", args())]);
    const entry = await signedEntry(parties.payer, nested, LATEST_LEDGER + 10);
    expectInvalid(await verifyWithAuth([entry]), InvalidReason.hasSubinvocations, parties.payer.publicKey());
  });

  it("the payer's entry unsigned is missing_payer_signature", async () => {
    expectInvalid(await verifyWithAuth([unsignedEntry(parties.payer.publicKey(), root(), LATEST_LEDGER + 10)]), InvalidReason.missingPayerSignature, parties.payer.publicKey());
  });

  it("another address's entry left unsigned is unexpected_pending_signatures", async () => {
    const other = unsignedEntry(Keypair.random().publicKey(), root(), LATEST_LEDGER + 10);
    expectInvalid(await verifyWithAuth([await payerEntry(), other]), InvalidReason.unexpectedPendingSignatures, parties.payer.publicKey());
  });

  it("any entry beyond the payer's one is unexpected_auth_entries", async () => {
    const stranger = Keypair.random();
    const signedByStranger = await signedEntry(stranger, invocation(USDC_TESTNET, "transfer", transferArgs(stranger.publicKey(), parties.payTo, 1n)), LATEST_LEDGER + 10);
    expectInvalid(await verifyWithAuth([await payerEntry(), signedByStranger]), InvalidReason.unexpectedAuthEntries, parties.payer.publicKey());
    expectInvalid(await verifyWithAuth([await payerEntry(), await payerEntry(LATEST_LEDGER + 10, 43n)]), InvalidReason.unexpectedAuthEntries, parties.payer.publicKey());
  });
});

describe("errors inside verify", () => {
  it("an RPC outage is unexpected_verify_error, retryable, with the payer", async () => {
    const { verify, metrics } = setup();
    rpc.override.set("simulateTransaction", { httpStatus: 503 });
    const outcome = await verify(verifyBody(await paymentTx(parties), requirements(parties)));
    if (outcome.isValid) throw new Error("expected invalid");
    expect(outcome).toMatchObject({ invalidReason: InvalidReason.unexpectedVerifyError, retryable: true, payer: parties.payer.publicKey() });
    expect(outcome.error?.name).toBe("RpcUnavailableError");
    expect(X402.toVerifyResponse(outcome)).toEqual({
      isValid: false,
      invalidReason: InvalidReason.unexpectedVerifyError,
      invalidMessage: "the Stellar RPC is unavailable; try again",
      payer: parties.payer.publicKey(),
    });
    expect(await metricValue(metrics, "quay_verify_total", { network: "stellar:testnet", outcome: InvalidReason.unexpectedVerifyError })).toBe(1);
  });

  it("the RPC answering with an error is unexpected_verify_error, not retryable", async () => {
    const { verify } = setup();
    rpc.override.set("simulateTransaction", { error: { code: -32602, message: "invalid parameters" } });
    const outcome = await verify(verifyBody(await paymentTx(parties), requirements(parties)));
    expect(outcome).toMatchObject({ isValid: false, invalidReason: InvalidReason.unexpectedVerifyError, retryable: false });
    expect(!outcome.isValid && outcome.error?.name).toBe("RpcResponseError");
  });

  it("getLatestLedger failing is retryable too; the close-time estimate failing is not an error", async () => {
    rpc.override.set("getLatestLedger", { httpStatus: 502 });
    expect(await setup().verify(verifyBody(await paymentTx(parties), requirements(parties)))).toMatchObject({ isValid: false, retryable: true });
    rpc.override.clear();
    rpc.override.set("getLedgers", { error: { code: -32600, message: "start ledger out of range" } });
    // Falls back to 5 s a ledger: the 12-ledger bound still holds.
    expect((await setup().verify(verifyBody(await paymentTx(parties, { expiration: LATEST_LEDGER + 14 }), requirements(parties)))).isValid).toBe(true);
  });
});

describe("reason strings", () => {
  it("include every verify reason @x402/stellar's facilitator can return, verbatim", () => {
    const facilitator = createRequire(import.meta.url).resolve("@x402/stellar/exact/facilitator");
    const source = readFileSync(facilitator, "utf8");
    const verifySource = source.slice(source.indexOf("async verify("), source.indexOf("async settle("));
    const helpers = source.slice(source.lastIndexOf("validateSimulationEvents("));
    const libraryReasons = new Set([...`${verifySource}${helpers}`.matchAll(/"((?:invalid|unsupported|network|unexpected)_[a-z0-9_]+)"/g)].map((m) => m[1]!));
    expect(libraryReasons.size).toBeGreaterThan(25);
    for (const reason of libraryReasons) expect(ALL_INVALID_REASONS, reason).toContain(reason);
  });
});
