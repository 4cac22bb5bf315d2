/**
 * Contract-account (C…) payers on the devnet, end to end through the real @stellar/stellar-sdk 16:
 * each native account kind is deployed with createContract V2, funded with USDC over the SAC, and
 * pays an x402 `exact` transfer built by @quay/x402-buyer (recording simulation, the account's own
 * signature, enforcing simulation) that a relayer-style account lands. The host calls the
 * account's `__check_auth`; what it reads, writes, verifies and emits is in the transaction's
 * resources and fee. The refusal matrix is in smart-account-refusals.test.ts.
 */
import { Address, Keypair, Operation, rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import { SmartAccountExactScheme, SmartAccountPayment, Signers } from "@quay/x402-buyer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT_CONTRACTS } from "../../apps/devnet/src/soroban";
import { send } from "./channel-fixtures";
import { builderFor, fundedKeypair, startTestDevnet, usdcBalance, USDC, type TestDevnet } from "./helpers";
import {
  addressVal,
  buyerPayment,
  bytesN,
  deployAccount,
  ed25519Keys,
  fundContract,
  i128,
  invokeOp,
  newPasskey,
  sacBalance,
  settle,
  UNIT,
  uploadAccountWasm,
} from "./smart-account-fixtures";

const T = xdr.SorobanCredentialsType;

interface Measured {
  readonly instructions: number;
  readonly diskReadBytes: number;
  readonly writeBytes: number;
  readonly readOnly: number;
  readonly readWrite: number;
  readonly minResourceFee: bigint;
  readonly feeCharged: bigint;
}
const measured = new Map<string, Measured>();

let t: TestDevnet;
beforeAll(async () => {
  t = await startTestDevnet();
});
afterAll(async () => {
  // The per-kind figures of one SAC transfer payment, for the record (feeCharged is the ledger's).
  if (measured.size > 0) console.table(Object.fromEntries([...measured].map(([k, m]) => [k, { ...m, minResourceFee: m.minResourceFee.toString(), feeCharged: m.feeCharged.toString() }])));
  await t?.close();
});

/** Lands the buyer's payment through a relayer and checks that exactly `amount` moved, once. */
async function payAndCheck(label: string, account: string, payment: SmartAccountPayment.Payment, amount: bigint, payTo: Keypair): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
  const before = await sacBalance(t, account);
  const payToBefore = await usdcBalance(t.server, payTo.publicKey());
  const relayer = await fundedKeypair(t.devnet);
  const res = await settle(t, payment.transaction, relayer);
  if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) throw new Error(`payment ${res.status}`);
  expect(await sacBalance(t, account)).toBe(before - amount);
  expect(await usdcBalance(t.server, payTo.publicKey())).toBe(payToBefore + amount);
  const transfers = transferEvents(res.events.contractEventsXdr.flat());
  expect(transfers).toEqual([{ token: USDC.contractId(t.passphrase), from: account, to: payTo.publicKey(), amount }]);
  const resources = payment.transactionData.resources();
  measured.set(label, {
    instructions: resources.instructions(),
    diskReadBytes: resources.diskReadBytes(),
    writeBytes: resources.writeBytes(),
    readOnly: resources.footprint().readOnly().length,
    readWrite: resources.footprint().readWrite().length,
    minResourceFee: payment.minResourceFee,
    feeCharged: BigInt(res.resultXdr.feeCharged().toString()),
  });
  return res;
}

function transferEvents(events: xdr.ContractEvent[]): Array<{ token: string; from: string; to: string; amount: bigint }> {
  return events
    .filter((e) => e.body().v0().topics()[0]?.sym().toString() === "transfer")
    .map((e) => {
      const [, from, to] = e.body().v0().topics();
      return {
        token: Address.contract(e.contractId() as unknown as Buffer).toString(),
        from: Address.fromScVal(from!).toString(),
        to: Address.fromScVal(to!).toString(),
        amount: BigInt(scValToNative(e.body().v0().data()) as bigint),
      };
    });
}

/** Keys of a footprint, as readable labels. */
function footprintHas(data: xdr.SorobanTransactionData, predicate: (key: xdr.LedgerKey) => boolean): boolean {
  const fp = data.resources().footprint();
  return [...fp.readOnly(), ...fp.readWrite()].some(predicate);
}

const contractDataOf = (contract: string, keyType?: xdr.ScValType) => (key: xdr.LedgerKey): boolean =>
  key.switch() === xdr.LedgerEntryType.contractData() &&
  Address.fromScAddress(key.contractData().contract()).toString() === contract &&
  (keyType === undefined || key.contractData().key().switch() === keyType);

describe("a G account through the same helper (the baseline)", () => {
  it("pays with its own signature shape", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 50n * UNIT });
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const payment = await buyerPayment(t, { account: payer.publicKey(), payTo: payTo.publicKey(), amount: 2n * UNIT, sign: Signers.ed25519Multisig([payer]) });
    const before = await usdcBalance(t.server, payer.publicKey());
    const relayer = await fundedKeypair(t.devnet);
    const res = await settle(t, payment.transaction, relayer);
    expect(res.status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, payer.publicKey())).toBe(before - 2n * UNIT);
    if (res.status === rpc.Api.GetTransactionStatus.SUCCESS) {
      const r = payment.transactionData.resources();
      measured.set("G account (baseline)", {
        instructions: r.instructions(),
        diskReadBytes: r.diskReadBytes(),
        writeBytes: r.writeBytes(),
        readOnly: r.footprint().readOnly().length,
        readWrite: r.footprint().readWrite().length,
        minResourceFee: payment.minResourceFee,
        feeCharged: BigInt(res.resultXdr.feeCharged().toString()),
      });
    }
  });
});

describe("ed25519 multisig account (2 of 3)", () => {
  it("pays with two of its three keys; the nonce is consumed under the account's address", async () => {
    const keys = ed25519Keys(3);
    const account = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
    await fundContract(t, account, 20n * UNIT);
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const payment = await buyerPayment(t, { account, payTo: payTo.publicKey(), amount: 3n * UNIT, sign: Signers.ed25519Multisig([keys[0]!, keys[2]!]) });
    const entry = payment.authEntry;
    expect(entry.credentials().switch()).toBe(T.sorobanCredentialsAddress());
    expect(Address.fromScAddress(entry.credentials().address().address()).toString()).toBe(account);
    // The enforcing simulation ran __check_auth: the account's instance is in the footprint.
    expect(footprintHas(payment.transactionData, contractDataOf(account, xdr.ScValType.scvLedgerKeyContractInstance()))).toBe(true);
    await payAndCheck("ed25519 multisig 2-of-3", account, payment, 3n * UNIT, payTo);

    const nonceKey = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: Address.fromString(account).toScAddress(),
        key: xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce: entry.credentials().address().nonce() })),
        durability: xdr.ContractDataDurability.temporary(),
      }),
    );
    expect((await t.server.getLedgerEntries(nonceKey)).entries).toHaveLength(1);
  });

  it("V2 (address-bound) credentials pay too", async () => {
    const keys = ed25519Keys(2);
    const account = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
    await fundContract(t, account, 10n * UNIT);
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const payment = await buyerPayment(t, { account, payTo: payTo.publicKey(), amount: UNIT, sign: Signers.ed25519Multisig(keys, { credentials: "addressV2" }) });
    expect(payment.authEntry.credentials().switch()).toBe(T.sorobanCredentialsAddressV2());
    await payAndCheck("ed25519 multisig 2-of-2, V2 credentials", account, payment, UNIT, payTo);
  });

  it("the account administers itself: set_threshold authorized by its own __check_auth (self re-entry)", async () => {
    const keys = ed25519Keys(3);
    const account = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(3)]);
    const admin = await fundedKeypair(t.devnet);
    const op = Operation.invokeContractFunction({ contract: account, function: "set_threshold", args: [xdr.ScVal.scvU32(1)] });
    const sim = await t.server.simulateTransaction((await builder(admin)).addOperation(op).setTimeout(60).build());
    if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw new Error(JSON.stringify(sim));
    expect(sim.result.auth).toHaveLength(1);
    const { signed } = await SmartAccountPayment.signEntry(sim.result.auth[0]!, Signers.ed25519Multisig(keys), (await t.server.getLatestLedger()).sequence + 30, t.passphrase);
    const withAuth = Operation.invokeContractFunction({ contract: account, function: "set_threshold", args: [xdr.ScVal.scvU32(1)], auth: [signed] });
    await send(t, admin, withAuth);
    const read = await t.server.simulateTransaction(
      (await builder(admin)).addOperation(Operation.invokeContractFunction({ contract: account, function: "threshold", args: [] })).setTimeout(60).build(),
    );
    expect(rpc.Api.isSimulationSuccess(read) && read.result?.retval.u32()).toBe(1);
  });

  it("nobody calls __check_auth directly: Error(Context, InvalidAction)", async () => {
    const keys = ed25519Keys(1);
    const account = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec([bytesN(keys[0]!.rawPublicKey())]), xdr.ScVal.scvU32(1)]);
    const caller = await fundedKeypair(t.devnet);
    const op = Operation.invokeContractFunction({ contract: account, function: "__check_auth", args: [bytesN(Buffer.alloc(32)), xdr.ScVal.scvVec([]), xdr.ScVal.scvVec([])] });
    const sim = await t.server.simulateTransaction((await builder(caller)).addOperation(op).setTimeout(60).build());
    expect(rpc.Api.isSimulationError(sim) && sim.error).toMatch(/^HostError: Error\(Context, InvalidAction\)/);
  });
});

describe("passkey account (WebAuthn, secp256r1)", () => {
  it("pays with a WebAuthn assertion whose challenge is the payload; the signer's persistent entry is read", async () => {
    const passkey = newPasskey();
    const account = await deployAccount(t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
    await fundContract(t, account, 20n * UNIT);
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const sign = Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId });
    const payment = await buyerPayment(t, { account, payTo: payTo.publicKey(), amount: 4n * UNIT, sign });
    // The signer lives in the account's persistent storage: only the enforcing simulation found it.
    expect(footprintHas(payment.transactionData, (k) => contractDataOf(account, xdr.ScValType.scvVec())(k) && k.contractData().durability() === xdr.ContractDataDurability.persistent())).toBe(true);
    await payAndCheck("passkey (secp256r1 WebAuthn)", account, payment, 4n * UNIT, payTo);
  });

  it("the x402 client scheme pays from it: createPaymentPayload gives the envelope a relayer lands", async () => {
    const passkey = newPasskey();
    const account = await deployAccount(t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
    await fundContract(t, account, 5n * UNIT);
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const scheme = new SmartAccountExactScheme({
      account,
      signer: Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId }),
      rpcUrls: { "stellar:testnet": t.devnet.rpcUrl },
      allowHttp: true,
    });
    const requirements = {
      scheme: "exact",
      network: "stellar:testnet" as const,
      asset: USDC.contractId(t.passphrase),
      amount: "1500000",
      payTo: payTo.publicKey(),
      maxTimeoutSeconds: 60,
      extra: { areFeesSponsored: true },
    };
    const payload = await scheme.createPaymentPayload(2, requirements);
    const envelope = (payload.payload as { transaction: string }).transaction;
    expect(invokeOp(envelope, t.passphrase).auth).toHaveLength(1);
    const res = await settle(t, envelope, await fundedKeypair(t.devnet));
    expect(res.status).toBe("SUCCESS");
    expect(await sacBalance(t, account)).toBe(5n * UNIT - 1_500_000n);
  });
});

describe("spending-policy account (ed25519 signer, rolling limit per token)", () => {
  it("pays within its limit: the account's storage is written and its own spend event emitted", async () => {
    const key = Keypair.random();
    const account = await deployAccount(t, "spendingPolicy", [bytesN(key.rawPublicKey()), addressVal(USDC.contractId(t.passphrase)), i128(10n * UNIT), xdr.ScVal.scvU32(100)]);
    await fundContract(t, account, 20n * UNIT);
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const payment = await buyerPayment(t, { account, payTo: payTo.publicKey(), amount: 6n * UNIT, sign: Signers.ed25519(key) });
    // The limit entry is written by __check_auth: read-write in the footprint of the enforcing simulation.
    expect(payment.transactionData.resources().footprint().readWrite().some(contractDataOf(account, xdr.ScValType.scvVec()))).toBe(true);
    const res = await payAndCheck("spending policy (ed25519 + limit)", account, payment, 6n * UNIT, payTo);
    const spend = res.events.contractEventsXdr.flat().filter((e) => e.body().v0().topics()[0]?.sym().toString() === "spend");
    expect(spend).toHaveLength(1);
    expect(Address.contract(spend[0]!.contractId() as unknown as Buffer).toString()).toBe(account);
    expect(Address.fromScVal(spend[0]!.body().v0().topics()[1]!).toString()).toBe(USDC.contractId(t.passphrase));
    expect(scValToNative(spend[0]!.body().v0().data())).toEqual({ amount: 6n * UNIT, total_spent_in_period: 6n * UNIT });
  });

  it("deploys a contract itself: its __check_auth reads a CreateContractWithCtorHostFn context", async () => {
    const key = Keypair.random();
    const account = await deployAccount(t, "spendingPolicy", [bytesN(key.rawPublicKey()), addressVal(USDC.contractId(t.passphrase)), i128(10n * UNIT), xdr.ScVal.scvU32(100)]);
    const relayer = await fundedKeypair(t.devnet);
    await uploadAccountWasm(t, "ed25519Multisig");
    const signer = ed25519Keys(1)[0]!;
    const create = Operation.createCustomContract({
      address: Address.fromString(account),
      wasmHash: ACCOUNT_CONTRACTS.ed25519Multisig.hash,
      salt: Buffer.alloc(32, 7),
      constructorArgs: [xdr.ScVal.scvVec([bytesN(signer.rawPublicKey())]), xdr.ScVal.scvU32(1)],
    });
    const recorded = await t.server.simulateTransaction((await builder(relayer)).addOperation(create).setTimeout(60).build());
    if (!rpc.Api.isSimulationSuccess(recorded) || !recorded.result) throw new Error(JSON.stringify(recorded));
    const entry = recorded.result.auth[0]!;
    expect(entry.rootInvocation().function().switch()).toBe(xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeCreateContractV2HostFn());
    const { signed } = await SmartAccountPayment.signEntry(entry, Signers.ed25519(key), (await t.server.getLatestLedger()).sequence + 30, t.passphrase);
    const outcome = await send(t, relayer, Operation.invokeHostFunction({ func: create.body().invokeHostFunctionOp().hostFunction(), auth: [signed] }));
    expect(outcome.returnValue && Address.fromScVal(outcome.returnValue).toString()).toMatch(/^C/);
  });
});

describe("delegating account (CAP-71-01)", () => {
  it("pays through its delegates, nested ones included: a G key and a multisig contract account", async () => {
    // A G delegate is checked against its account entry (signers, thresholds): it must exist.
    const g = await fundedKeypair(t.devnet);
    const innerKeys = ed25519Keys(1);
    const inner = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec([bytesN(innerKeys[0]!.rawPublicKey())]), xdr.ScVal.scvU32(1)]);
    const nestedG = await fundedKeypair(t.devnet);
    const middle = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(nestedG.publicKey())])]);
    const account = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(g.publicKey()), addressVal(inner), addressVal(middle)])]);
    await fundContract(t, account, 20n * UNIT);
    const payTo = await fundedKeypair(t.devnet, { usdc: 1n });
    const sign = Signers.delegates([
      Signers.accountDelegate(g),
      { address: inner, sign: Signers.ed25519Multisig(innerKeys).sign },
      { address: middle, sign: async () => xdr.ScVal.scvVoid(), nested: [Signers.accountDelegate(nestedG)] },
    ]);
    const payment = await buyerPayment(t, { account, payTo: payTo.publicKey(), amount: 5n * UNIT, sign });
    expect(payment.authEntry.credentials().switch()).toBe(T.sorobanCredentialsAddressWithDelegates());
    // Every delegate contract's instance was read by its own __check_auth.
    for (const c of [account, inner, middle]) expect(footprintHas(payment.transactionData, contractDataOf(c, xdr.ScValType.scvLedgerKeyContractInstance()))).toBe(true);
    await payAndCheck("delegating (G + C multisig + nested delegating)", account, payment, 5n * UNIT, payTo);
  });
});

describe("the account's work is priced", () => {
  it("each contract account needs more instructions and a higher fee than a G payer", () => {
    const baseline = measured.get("G account (baseline)");
    expect(baseline).toBeDefined();
    for (const [label, m] of measured) {
      if (label === "G account (baseline)") continue;
      expect(m.instructions, label).toBeGreaterThan(baseline!.instructions);
      expect(m.feeCharged, label).toBeGreaterThan(baseline!.feeCharged);
    }
    // A secp256r1 check costs eight ed25519 checks.
    expect(measured.get("passkey (secp256r1 WebAuthn)")!.instructions).toBeGreaterThan(measured.get("ed25519 multisig 2-of-3")!.instructions);
  });
});

function builder(kp: Keypair) {
  return builderFor(t, kp.publicKey());
}
