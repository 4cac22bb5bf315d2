/**
 * Witness: @x402/stellar's own facilitator (`ExactStellarScheme` from
 * `@x402/stellar/exact/facilitator`) and Quay's verify judge the same devnet corpus. They must
 * agree on valid/invalid and on the reason, except exactly where Quay is deliberately different,
 * and each such place is listed below with why.
 *
 * The library instance gets Quay's accounts as its "signers" (verify reads only `.address`), the
 * same fee ceiling, and the devnet as its RPC. It also asks a hard-coded Horizon for the ledger
 * close time; that request is refused on the spot here, so it assumes 5 s.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ExactStellarScheme as LibraryFacilitator } from "@x402/stellar/exact/facilitator";
import type { FacilitatorStellarSigner } from "@x402/stellar";
import { ALL_INVALID_REASONS, InvalidReason, X402 } from "@quay/x402";
import { startTestDevnet, type TestDevnet } from "../devnet/helpers";
import { CORPUS, createWorld, type CorpusInput, type World } from "./corpus";
import { allowClientHttpRpc, blockNonLoopbackNetwork, testMetrics, testNetwork, verifierContext, type NetworkBlock } from "./fixtures";

/**
 * Every place Quay's verify answers differently from the library's, on purpose. `corpus` names the
 * devnet case that shows it; `test` names the offline test (or it.each row) in verify.test.ts that
 * shows a difference the devnet corpus cannot produce (the SAC never emits it, or it needs a
 * hand-made simulation or a muxed source).
 */
const QUAY_DIFFERS = [
  { reason: InvalidReason.unsupportedAsset, corpus: "an asset Quay does not settle", why: "per-network asset allow-list (OZ), checked before the transaction: the library accepts any SEP-41 contract" },
  { reason: InvalidReason.hasEnvelopeSignatures, corpus: "a signed envelope", why: "Quay rebuilds and signs the transaction itself; a client signature on the envelope is never needed (OZ)" },
  { reason: InvalidReason.authAlreadyExpired, corpus: "auth re-signed to expire 2 ledgers from now", why: "an entry expiring within 2 ledgers cannot be settled in time; the library accepts it and the settlement fails on chain (OZ)" },
  { reason: InvalidReason.authAlreadyExpired, corpus: "auth re-signed with an expiration already passed", why: "caught from the cached latest ledger before spending a simulation, with a precise reason; the library says simulation_failed" },
  { reason: "valid", corpus: "auth expiring inside the bound measured on the RPC but past the library's 5 s guess", why: "Quay measures ledger close time on the configured RPC (getLedgers); the library asks a hard-coded Horizon and, unreachable, assumes 5 s" },
  { reason: InvalidReason.authInvocationMismatch, corpus: "amount raised in the call after the payer signed", why: "the payer's auth entry must authorise exactly the call (the check MPP charges make too), before a simulation is spent; the library leaves it to the simulation (simulation_failed)" },
  { reason: InvalidReason.unexpectedAuthEntries, corpus: "a second signed entry, from a stranger", why: "the payment is the payer's single entry (its nonce identifies the payment); any other signed entry is more than a transfer needs" },
  { reason: InvalidReason.unsafeTxOrOpSource, test: "a Quay account as transaction source, operation source, or muxed alias of either is unsafe_tx_or_op_source", why: "a muxed (M…) alias of a Quay account is that account; the library compares strings" },
  { reason: InvalidReason.wrongFunctionName, test: "arguments that are not (address, address, i128) are wrong_function_name", why: "transfer's signature is checked up front; the library decodes whatever it finds and fails later, or not at all" },
  { reason: InvalidReason.eventNotTransfer, test: "a transfer event from a call that failed", why: "an event from a failed (caught) call moved no balance: it cannot be the payment" },
  { reason: InvalidReason.simulationFailed, test: "a simulation that needs a restore first is simulation_failed", why: "a transfer that needs archived entries restored fails on chain as built; the library treats it as success" },
  { reason: InvalidReason.invalidPaymentRequirements, test: "requirements with %s are invalid_payment_requirements", why: "amounts must be positive whole base units within i128; the library's BigInt() throws (unexpected_verify_error) or accepts 0" },
  { reason: "valid", corpus: "the payer's auth as V2 credentials (CAP-71), signed over the address-bound preimage", why: "CAP-71 V2 credentials (protocol 27; SDK 17 buyers sign them by default) are read like V1; @x402/stellar 2.9's SDK 14 cannot decode them" },
  { reason: InvalidReason.simulationFailed, corpus: "a V1 signature relabelled as V2", why: "Quay reads V2 and lets the network judge its signature (the address-bound preimage); the library cannot decode V2 (malformed)" },
  { reason: InvalidReason.simulationFailed, corpus: "a V2 entry whose signature binds another address", why: "Quay reads V2 and lets the network judge its signature (the address-bound preimage); the library cannot decode V2 (malformed)" },
  { reason: InvalidReason.simulationFailed, corpus: "a V1 signature under delegated credentials (CAP-71 ADDRESS_WITH_DELEGATES)", why: "Quay reads delegated credentials (contract-account payers delegate to their signers) and lets the network judge their signatures; the library cannot decode them (malformed)" },
  { reason: InvalidReason.unsupportedPayTo, test: "a muxed (M…) payTo is refused up front as unsupported_pay_to, before any RPC call", why: "a SAC transfer to a muxed address reports {amount, to_muxed_id} (CAP-67), which Quay does not settle; the library's event check would fail later" },
  { reason: "valid", test: "a client fee below the simulated minimum is accepted: Quay rebuilds the transaction and pays its own fee (as upstream x402 judges fees now)", why: "as upstream x402 since its fees-from-simulation change (PRs #2852, #3503): the client's own fee is not judged; 2.9 still refuses it (fee_below_minimum)" },
  { reason: InvalidReason.unexpectedWrites, test: "refuses any other write as unexpected_writes, naming it", why: "a payment may write only the transfer's balances and the payer's own storage (a contract account's bookkeeping); the library does not read the footprint" },
  { reason: InvalidReason.unsupportedNetwork, test: "a Stellar network Quay does not serve is unsupported_network", why: "a Stellar network Quay is not configured for (OZ); the library serves whatever network it is registered for" },
] as const;

let t: TestDevnet;
let world: World;
let block: NetworkBlock;
const undo: Array<() => void> = [];

beforeAll(async () => {
  block = blockNonLoopbackNetwork();
  undo.push(block.restore, allowClientHttpRpc());
  // The library logs every rejection with console.error.
  const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
  undo.push(() => quiet.mockRestore());
  t = await startTestDevnet({ ledgerCloseMs: 1_000 });
  world = await createWorld(t);
});
afterAll(async () => {
  await t?.close();
  undo.reverse().forEach((u) => u());
});

interface Verdict {
  readonly answer: string;
  readonly payer: string | undefined;
}

async function both(input: CorpusInput): Promise<{ quay: Verdict; library: Verdict }> {
  const quayAddresses = new Set([...world.parties.quayAddresses, ...(input.extraQuayAddresses ?? [])]);
  const maxFeeStroops = input.maxFeeStroops ?? 1_000_000n;
  const metrics = testMetrics();
  const quay = await X402.verify(verifierContext(testNetwork(t.devnet.rpcUrl, metrics), metrics, { quayAddresses, maxFeeStroops }), input.body);

  // Verify reads only `.address` of its signers.
  const signers = [...quayAddresses].map((address) => ({ address }) as FacilitatorStellarSigner);
  const library = new LibraryFacilitator(signers, { rpcConfig: { url: t.devnet.rpcUrl }, maxTransactionFeeStroops: Number(maxFeeStroops) });
  const { paymentPayload, paymentRequirements } = input.body as { paymentPayload: never; paymentRequirements: never };
  const answer = await library.verify(paymentPayload, paymentRequirements);
  return {
    quay: { answer: quay.isValid ? "valid" : quay.invalidReason, payer: quay.payer },
    library: { answer: answer.isValid ? "valid" : (answer.invalidReason ?? "?"), payer: answer.payer },
  };
}

describe("Quay and @x402/stellar on the same payloads", () => {
  for (const testCase of CORPUS) {
    const listed = QUAY_DIFFERS.find((d) => "corpus" in d && d.corpus === testCase.name);
    const title = listed ? `${testCase.name}: Quay ${testCase.quay}, library ${testCase.library} (${listed.why})` : `${testCase.name}: both ${testCase.quay}`;
    it(title, async () => {
      const { quay, library } = await both(await testCase.build(world));
      expect(quay.answer, "Quay").toBe(testCase.quay);
      expect(library.answer, "library").toBe(testCase.library);
      // They differ exactly where the list says so.
      expect(quay.answer !== library.answer, "listed in QUAY_DIFFERS").toBe(listed !== undefined);
      // Agreeing on the reason, they agree on whom it is about.
      if (quay.answer === library.answer) expect(quay.payer).toBe(library.payer);
    });
  }

  it("the library's Horizon lookups were refused, never sent", () => {
    expect(block.blocked.length).toBeGreaterThan(0);
    expect(new Set(block.blocked)).toEqual(new Set(["horizon-testnet.stellar.org"]));
  });
});

describe("the list of differences", () => {
  it("names only corpus cases and verify.test.ts tests that exist, each with a why", () => {
    const names = new Set(CORPUS.map((c) => c.name));
    const offlineTests = readFileSync(fileURLToPath(new URL("./verify.test.ts", import.meta.url)), "utf8");
    for (const difference of QUAY_DIFFERS) {
      if ("corpus" in difference) expect(names, difference.corpus).toContain(difference.corpus);
      else expect(offlineTests, difference.test).toContain(`"${difference.test}"`);
      expect(difference.reason === "valid" || ALL_INVALID_REASONS.has(difference.reason)).toBe(true);
      expect(difference.why.length).toBeGreaterThan(20);
    }
  });
});
