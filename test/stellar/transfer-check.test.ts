/**
 * TransferCheck, the pure check of a SEP-41 transfer shared by x402 verify and MPP charges: each
 * reason on a transaction built with the SDK, offline. The protocols' own mappings of these
 * reasons are tested through them (test/x402/verify.test.ts, test/mpp/*charge*.test.ts).
 */
import { Account, Address, Keypair, MuxedAccount, nativeToScVal, Networks, Operation, SorobanDataBuilder, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { beforeEach, describe, expect, it } from "vitest";
import { TransferCheck, type ExpectedTransfer, type TransferCheckResult, type TransferRefusal } from "@quay/stellar";
import {
  AMOUNT,
  LATEST_LEDGER,
  NULL_ACCOUNT,
  OTHER_TOKEN,
  USDC_TESTNET,
  contractEvent,
  diagnosticEvent,
  invocation,
  newParties,
  paymentTx,
  signedEntry,
  sourceAccountEntry,
  transferArgs,
  transferEvent,
  unsignedEntry,
  type Parties,
} from "../x402/fixtures";

let parties: Parties;
beforeEach(() => {
  parties = newParties();
});

const expected = (overrides: Partial<ExpectedTransfer> = {}): ExpectedTransfer => ({
  asset: USDC_TESTNET,
  to: parties.payTo,
  amount: AMOUNT,
  forbidden: parties.quayAddresses,
  ...overrides,
});

function expectRefusal(result: TransferCheckResult<unknown>, refusal: TransferRefusal) {
  if (result.ok) throw new Error(`expected ${refusal}, got ok`);
  expect(result.refusal).toBe(refusal);
  expect(result.message.length).toBeGreaterThan(0);
  return result;
}

/** The payer's transfer call, as the root invocation an entry authorises. */
const payersCall = (amount = AMOUNT, to = parties.payTo) => invocation(USDC_TESTNET, "transfer", transferArgs(parties.payer.publicKey(), to, amount));

/** An entry for `address` under other credentials than V1, re-using a V1 entry's fields. */
function asCredentials(entry: xdr.SorobanAuthorizationEntry, arm: "v2" | "delegated"): xdr.SorobanAuthorizationEntry {
  const address = entry.credentials().address();
  const credentials =
    arm === "v2"
      ? xdr.SorobanCredentials.sorobanCredentialsAddressV2(address)
      : xdr.SorobanCredentials.sorobanCredentialsAddressWithDelegates(new xdr.SorobanAddressCredentialsWithDelegates({ addressCredentials: address, delegates: [] }));
  return new xdr.SorobanAuthorizationEntry({ credentials, rootInvocation: entry.rootInvocation() });
}

describe("the call", () => {
  it("a transfer as required is ok, and read as the call makes it", async () => {
    const tx = await paymentTx(parties);
    const result = TransferCheck.check({ transaction: tx, expected: expected() });
    if (!result.ok) throw new Error(`${result.refusal}: ${result.message}`);
    expect(result.value).toMatchObject({ asset: USDC_TESTNET, from: parties.payer.publicKey(), to: parties.payTo, amount: AMOUNT });
    expect(result.value.operation).toBe(tx.operations[0]);
  });

  it("two operations are wrong_operation_count", async () => {
    expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, { extraOperation: true }), expected: expected() }), "wrong_operation_count");
  });

  it("an operation other than invokeHostFunction is not_host_function", () => {
    const tx = new TransactionBuilder(new Account(NULL_ACCOUNT, "0"), { fee: "100", networkPassphrase: Networks.TESTNET })
      .setTimeout(300)
      .addOperation(Operation.bumpSequence({ bumpTo: "5" }))
      .build();
    expectRefusal(TransferCheck.check({ transaction: tx, expected: expected() }), "not_host_function");
  });

  it("a forbidden account (or its muxed alias) as transaction or operation source is forbidden_source", async () => {
    const muxedChannel = new MuxedAccount(new Account(parties.channel.publicKey(), "0"), "7").accountId();
    for (const options of [{ txSource: parties.fund.publicKey() }, { opSource: parties.channel.publicKey() }, { opSource: muxedChannel }]) {
      expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, options), expected: expected() }), "forbidden_source");
    }
    // Nothing forbidden, nothing refused.
    expect(TransferCheck.check({ transaction: await paymentTx(parties, { txSource: parties.fund.publicKey() }), expected: expected({ forbidden: new Set() }) }).ok).toBe(true);
  });

  it("a host function other than a contract call is not_contract_call", () => {
    const upload = new TransactionBuilder(new Account(NULL_ACCOUNT, "0"), { fee: "100", networkPassphrase: Networks.TESTNET })
      .setTimeout(300)
      .setSorobanData(new SorobanDataBuilder().build())
      .addOperation(Operation.uploadContractWasm({ wasm: Buffer.from([0, 97, 115, 109]) }))
      .build();
    expectRefusal(TransferCheck.check({ transaction: upload, expected: expected() }), "not_contract_call");
  });

  it("a call to another contract than the asset is wrong_asset", async () => {
    expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, { asset: OTHER_TOKEN }), expected: expected() }), "wrong_asset");
  });

  it("another function, or transfer with another arity, is wrong_function", async () => {
    const args = transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT);
    for (const options of [{ functionName: "approve" }, { args: args.slice(0, 2) }, { args: [...args, xdr.ScVal.scvVoid()] }]) {
      expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, options), expected: expected() }), "wrong_function");
    }
  });

  it("arguments that are not (address, address, i128) are wrong_argument_types", async () => {
    const [from, to] = transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT) as [xdr.ScVal, xdr.ScVal];
    for (const args of [
      [from, to, nativeToScVal(AMOUNT, { type: "u64" })],
      [nativeToScVal(parties.payer.publicKey(), { type: "string" }), to, nativeToScVal(AMOUNT, { type: "i128" })],
    ]) {
      expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, { args }), expected: expected() }), "wrong_argument_types");
    }
  });

  it("a forbidden account as the payer is forbidden_payer", async () => {
    const result = expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, { from: parties.channel.publicKey() }), expected: expected() }), "forbidden_payer");
    expect(result.payer).toBe(parties.channel.publicKey());
  });

  it("a payer other than the one named up front is wrong_from; none named, the call's payer is taken", async () => {
    const tx = await paymentTx(parties);
    expectRefusal(TransferCheck.check({ transaction: tx, expected: expected({ from: Keypair.random().publicKey() }) }), "wrong_from");
    expect(TransferCheck.check({ transaction: tx, expected: expected({ from: parties.payer.publicKey() }) }).ok).toBe(true);
  });

  it("another recipient, its muxed alias included, is wrong_recipient, with the payer", async () => {
    const muxedPayTo = new MuxedAccount(new Account(parties.payTo, "0"), "1").accountId();
    for (const to of [Keypair.random().publicKey(), muxedPayTo]) {
      const result = expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, { to }), expected: expected() }), "wrong_recipient");
      expect(result.payer).toBe(parties.payer.publicKey());
    }
  });

  it("an amount off by one base unit, either way, is wrong_amount; compared as integers beyond 2^53", async () => {
    for (const amount of [AMOUNT - 1n, AMOUNT + 1n]) {
      expectRefusal(TransferCheck.check({ transaction: await paymentTx(parties, { amount }), expected: expected() }), "wrong_amount");
    }
    const tx = await paymentTx(parties, { amount: 2n ** 60n });
    expectRefusal(TransferCheck.check({ transaction: tx, expected: expected({ amount: 2n ** 60n + 1n }) }), "wrong_amount");
  });
});

describe("the payer's auth entries authorise exactly the call", () => {
  const withAuth = async (auth: xdr.SorobanAuthorizationEntry[], options: Parameters<typeof paymentTx>[1] = {}) =>
    TransferCheck.check({ transaction: await paymentTx(parties, { ...options, auth }), expected: expected() });

  it("an entry signed for another amount, recipient or token than the call is auth_invocation_mismatch, with the payer", async () => {
    for (const root of [payersCall(AMOUNT + 1n), payersCall(AMOUNT, Keypair.random().publicKey()), invocation(OTHER_TOKEN, "transfer", transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT))]) {
      const result = expectRefusal(await withAuth([await signedEntry(parties.payer, root, LATEST_LEDGER + 10)]), "auth_invocation_mismatch");
      expect(result.payer).toBe(parties.payer.publicKey());
    }
  });

  it("is judged whatever the credentials: V1, V2 (CAP-71) and delegated alike, signed or not", async () => {
    const mismatched = await signedEntry(parties.payer, payersCall(AMOUNT + 1n), LATEST_LEDGER + 10);
    const matching = await signedEntry(parties.payer, payersCall(), LATEST_LEDGER + 10);
    for (const arm of ["v2", "delegated"] as const) {
      expectRefusal(await withAuth([asCredentials(mismatched, arm)]), "auth_invocation_mismatch");
      expect((await withAuth([asCredentials(matching, arm)])).ok).toBe(true);
    }
    expectRefusal(await withAuth([unsignedEntry(parties.payer.publicKey(), payersCall(AMOUNT + 1n), LATEST_LEDGER + 10)]), "auth_invocation_mismatch");
  });

  it("a source-account entry is the source's: judged when the payer is the operation's source", async () => {
    const payer = parties.payer.publicKey();
    expectRefusal(await withAuth([sourceAccountEntry(payersCall(AMOUNT + 1n))], { opSource: payer }), "auth_invocation_mismatch");
    expect((await withAuth([sourceAccountEntry(payersCall())], { opSource: payer })).ok).toBe(true);
    // The NULL account's entry is not the payer's; x402 and MPP refuse it by their own rules.
    expect((await withAuth([sourceAccountEntry(payersCall(AMOUNT + 1n))])).ok).toBe(true);
  });

  it("an entry authorising something other than a contract call is auth_invocation_mismatch", async () => {
    const createContract = new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeCreateContractHostFn(
        new xdr.CreateContractArgs({
          contractIdPreimage: xdr.ContractIdPreimage.contractIdPreimageFromAddress(
            new xdr.ContractIdPreimageFromAddress({ address: new Address(parties.payer.publicKey()).toScAddress(), salt: Buffer.alloc(32) }),
          ),
          executable: xdr.ContractExecutable.contractExecutableStellarAsset(),
        }),
      ),
      subInvocations: [],
    });
    expectRefusal(await withAuth([await signedEntry(parties.payer, createContract, LATEST_LEDGER + 10)]), "auth_invocation_mismatch");
  });

  it("leaves the rest to the protocols: other accounts' entries, sub-invocations, no entry at all", async () => {
    const stranger = Keypair.random();
    const strangers = await signedEntry(stranger, invocation(USDC_TESTNET, "balance", [new Address(stranger.publicKey()).toScVal()]), LATEST_LEDGER + 10);
    expect((await withAuth([await signedEntry(parties.payer, payersCall(), LATEST_LEDGER + 10), strangers])).ok).toBe(true);
    const nested = invocation(USDC_TESTNET, "transfer", transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT), [payersCall(1n)]);
    expect((await withAuth([await signedEntry(parties.payer, nested, LATEST_LEDGER + 10)])).ok).toBe(true);
    expect((await withAuth([])).ok).toBe(true);
  });
});

describe("the simulation's events", () => {
  const payer = () => parties.payer.publicKey();
  const checkEvents = async (events: xdr.DiagnosticEvent[], overrides: Partial<ExpectedTransfer> = {}) =>
    TransferCheck.check({ transaction: await paymentTx(parties), expected: expected(overrides), events });

  it("the one transfer, among system and diagnostic events, is ok", async () => {
    expect((await checkEvents([diagnosticEvent(), transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT), diagnosticEvent()])).ok).toBe(true);
  });

  it("are not looked at when not given", async () => {
    expect(TransferCheck.check({ transaction: await paymentTx(parties), expected: expected() }).ok).toBe(true);
  });

  const cases: Array<[string, () => xdr.DiagnosticEvent[], TransferRefusal]> = [
    [
      "another contract event beside the transfer",
      () => [
        transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT),
        contractEvent(USDC_TESTNET, [nativeToScVal("approve", { type: "symbol" }), new Address(payer()).toScVal(), new Address(parties.payTo).toScVal()], xdr.ScVal.scvVoid()),
      ],
      "event_not_transfer",
    ],
    ["a transfer event with fewer than 3 topics", () => [contractEvent(USDC_TESTNET, [nativeToScVal("transfer", { type: "symbol" }), new Address(payer()).toScVal()], nativeToScVal(AMOUNT, { type: "i128" }))], "event_not_transfer"],
    ["a transfer event from a call that failed", () => [transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT, { inSuccessfulContractCall: false })], "event_in_failed_call"],
    [
      "a transfer event without a contract id",
      () => [contractEvent(USDC_TESTNET, transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT).event().body().v0().topics(), nativeToScVal(AMOUNT, { type: "i128" }), { withoutContractId: true })],
      "event_missing_contract",
    ],
    ["a transfer in another token", () => [transferEvent(OTHER_TOKEN, payer(), parties.payTo, AMOUNT)], "event_wrong_asset"],
    ["no contract event", () => [diagnosticEvent()], "no_transfer_event"],
    ["no event at all", () => [], "no_transfer_event"],
    ["two transfers", () => [transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT), transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT)], "multiple_transfer_events"],
    ["a transfer from a forbidden account", () => [transferEvent(USDC_TESTNET, parties.fund.publicKey(), parties.payTo, AMOUNT)], "event_forbidden_sender"],
    ["a transfer from someone else", () => [transferEvent(USDC_TESTNET, Keypair.random().publicKey(), parties.payTo, AMOUNT)], "event_wrong_from"],
    ["a transfer to someone other than the recipient", () => [transferEvent(USDC_TESTNET, payer(), Keypair.random().publicKey(), AMOUNT)], "event_wrong_to"],
    ["a transfer of another amount", () => [transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT + 1n)], "event_wrong_amount"],
  ];

  it.each(cases.map(([name, events, refusal]) => [name, refusal, events] as const))("%s is %s", async (_name, refusal, events) => {
    const result = expectRefusal(await checkEvents(events()), refusal);
    expect(result.payer).toBe(payer());
  });

  it("are judged against the expected recipient, not the call's", () => {
    // events() alone, as a protocol calls it after simulating: the recipient is the one it requires.
    const elsewhere = Keypair.random().publicKey();
    const events = [transferEvent(USDC_TESTNET, payer(), elsewhere, AMOUNT)];
    expectRefusal(TransferCheck.events(events, { asset: USDC_TESTNET, from: payer(), to: parties.payTo, amount: AMOUNT }), "event_wrong_to");
    expect(TransferCheck.events(events, { asset: USDC_TESTNET, from: payer(), to: elsewhere, amount: AMOUNT }).ok).toBe(true);
  });

  it("let through a paying contract account's own bookkeeping events, never one named like a movement of value", () => {
    const account = Address.contract(Buffer.alloc(32, 7)).toString();
    const transfer = transferEvent(USDC_TESTNET, account, parties.payTo, AMOUNT);
    const own = (name: string) => contractEvent(account, [nativeToScVal(name, { type: "symbol" })], xdr.ScVal.scvVoid());
    const expectedOfAccount = { asset: USDC_TESTNET, from: account, to: parties.payTo, amount: AMOUNT };
    expect(TransferCheck.events([own("spent"), transfer], expectedOfAccount).ok).toBe(true);
    expectRefusal(TransferCheck.events([own("approve"), transfer], expectedOfAccount), "event_not_transfer");
    // A G… payer has no contract of its own: the same event from elsewhere is refused.
    expectRefusal(TransferCheck.events([own("spent"), transferEvent(USDC_TESTNET, payer(), parties.payTo, AMOUNT)], { ...expectedOfAccount, from: payer() }), "event_not_transfer");
  });
});
