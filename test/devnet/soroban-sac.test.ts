import { Address, Asset, Keypair, nativeToScVal, Networks, scValToNative, xdr } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { Keys } from "../../apps/devnet/src/soroban/keys";
import { codeName, expectFailed, expectOk, HostFixture, invoke, keyIds, signAll, XLM } from "./soroban-fixtures";

const addr = (s: string) => Address.fromString(s).toScVal();
const i128 = (n: bigint) => nativeToScVal(n, { type: "i128" });
const transferArgs = (from: string, to: string, amount: bigint) => [addr(from), addr(to), i128(amount)];

describe("Soroban host: genesis SACs", () => {
  it("installs the USDC SAC at the address testnet derives, with SEP-11 metadata and 7 decimals", () => {
    const f = new HostFixture();
    expect(f.genesis.usdcSac).toBe("CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA");
    expect(f.genesis.nativeSac).toBe(Asset.native().contractId(Networks.TESTNET));
    const src = f.newHolder().publicKey();
    const call = (contract: string, fn: string) => scValToNative(expectOk(f.simulate(invoke({ contract, fn, args: [] }), src)).returnValue!);
    expect(call(f.genesis.usdcSac, "name")).toBe(`USDC:${f.usdc.getIssuer()}`);
    expect(call(f.genesis.usdcSac, "symbol")).toBe("USDC");
    expect(call(f.genesis.usdcSac, "decimals")).toBe(7);
    expect(call(f.genesis.nativeSac, "name")).toBe("native");
  });
});

describe("Soroban host: SAC transfer with recorded and enforced auth", () => {
  it("records an unsigned address-credential entry for a non-source payer, and the full footprint", () => {
    const f = new HostFixture();
    const payer = f.newHolder(50n * XLM);
    const payee = f.newHolder();
    const relayer = f.newHolder().publicKey();
    const sim = expectOk(f.simulate(invoke({ contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), 10n * XLM) }), relayer));

    expect(sim.auth).toHaveLength(1);
    const creds = sim.auth[0]!.credentials();
    expect(creds.switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsAddress());
    expect(Address.fromScAddress(creds.address().address()).toString()).toBe(payer.publicKey());
    expect(creds.address().signatureExpirationLedger()).toBe(0);
    expect(creds.address().signature().switch()).toBe(xdr.ScValType.scvVoid());
    const root = sim.auth[0]!.rootInvocation();
    expect(root.function().contractFn().functionName().toString()).toBe("transfer");
    expect(root.function().contractFn().args().map((a) => a.toXDR("base64"))).toEqual(transferArgs(payer.publicKey(), payee.publicKey(), 10n * XLM).map((a) => a.toXDR("base64")));
    expect(root.subInvocations()).toHaveLength(0);

    const fp = sim.transactionData.resources().footprint();
    const nonceKey = Keys.nonce(payer.publicKey(), creds.address().nonce());
    expect(keyIds(fp.readWrite()).sort()).toEqual(
      keyIds([Keys.trustline(payer.publicKey(), f.usdc), Keys.trustline(payee.publicKey(), f.usdc), nonceKey]).sort(),
    );
    expect(keyIds(fp.readOnly()).sort()).toEqual(keyIds([Keys.instance(f.genesis.usdcSac), Keys.account(payer.publicKey())]).sort());
    expect(sim.minResourceFee).toBeGreaterThan(0n);
    expect(sim.transactionData.resourceFee().toBigInt()).toBe(sim.minResourceFee);
    // What the x402 facilitator's fee ceiling (50 000 stroops) must leave room for.
    expect(sim.minResourceFee).toBeLessThan(40_000n);
  });

  it("emits the current protocol's transfer event: [transfer, from, to, SEP-11 name], i128 data", () => {
    const f = new HostFixture();
    const payer = f.newHolder(50n * XLM);
    const payee = f.newHolder();
    const sim = expectOk(f.simulate(invoke({ contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), 7n) }), payer.publicKey()));
    expect(sim.events).toHaveLength(1);
    const event = sim.events[0]!;
    expect(event.type()).toBe(xdr.ContractEventType.contract());
    expect(Address.contract(event.contractId()! as unknown as Buffer).toString()).toBe(f.genesis.usdcSac);
    const body = event.body().v0();
    expect(body.topics().map((t) => scValToNative(t))).toEqual(["transfer", payer.publicKey(), payee.publicKey(), `USDC:${f.usdc.getIssuer()}`]);
    expect(body.data().switch()).toBe(xdr.ScValType.scvI128());
    expect(scValToNative(body.data())).toBe(7n);
    expect(sim.diagnosticEvents[0]!.event().toXDR("base64")).toBe(event.toXDR("base64"));
  });

  it("applies a signed transfer: balances move, the nonce is consumed until the signature expires", async () => {
    const f = new HostFixture();
    const payer = f.newHolder(50n * XLM);
    const payee = f.newHolder();
    const relayer = f.newHolder().publicKey();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), 10n * XLM) };
    const sim = expectOk(f.simulate(invoke(spec), relayer));
    const auth = await signAll(sim.auth, [payer], f.sequence + 20);
    const resim = expectOk(f.simulate(invoke({ ...spec, auth }), relayer));
    expectOk(f.apply(invoke({ ...spec, auth }), relayer, resim.transactionData));

    expect(f.usdcBalance(payer.publicKey())).toBe(40n * XLM);
    expect(f.usdcBalance(payee.publicKey())).toBe(10n * XLM);
    const nonce = f.state.get(Keys.nonce(payer.publicKey(), auth[0]!.credentials().address().nonce()));
    expect(nonce?.liveUntilLedgerSeq).toBe(f.sequence + 20);

    // The same signed entry again: the nonce is taken.
    const replay = expectFailed(f.apply(invoke({ ...spec, auth }), relayer, resim.transactionData));
    expect(codeName(replay)).toBe("invokeHostFunctionTrapped");
    expect(replay.error).toContain("Error(Auth, ExistingValue)");
    expect(f.usdcBalance(payee.publicKey())).toBe(10n * XLM);
  });

  it("a recorded simulation's footprint and fee are enough to apply the signed transaction", async () => {
    const f = new HostFixture();
    const payer = f.newHolder(50n * XLM);
    const payee = f.newHolder();
    const relayer = f.newHolder().publicKey();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) };
    const sim = expectOk(f.simulate(invoke(spec), relayer));
    const auth = await signAll(sim.auth, [payer], f.sequence + 50_000);
    expectOk(f.apply(invoke({ ...spec, auth }), relayer, sim.transactionData));
    expect(f.usdcBalance(payee.publicKey())).toBe(XLM);
  });

  it("rejects an expired signature, a wrong signer and a signature for other arguments", async () => {
    const f = new HostFixture();
    const payer = f.newHolder(50n * XLM);
    const payee = f.newHolder();
    const relayer = f.newHolder().publicKey();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) };
    const sim = expectOk(f.simulate(invoke(spec), relayer));

    const expired = await signAll(sim.auth, [payer], f.sequence - 1);
    expect(expectFailed(f.simulate(invoke({ ...spec, auth: expired }), relayer)).error).toContain("Error(Auth, InvalidInput)");

    // Signed by another key but claiming the payer's public key: the ed25519 check fails.
    const forged = await signAll(sim.auth, [payer], f.sequence + 5);
    const sigMap = forged[0]!.credentials().address().signature().vec()![0]!;
    const other = Keypair.random();
    const sigEntry = sigMap.map()!.find((e) => e.key().sym().toString() === "signature")!;
    sigEntry.val(xdr.ScVal.scvBytes(other.sign(Buffer.alloc(32, 1))));
    // The host reports the failed ed25519 check as a failed authentication, the original error in the detail.
    const forgedError = expectFailed(f.simulate(invoke({ ...spec, auth: forged }), relayer)).error;
    expect(forgedError).toMatch(/^HostError: Error\(Auth, InvalidAction\)/);
    expect(forgedError).toContain("Error(Crypto, InvalidInput)");

    // A valid signature over an invocation for a different amount does not authorize this call.
    const otherAmount = { ...spec, args: transferArgs(payer.publicKey(), payee.publicKey(), 2n * XLM) };
    const simOther = expectOk(f.simulate(invoke(otherAmount), relayer));
    const signedOther = await signAll(simOther.auth, [payer], f.sequence + 5);
    const mismatch = expectFailed(f.simulate(invoke({ ...spec, auth: signedOther }), relayer));
    expect(mismatch.error).toContain("Error(Auth, InvalidAction)");

    // No auth at all in enforcing mode (apply): the payer never authorized.
    const unsigned = expectFailed(f.apply(invoke(spec), relayer, sim.transactionData));
    expect(unsigned.error).toContain("Error(Auth, InvalidAction)");
    expect(f.usdcBalance(payee.publicKey())).toBe(0n);
  });

  it("checks the signature weight against the account's medium threshold", async () => {
    const f = new HostFixture();
    const payer = Keypair.random();
    f.fund(payer.publicKey(), 100n * XLM, (a) => a.thresholds(Buffer.from([1, 0, 2, 0])));
    f.trust(payer.publicKey(), 50n * XLM);
    const payee = f.newHolder();
    const relayer = f.newHolder().publicKey();
    const result = await f.run({ contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) }, relayer, [payer]);
    expect(expectFailed(result).error).toContain("lower than the medium threshold");
  });

  it("source-account credentials authorize the operation source without a signature", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n * XLM);
    const payee = f.newHolder();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) };
    const sim = expectOk(f.simulate(invoke(spec), payer.publicKey()));
    expect(sim.auth[0]!.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount());
    expectOk(f.apply(invoke({ ...spec, auth: sim.auth }), payer.publicKey(), sim.transactionData));
    expect(f.usdcBalance(payee.publicKey())).toBe(XLM);
    // The same source-account entry does not authorize when someone else is the source.
    const other = f.newHolder().publicKey();
    expect(expectFailed(f.apply(invoke({ ...spec, auth: sim.auth }), other, sim.transactionData)).error).toContain("Error(Auth, InvalidAction)");
  });
});

describe("Soroban host: SAC token rules", () => {
  it("fails without a trustline for a G recipient (TrustlineMissingError #13)", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n * XLM);
    const noTrust = Keypair.random();
    f.fund(noTrust.publicKey(), 10n * XLM);
    const r = expectFailed(f.simulate(invoke({ contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), noTrust.publicKey(), 1n) }), payer.publicKey()));
    expect(r.error).toContain("Error(Contract, #13)");
    expect(codeName(r)).toBe("invokeHostFunctionTrapped");
  });

  it("fails on insufficient balance (#10) and on a negative amount (#8)", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n);
    const payee = f.newHolder();
    const run = (amount: bigint) => f.simulate(invoke({ contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), amount) }), payer.publicKey());
    expect(expectFailed(run(6n)).error).toContain("Error(Contract, #10)");
    expect(expectFailed(run(-1n)).error).toContain("Error(Contract, #8)");
    expectOk(run(5n));
  });

  it("keeps the native minimum balance: XLM above the reserve moves, the reserve does not", () => {
    const f = new HostFixture();
    const payer = Keypair.random();
    f.fund(payer.publicKey(), 3n * XLM); // reserve (2 × 0.5 XLM) = 1 XLM
    const payee = f.newHolder();
    const run = (amount: bigint) =>
      f.apply(
        invoke({ contract: f.genesis.nativeSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), amount), auth: [sourceAuth(f.genesis.nativeSac, transferArgs(payer.publicKey(), payee.publicKey(), amount))] }),
        payer.publicKey(),
        expectOk(f.simulate(invoke({ contract: f.genesis.nativeSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), amount) }), payer.publicKey())).transactionData,
      );
    expect(expectFailed(f.simulate(invoke({ contract: f.genesis.nativeSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), 2n * XLM + 1n) }), payer.publicKey())).error).toContain("Error(Contract, #10)");
    expectOk(run(2n * XLM));
    expect(f.xlmBalance(payer.publicKey())).toBe(XLM);
    expect(f.xlmBalance(payee.publicKey())).toBe(102n * XLM);
  });

  it("stores a contract holder's balance as persistent {amount, authorized, clawback} under the SAC", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n * XLM);
    const holder = f.genesis.nativeSac; // any C address can hold USDC
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), holder, 3n * XLM) };
    const sim = expectOk(f.simulate(invoke(spec), payer.publicKey()));
    expectOk(f.apply(invoke({ ...spec, auth: sim.auth }), payer.publicKey(), sim.transactionData));
    const key = Keys.contractData(f.genesis.usdcSac, xdr.ScVal.scvVec([xdr.ScVal.scvSymbol("Balance"), addr(holder)]), xdr.ContractDataDurability.persistent());
    const stored = f.state.get(key);
    expect(stored?.liveUntilLedgerSeq).toBe(f.sequence + f.ledger.minPersistentTtl - 1);
    expect(scValToNative(stored!.entry.data().contractData().val())).toEqual({ amount: 3n * XLM, authorized: true, clawback: false });
    const balance = expectOk(f.simulate(invoke({ contract: f.genesis.usdcSac, fn: "balance", args: [addr(holder)] }), payer.publicKey()));
    expect(scValToNative(balance.returnValue!)).toBe(3n * XLM);
  });

  it("mint needs the issuer's (admin's) auth and emits [mint, to, name]", () => {
    const f = new HostFixture();
    const to = f.newHolder();
    const spec = { contract: f.genesis.usdcSac, fn: "mint", args: [addr(to.publicKey()), i128(100n)] };
    const stranger = f.newHolder().publicKey();
    const bySim = expectOk(f.simulate(invoke(spec), stranger));
    expect(Address.fromScAddress(bySim.auth[0]!.credentials().address().address()).toString()).toBe(f.usdc.getIssuer());
    expect(expectFailed(f.apply(invoke(spec), stranger, bySim.transactionData)).error).toContain("Error(Auth, InvalidAction)");

    const issuer = f.usdc.getIssuer()!;
    const sim = expectOk(f.simulate(invoke(spec), issuer));
    expectOk(f.apply(invoke({ ...spec, auth: sim.auth }), issuer, sim.transactionData));
    expect(f.usdcBalance(to.publicKey())).toBe(100n);
    expect(sim.events[0]!.body().v0().topics().map((t) => scValToNative(t))).toEqual(["mint", to.publicKey(), `USDC:${issuer}`]);
  });
});

describe("Soroban host: footprint and resource enforcement", () => {
  it("fails an op that touches a key outside its declared footprint, or writes a read-only key", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n * XLM);
    const payee = f.newHolder();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) };
    const sim = expectOk(f.simulate(invoke(spec), payer.publicKey()));
    const op = invoke({ ...spec, auth: sim.auth });
    const data = sim.transactionData;
    const fp = data.resources().footprint();
    const payeeLine = Keys.trustline(payee.publicKey(), f.usdc).toXDR("base64");

    const without = withFootprint(data, fp.readOnly(), fp.readWrite().filter((k) => k.toXDR("base64") !== payeeLine));
    const r1 = expectFailed(f.apply(op, payer.publicKey(), without));
    expect(codeName(r1)).toBe("invokeHostFunctionTrapped");
    expect(r1.error).toContain("Error(Storage, ExceededLimit)");

    const readOnly = withFootprint(data, [...fp.readOnly(), Keys.trustline(payee.publicKey(), f.usdc)], fp.readWrite().filter((k) => k.toXDR("base64") !== payeeLine));
    expect(expectFailed(f.apply(op, payer.publicKey(), readOnly)).error).toContain("outside of the read-write footprint");
    expect(f.usdcBalance(payee.publicKey())).toBe(0n);
  });

  it("fails when the declared resources or resource fee fall short", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n * XLM);
    const payee = f.newHolder();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) };
    const sim = expectOk(f.simulate(invoke(spec), payer.publicKey()));
    const op = invoke({ ...spec, auth: sim.auth });
    const d = sim.transactionData;
    const fee = sim.resourceFee!;

    const lowInstructions = xdr.SorobanTransactionData.fromXDR(d.toXDR());
    lowInstructions.resources().instructions(d.resources().instructions() - 1);
    expect(codeName(expectFailed(f.apply(op, payer.publicKey(), lowInstructions)))).toBe("invokeHostFunctionResourceLimitExceeded");

    const lowWrite = xdr.SorobanTransactionData.fromXDR(d.toXDR());
    lowWrite.resources().writeBytes(d.resources().writeBytes() - 1);
    expect(codeName(expectFailed(f.apply(op, payer.publicKey(), lowWrite)))).toBe("invokeHostFunctionResourceLimitExceeded");

    const lowRefundable = xdr.SorobanTransactionData.fromXDR(d.toXDR());
    lowRefundable.resourceFee(xdr.Int64.fromString((fee.nonRefundable + fee.refundable - 1n).toString()));
    expect(codeName(expectFailed(f.apply(op, payer.publicKey(), lowRefundable)))).toBe("invokeHostFunctionInsufficientRefundableFee");

    const lowFee = xdr.SorobanTransactionData.fromXDR(d.toXDR());
    lowFee.resourceFee(xdr.Int64.fromString((fee.nonRefundable - 1n).toString()));
    expect(codeName(expectFailed(f.apply(op, payer.publicKey(), lowFee)))).toBe("invokeHostFunctionResourceLimitExceeded");

    expect(f.usdcBalance(payee.publicKey())).toBe(0n);
    expectOk(f.apply(op, payer.publicKey(), d));
    expect(f.usdcBalance(payee.publicKey())).toBe(XLM);
  });

  it("prices deterministically: the same invocation simulates to the same resources and fee", () => {
    const f = new HostFixture();
    const payer = f.newHolder(5n * XLM);
    const payee = f.newHolder();
    const op = invoke({ contract: f.genesis.usdcSac, fn: "transfer", args: transferArgs(payer.publicKey(), payee.publicKey(), XLM) });
    const a = expectOk(f.simulate(op, payer.publicKey()));
    const b = expectOk(f.simulate(op, payer.publicKey()));
    expect(a.transactionData.toXDR("base64")).toBe(b.transactionData.toXDR("base64"));
  });
});

function sourceAuth(contract: string, args: xdr.ScVal[]): xdr.SorobanAuthorizationEntry {
  return new xdr.SorobanAuthorizationEntry({
    credentials: xdr.SorobanCredentials.sorobanCredentialsSourceAccount(),
    rootInvocation: new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
        new xdr.InvokeContractArgs({ contractAddress: Address.fromString(contract).toScAddress(), functionName: "transfer", args }),
      ),
      subInvocations: [],
    }),
  });
}

function withFootprint(data: xdr.SorobanTransactionData, readOnly: xdr.LedgerKey[], readWrite: xdr.LedgerKey[]): xdr.SorobanTransactionData {
  const copy = xdr.SorobanTransactionData.fromXDR(data.toXDR());
  copy.resources().footprint(new xdr.LedgerFootprint({ readOnly, readWrite }));
  return copy;
}
