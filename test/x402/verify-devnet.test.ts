/**
 * X402.verify against the devnet: a real @x402/stellar client payload (built and signed by the
 * library's own client against the devnet's RPC) is valid, and every tampering in the corpus gets
 * its reason. The devnet simulates the SAC transfer for real: signatures, nonces, expiry, balances.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Address, xdr } from "@stellar/stellar-sdk";
import { X402, type VerifyOutcome } from "@quay/x402";
import { clearFaults, setFaults, startTestDevnet, type TestDevnet } from "../devnet/helpers";
import { CORPUS, createWorld, type CorpusInput, type World } from "./corpus";
import { AMOUNT, USDC_TESTNET, allowClientHttpRpc, blockNonLoopbackNetwork, metricValue, testMetrics, testNetwork, verifierContext } from "./fixtures";

let t: TestDevnet;
let world: World;
const undo: Array<() => void> = [];

beforeAll(async () => {
  const block = blockNonLoopbackNetwork();
  undo.push(block.restore, allowClientHttpRpc());
  // 1 s ledgers: the client assumes 5 s (Horizon unreachable), so its auth lives 12 ledgers: time enough.
  t = await startTestDevnet({ ledgerCloseMs: 1_000 });
  world = await createWorld(t);
});
afterAll(async () => {
  await t?.close();
  undo.forEach((u) => u());
});

function quayVerify(input: CorpusInput) {
  const metrics = testMetrics();
  const network = testNetwork(t.devnet.rpcUrl, metrics);
  const quayAddresses = new Set([...world.parties.quayAddresses, ...(input.extraQuayAddresses ?? [])]);
  const context = verifierContext(network, metrics, { quayAddresses, ...(input.maxFeeStroops !== undefined ? { maxFeeStroops: input.maxFeeStroops } : {}) });
  return { metrics, outcome: X402.verify(context, input.body) };
}

const answerOf = (outcome: VerifyOutcome) => (outcome.isValid ? "valid" : outcome.invalidReason);

describe("a real client payload", () => {
  it("is valid, with the nonce and expiration of the payer's signed entry, after one simulation", async () => {
    const { metrics, outcome: pending } = quayVerify({ body: CORPUS[0] && (await CORPUS[0].build(world)).body });
    const outcome = await pending;
    if (!outcome.isValid) throw new Error(`${outcome.invalidReason}: ${outcome.invalidMessage}`);
    const entry = xdr.TransactionEnvelope.fromXDR(world.envelope, "base64").v1().tx().operations()[0]!.body().invokeHostFunctionOp().auth()[0]!;
    const credentials = entry.credentials().address();
    expect(outcome.payment).toMatchObject({
      payer: world.parties.payer.publicKey(),
      nonce: credentials.nonce().toString(),
      signatureExpirationLedger: credentials.signatureExpirationLedger(),
      asset: USDC_TESTNET,
      payTo: world.parties.payTo,
      amount: AMOUNT,
    });
    expect(Address.fromScAddress(credentials.address()).toString()).toBe(world.parties.payer.publicKey());
    expect(await metricValue(metrics, "quay_rpc_call_duration_seconds", { method: "simulateTransaction", outcome: "ok" })).toBe(1);
  });
});

describe("the envelope sent to simulation", () => {
  async function simulatedEnvelope(transaction: string): Promise<{ answer: string; sent: unknown }> {
    const { body } = await CORPUS[0]!.build(world);
    const payload = structuredClone(body) as typeof body & { paymentPayload: { payload: { transaction: string } } };
    payload.paymentPayload.payload.transaction = transaction;
    const metrics = testMetrics();
    const network = testNetwork(t.devnet.rpcUrl, metrics);
    const request = vi.spyOn(network, "request");
    const outcome = await X402.verify(verifierContext(network, metrics, { quayAddresses: new Set(world.parties.quayAddresses) }), payload);
    const simulate = request.mock.calls.find(([method]) => method === "simulateTransaction");
    return { answer: answerOf(outcome), sent: (simulate?.[1] as { transaction?: unknown } | undefined)?.transaction };
  }

  it("is the client's base64 as received, when it is canonical", async () => {
    const { answer, sent } = await simulatedEnvelope(world.envelope);
    expect(answer).toBe("valid");
    expect(sent).toBe(world.envelope);
  });

  it("is encoded again when the client's base64 is not canonical (line breaks), so every RPC reads it alike", async () => {
    const wrapped = world.envelope.replace(/.{76}/g, "$&\n");
    expect(wrapped).toContain("\n");
    const { answer, sent } = await simulatedEnvelope(wrapped);
    expect(answer).toBe("valid");
    expect(sent).toBe(world.envelope);
  });
});

describe("the corpus", () => {
  for (const testCase of CORPUS) {
    it(`${testCase.name}: ${testCase.quay}`, async () => {
      const { outcome } = quayVerify(await testCase.build(world));
      const result = await outcome;
      expect(answerOf(result), result.isValid ? "" : result.invalidMessage).toBe(testCase.quay);
      if (!result.isValid) expect(result.retryable).toBe(false);
      if (testCase.simulationError) expect(!result.isValid && result.invalidMessage).toContain(testCase.simulationError);
    });
  }
});

describe("an RPC that fails mid-verify", () => {
  it.each([
    ["drops the simulation request", { drop: { methods: ["simulateTransaction"], count: 1 } }],
    ["answers the simulation after the deadline", { delay: { ms: 1_500, methods: ["simulateTransaction"], count: 1 } }],
  ])("%s: unexpected_verify_error, retryable", async (_name, fault) => {
    const { body } = await CORPUS[0]!.build(world);
    const metrics = testMetrics();
    const network = testNetwork(t.devnet.rpcUrl, metrics, { timeoutMs: 500 });
    await setFaults(t.devnet, fault);
    try {
      const outcome = await X402.verify(verifierContext(network, metrics, { quayAddresses: world.parties.quayAddresses }), body);
      expect(outcome).toMatchObject({ isValid: false, invalidReason: X402.InvalidReason.unexpectedVerifyError, retryable: true });
      expect(!outcome.isValid && outcome.error?.name).toBe("RpcUnavailableError");
    } finally {
      await clearFaults(t.devnet);
    }
    // And the same payload is valid once the RPC is back.
    expect((await X402.verify(verifierContext(network, metrics, { quayAddresses: world.parties.quayAddresses }), body)).isValid).toBe(true);
  });
});
