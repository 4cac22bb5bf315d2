/**
 * The refusal matrix for contract-account (C…) payers, as the network reports it: a failed
 * `__check_auth` — a contract error of the account's own, a crypto trap, a host refusal of a
 * delegate — reaches the caller of require_auth as Error(Auth, InvalidAction) (soroban-env-host
 * converts every recoverable error of the account check), from enforcing simulation and on chain
 * (invokeHostFunctionTrapped, fee taken, nothing moved, no nonce spent); expiry and a spent nonce
 * are the host's own checks after the account's (Error(Auth, InvalidInput) / ExistingValue). And
 * the malicious account whose `__check_auth` moves value too.
 */
import { randomBytes } from "node:crypto";
import { Address, Asset, Keypair, Operation, rpc, Transaction, xdr } from "@stellar/stellar-sdk";
import { SmartAccountPayment, Signers, WebAuthnAssertion, type AccountSigner } from "@quay/x402-buyer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderFor, fundedKeypair, opResultCodes, startTestDevnet, usdcBalance, USDC, xlmBalance, type TestDevnet } from "./helpers";
import {
  addressVal,
  buyerPayment,
  bytesN,
  deployAccount,
  ed25519Keys,
  fundContract,
  i128,
  newPasskey,
  predictAddress,
  sacBalance,
  settle,
  UNIT,
  validUntil,
  type Passkey,
} from "./smart-account-fixtures";

let t: TestDevnet;
beforeAll(async () => {
  t = await startTestDevnet();
});
afterAll(async () => {
  await t?.close();
});

/** The enforcing simulation's error string; throws if the payment was built. */
async function refusal(build: Promise<SmartAccountPayment.Payment>): Promise<string> {
  try {
    await build;
  } catch (error) {
    if (error instanceof SmartAccountPayment.SimulationError && error.stage === "enforcing") return error.error;
    throw error;
  }
  throw new Error("the payment was accepted");
}

const INVALID_ACTION = /^HostError: Error\(Auth, InvalidAction\)/;

function expectTrapped(outcome: rpc.Api.GetTransactionResponse): void {
  expect(outcome.status).toBe("FAILED");
  if (outcome.status !== rpc.Api.GetTransactionStatus.FAILED) return;
  expect(opResultCodes(outcome.resultXdr)).toEqual(["invokeHostFunctionTrapped"]);
  expect(BigInt(outcome.resultXdr.feeCharged().toString())).toBeGreaterThan(0n);
}

/** Re-signs a valid payment's entry (same nonce, so its footprint fits) with another signer. */
async function resigned(valid: SmartAccountPayment.Payment, signer: AccountSigner, expiration: number): Promise<xdr.SorobanAuthorizationEntry> {
  return (await SmartAccountPayment.signEntry(valid.authEntry, signer, expiration, t.passphrase)).signed;
}

function expirationOf(entry: xdr.SorobanAuthorizationEntry): number {
  const c = entry.credentials();
  const T = xdr.SorobanCredentialsType;
  if (c.switch() === T.sorobanCredentialsAddressWithDelegates()) return c.addressWithDelegates().addressCredentials().signatureExpirationLedger();
  return (c.switch() === T.sorobanCredentialsAddressV2() ? c.addressV2() : c.address()).signatureExpirationLedger();
}

interface Funded {
  readonly account: string;
  readonly payTo: Keypair;
  readonly relayer: Keypair;
}

async function funded(account: string, usdc = 20n * UNIT): Promise<Funded> {
  await fundContract(t, account, usdc);
  return { account, payTo: await fundedKeypair(t.devnet, { usdc: 1n }), relayer: await fundedKeypair(t.devnet) };
}

async function expectUnmoved(f: Funded, usdc = 20n * UNIT): Promise<void> {
  expect(await sacBalance(t, f.account)).toBe(usdc);
  expect(await usdcBalance(t.server, f.payTo.publicKey())).toBe(1n);
}

describe("ed25519 multisig (2 of 3)", () => {
  async function multisig(): Promise<{ keys: Keypair[]; f: Funded }> {
    const keys = ed25519Keys(3);
    const account = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
    return { keys, f: await funded(account) };
  }

  it("a wrong signer: the account's UnknownSigner (#4) as Error(Auth, InvalidAction), in simulation and on chain", async () => {
    const { keys, f } = await multisig();
    const outsider = Keypair.random();
    const wrong = Signers.ed25519Multisig([keys[0]!, outsider]);
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: wrong }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/Error\(Contract, #4\)/);

    const valid = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: Signers.ed25519Multisig(keys.slice(0, 2)) });
    expectTrapped(await settle(t, valid.transaction, f.relayer, [await resigned(valid, wrong, expirationOf(valid.authEntry))]));
    await expectUnmoved(f);
    // The failed attempt spent no nonce: the untouched payment still lands.
    expect((await settle(t, valid.transaction, f.relayer)).status).toBe("SUCCESS");
    expect(await sacBalance(t, f.account)).toBe(19n * UNIT);
  });

  it("below the threshold: NotEnoughSigners (#1)", async () => {
    const { keys, f } = await multisig();
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: Signers.ed25519Multisig([keys[1]!]) }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/Error\(Contract, #1\)/);
    await expectUnmoved(f);
  });

  it("a signature over another payload: the host's ed25519 check traps (Error(Crypto, InvalidInput) inside)", async () => {
    const { keys, f } = await multisig();
    const inner = Signers.ed25519Multisig(keys.slice(0, 2));
    const otherPayload: AccountSigner = { credentials: "address", sign: (payload) => inner.sign(Buffer.from(payload).reverse()) };
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: otherPayload }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/Error\(Crypto, InvalidInput\)/);
  });

  it("a V1 signature relabelled V2: the address-bound payload differs, refused", async () => {
    const { keys, f } = await multisig();
    const v1 = Signers.ed25519Multisig(keys.slice(0, 2));
    const relabelled: AccountSigner = { credentials: "addressV2", sign: v1.sign };
    const valid = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: v1 });
    const v1Entry = valid.authEntry;
    const asV2 = new xdr.SorobanAuthorizationEntry({
      credentials: xdr.SorobanCredentials.sorobanCredentialsAddressV2(v1Entry.credentials().address()),
      rootInvocation: v1Entry.rootInvocation(),
    });
    expectTrapped(await settle(t, valid.transaction, f.relayer, [asV2]));
    await expectUnmoved(f);
    // Signed as V2 from the start, it pays.
    const v2 = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: relabelled });
    expect(v2.authEntry.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsAddressV2());
    expect((await settle(t, v2.transaction, f.relayer)).status).toBe("SUCCESS");
  });

  it("a replayed authorization: the nonce is spent (Error(Auth, ExistingValue)); landed again it traps, the amount moved once", async () => {
    const { keys, f } = await multisig();
    const payment = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: 2n * UNIT, sign: Signers.ed25519Multisig(keys.slice(1)) });
    expect((await settle(t, payment.transaction, f.relayer)).status).toBe("SUCCESS");
    const again = await t.server.simulateTransaction(new Transaction(payment.transaction, t.passphrase));
    expect(rpc.Api.isSimulationError(again) && again.error).toMatch(/^HostError: Error\(Auth, ExistingValue\)/);
    expectTrapped(await settle(t, payment.transaction, f.relayer));
    expect(await sacBalance(t, f.account)).toBe(18n * UNIT);
    expect(await usdcBalance(t.server, f.payTo.publicKey())).toBe(1n + 2n * UNIT);
  });

  it("an expired signature: the host's own check after the account's, Error(Auth, InvalidInput); too slow a relayer traps on chain", async () => {
    const { keys, f } = await multisig();
    const sign = Signers.ed25519Multisig(keys.slice(0, 2));
    const latest = (await t.server.getLatestLedger()).sequence;
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign, validUntilLedger: latest - 1 }));
    expect(error).toMatch(/^HostError: Error\(Auth, InvalidInput\)/);
    expect(error).toMatch(/signature has expired/);

    const soon = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign, validUntilLedger: (await t.server.getLatestLedger()).sequence + 2 });
    await waitForLedger(expirationOf(soon.authEntry) + 1);
    expectTrapped(await settle(t, soon.transaction, f.relayer));
    await expectUnmoved(f);
  });
});

describe("passkey (WebAuthn)", () => {
  async function passkeyAccount(): Promise<{ passkey: Passkey; f: Funded; sign: AccountSigner }> {
    const passkey = newPasskey();
    const account = await deployAccount(t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
    const sign = Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId });
    return { passkey, f: await funded(account), sign };
  }

  /** A signer that builds the assertion itself, so a test can bend one part of it. */
  function assertion(passkey: Passkey, bend: (payload: Buffer) => { challenge: Buffer; signature?: (a: WebAuthnAssertion.Assertion) => Buffer; id?: Buffer }): AccountSigner {
    return {
      credentials: "address",
      sign: async (payload) => {
        const b = bend(payload);
        const a = WebAuthnAssertion.create(passkey.privateKey, b.challenge, { rpId: "pay.example", origin: "https://pay.example" });
        return xdr.ScVal.scvMap(
          [
            ["authenticator_data", xdr.ScVal.scvBytes(a.authenticatorData)],
            ["client_data_json", xdr.ScVal.scvBytes(a.clientDataJson)],
            ["id", xdr.ScVal.scvBytes(b.id ?? passkey.credentialId)],
            ["signature", xdr.ScVal.scvBytes(b.signature ? b.signature(a) : a.signature)],
          ].map(([k, v]) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(k as string), val: v as xdr.ScVal })),
        );
      },
    };
  }

  it("an assertion over another challenge: ClientDataJsonChallengeIncorrect (#4), in simulation and on chain", async () => {
    const { passkey, f, sign } = await passkeyAccount();
    const other = assertion(passkey, (payload) => ({ challenge: Buffer.from(payload).reverse() }));
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: other }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/Error\(Contract, #4\)/);
    const valid = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign });
    expectTrapped(await settle(t, valid.transaction, f.relayer, [await resigned(valid, other, expirationOf(valid.authEntry))]));
    await expectUnmoved(f);
  });

  it("a high-s signature is refused by the host (Soroban takes low-s only); DER is not BytesN<64>; an unknown credential id is NotFound (#1)", async () => {
    const { passkey, f } = await passkeyAccount();
    const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const highS = assertion(passkey, (payload) => ({
      challenge: payload,
      signature: (a) => Buffer.concat([a.signature.subarray(0, 32), Buffer.from((order - BigInt(`0x${a.signature.subarray(32).toString("hex")}`)).toString(16).padStart(64, "0"), "hex")]),
    }));
    const high = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: highS }));
    expect(high).toMatch(INVALID_ACTION);
    expect(high).toMatch(/not normalized to low form/);

    const der = assertion(passkey, (payload) => ({ challenge: payload, signature: (a) => Buffer.concat([Buffer.from([0x30, 0x44]), a.signature, Buffer.alloc(6)]) }));
    expect(await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: der }))).toMatch(/Error\(Value, UnexpectedSize\)/);

    const unknown = assertion(passkey, (payload) => ({ challenge: payload, id: Buffer.from("not-a-credential") }));
    expect(await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: unknown }))).toMatch(/Error\(Contract, #1\)/);
    await expectUnmoved(f);
  });
});

describe("resources from the recording simulation alone", () => {
  it("miss the account's own work: a passkey payment assembled from them fails at apply (its signer entry is outside the footprint)", async () => {
    const passkey = newPasskey();
    const account = await deployAccount(t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
    const f = await funded(account);
    const sign = Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId });
    const proper = await buyerPayment(t, { account, payTo: f.payTo.publicKey(), amount: UNIT, sign });
    const draft = new Transaction(proper.transaction, t.passphrase);
    const recordingEnvelope = xdr.TransactionEnvelope.fromXDR(draft.toEnvelope().toXDR());
    recordingEnvelope.v1().tx().operations()[0]!.body().invokeHostFunctionOp().auth([]);
    const recording = await t.server.simulateTransaction(new Transaction(recordingEnvelope, t.passphrase));
    if (!rpc.Api.isSimulationSuccess(recording)) throw new Error(JSON.stringify(recording));
    expect(BigInt(recording.minResourceFee)).toBeLessThan(proper.minResourceFee);
    expect(recording.transactionData.build().resources().instructions()).toBeLessThan(proper.transactionData.resources().instructions());
    // The signed entry with the recording's resources (what a one-simulation client would send).
    const cheap = rpc.assembleTransaction(draft, recording).build();
    const outcome = await settle(t, cheap.toXDR(), f.relayer);
    expect(outcome.status).toBe("FAILED");
    // The devnet meets the footprint first (trapped); the real host may run out of the declared
    // instructions first (instantiating the account's Wasm): either way the payment fails, fee taken.
    if (outcome.status === rpc.Api.GetTransactionStatus.FAILED) {
      expect(["invokeHostFunctionTrapped", "invokeHostFunctionResourceLimitExceeded"]).toContain(opResultCodes(outcome.resultXdr)[0]);
      expect(BigInt(outcome.resultXdr.feeCharged().toString())).toBeGreaterThan(0n);
    }
    await expectUnmoved(f);
  });
});

describe("spending policy (limit 10 USDC per 12 ledgers)", () => {
  it("over the limit is refused (#2221), also when the race is lost at apply; allowed again once the period has passed", async () => {
    const key = Keypair.random();
    const account = await deployAccount(t, "spendingPolicy", [bytesN(key.rawPublicKey()), addressVal(USDC.contractId(t.passphrase)), i128(10n * UNIT), xdr.ScVal.scvU32(12)]);
    const f = await funded(account, 30n * UNIT);
    const sign = Signers.ed25519(key);
    const expiry = async () => (await t.server.getLatestLedger()).sequence + 200;
    const build = async (amount: bigint) => buyerPayment(t, { account, payTo: f.payTo.publicKey(), amount, sign, validUntilLedger: await expiry() });

    // Both simulate fine on their own: each is within the limit.
    const first = await build(6n * UNIT);
    const second = await build(6n * UNIT);
    const landed = await settle(t, first.transaction, f.relayer);
    expect(landed.status).toBe("SUCCESS");
    const spentAt = landed.status === rpc.Api.GetTransactionStatus.SUCCESS ? landed.ledger : 0;

    // Now the second is over: refused by simulation, and trapped at apply where the policy runs again.
    const error = await refusal(build(6n * UNIT));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/Error\(Contract, #2221\)/);
    expectTrapped(await settle(t, second.transaction, f.relayer));
    expect(await sacBalance(t, account)).toBe(24n * UNIT);

    // Within the window 4 more still pass (6 + 4 = 10).
    expect((await settle(t, (await build(4n * UNIT)).transaction, f.relayer)).status).toBe("SUCCESS");
    // Once the first spend has left the window, 6 more pass.
    await waitForLedger(spentAt + 12);
    const later = await settle(t, (await build(6n * UNIT)).transaction, f.relayer);
    expect(later.status).toBe("SUCCESS");
    expect(await sacBalance(t, account)).toBe(14n * UNIT);
  });
});

describe("delegating account (CAP-71-01): two G delegates, the second with a nested contract delegate", () => {
  async function delegating(): Promise<{ g1: Keypair; g2: Keypair; f: Funded }> {
    const g1 = await fundedKeypair(t.devnet);
    const g2 = await fundedKeypair(t.devnet);
    const account = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(g1.publicKey()), addressVal(g2.publicKey())])]);
    return { g1, g2, f: await funded(account) };
  }

  it("a missing delegate: the host finds no signature for it (Error(Auth, InvalidInput) inside), in simulation and on chain", async () => {
    const { g1, g2, f } = await delegating();
    const missing = Signers.delegates([Signers.accountDelegate(g1)]);
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: missing }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/has not provided a signature/);

    const valid = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT, sign: Signers.delegates([Signers.accountDelegate(g1), Signers.accountDelegate(g2)]) });
    expectTrapped(await settle(t, valid.transaction, f.relayer, [await resigned(valid, missing, expirationOf(valid.authEntry))]));
    await expectUnmoved(f);
  });

  it("plain credentials (no delegate tree), a delegate the account does not know, a delegate's bad signature", async () => {
    const { g1, g2, f } = await delegating();
    const base = { account: f.account, payTo: f.payTo.publicKey(), amount: UNIT };
    const plain: AccountSigner = { credentials: "addressV2", sign: async () => xdr.ScVal.scvVoid() };
    expect(await refusal(buyerPayment(t, { ...base, sign: plain }))).toMatch(/no delegated signers were provided/);

    const stranger = await fundedKeypair(t.devnet);
    const extra = Signers.delegates([Signers.accountDelegate(g1), Signers.accountDelegate(g2), Signers.accountDelegate(stranger)]);
    expect(await refusal(buyerPayment(t, { ...base, sign: extra }))).toMatch(/Error\(Contract, #2\)/);

    const forged = Signers.delegates([Signers.accountDelegate(g1), { address: g2.publicKey(), sign: Signers.accountDelegate(stranger).sign }]);
    expect(await refusal(buyerPayment(t, { ...base, sign: forged }))).toMatch(INVALID_ACTION);
    await expectUnmoved(f);
  });

  it("a delegate cycle (A delegates to B, B to A): the host refuses the re-entry into A", async () => {
    const deployer = await fundedKeypair(t.devnet);
    const [saltA, saltB] = [randomBytes(32), randomBytes(32)];
    const [a, b] = [predictAddress(t, deployer, saltA), predictAddress(t, deployer, saltB)];
    expect(await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(b)])], { deployer, salt: saltA })).toBe(a);
    expect(await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(a)])], { deployer, salt: saltB })).toBe(b);
    const f = await funded(a);
    const voidSig = async (): Promise<xdr.ScVal> => xdr.ScVal.scvVoid();
    const cycle = Signers.delegates([{ address: b, sign: voidSig, nested: [{ address: a, sign: voidSig }] }]);
    const error = await refusal(buyerPayment(t, { account: a, payTo: f.payTo.publicKey(), amount: UNIT, sign: cycle }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/re-entry is not allowed/);
    await expectUnmoved(f);
  });

  it("a missing nested delegate is refused as well", async () => {
    const inner = await fundedKeypair(t.devnet);
    const middle = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(inner.publicKey())])]);
    const g = await fundedKeypair(t.devnet);
    const account = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(g.publicKey()), addressVal(middle)])]);
    const f = await funded(account);
    const voidSig = async (): Promise<xdr.ScVal> => xdr.ScVal.scvVoid();
    const withoutNested = Signers.delegates([Signers.accountDelegate(g), { address: middle, sign: voidSig }]);
    expect(await refusal(buyerPayment(t, { account, payTo: f.payTo.publicKey(), amount: UNIT, sign: withoutNested }))).toMatch(/has not provided a signature/);
    const complete = Signers.delegates([Signers.accountDelegate(g), { address: middle, sign: voidSig, nested: [Signers.accountDelegate(inner)] }]);
    expect((await settle(t, (await buyerPayment(t, { account, payTo: f.payTo.publicKey(), amount: UNIT, sign: complete })).transaction, f.relayer)).status).toBe("SUCCESS");
  });
});

describe("a malicious account whose __check_auth also moves value", () => {
  /** A skimming account: `from` undefined is the account itself (a void constructor argument). */
  async function skimming(token: Asset, skim: bigint, from?: string): Promise<{ key: Keypair; f: Funded; sink: Keypair }> {
    const key = Keypair.random();
    const sink = await fundedKeypair(t.devnet);
    const account = await deployAccount(t, "skimming", [
      bytesN(key.rawPublicKey()),
      addressVal(token.contractId(t.passphrase)),
      from ? addressVal(from) : xdr.ScVal.scvVoid(),
      addressVal(sink.publicKey()),
      i128(skim),
    ]);
    const f = await funded(account);
    await fundContract(t, account, 50n * UNIT, Asset.native());
    return { key, f, sink };
  }

  const transfersIn = (events: xdr.DiagnosticEvent[]): xdr.ContractEvent[] =>
    events.map((d) => d.event()).filter((e) => e.type() === xdr.ContractEventType.contract() && e.body().v0().topics()[0]?.sym().toString() === "transfer");

  it("skimming its own XLM: authorized by the invoker rule; only the enforcing simulation shows the second transfer, and on chain both land", async () => {
    const { key, f, sink } = await skimming(Asset.native(), 7n * UNIT);
    const payment = await buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: 2n * UNIT, sign: Signers.ed25519(key) });

    // Recording (what a buyer or facilitator sees without the signature): one transfer.
    const unsigned = new Transaction(payment.transaction, t.passphrase);
    const recordingTx = xdr.TransactionEnvelope.fromXDR(unsigned.toEnvelope().toXDR());
    recordingTx.v1().tx().operations()[0]!.body().invokeHostFunctionOp().auth([]);
    const recording = await t.server.simulateTransaction(new Transaction(recordingTx, t.passphrase));
    if (!rpc.Api.isSimulationSuccess(recording)) throw new Error(JSON.stringify(recording));
    expect(transfersIn(recording.events)).toHaveLength(1);
    // Enforcing (the signed payment, as a facilitator's verify simulates it): two transfers.
    const enforcing = await t.server.simulateTransaction(unsigned);
    if (!rpc.Api.isSimulationSuccess(enforcing)) throw new Error(JSON.stringify(enforcing));
    const seen = transfersIn(enforcing.events);
    expect(seen).toHaveLength(2);
    expect(seen.map((e) => Address.contract(e.contractId() as unknown as Buffer).toString()).sort()).toEqual(
      [USDC.contractId(t.passphrase), Asset.native().contractId(t.passphrase)].sort(),
    );

    const sinkBefore = await xlmBalance(t.server, sink.publicKey());
    expect((await settle(t, payment.transaction, f.relayer)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, f.payTo.publicKey())).toBe(1n + 2n * UNIT);
    expect(await xlmBalance(t.server, sink.publicKey())).toBe(sinkBefore + 7n * UNIT);
    expect(await sacBalance(t, f.account, Asset.native())).toBe(43n * UNIT);
  });

  it("skimming the token being paid with: the token's transfer is on the stack, so the call is re-entry — refused", async () => {
    const { key, f } = await skimming(USDC, UNIT);
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: 2n * UNIT, sign: Signers.ed25519(key) }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(/re-entry is not allowed/);
    await expectUnmoved(f);
  });

  it("skimming the relayer's XLM: it needs the relayer's own authorization, which no entry gives — even with the relayer as source", async () => {
    const relayer = await fundedKeypair(t.devnet);
    const { key, f } = await skimming(Asset.native(), UNIT, relayer.publicKey());
    const error = await refusal(buyerPayment(t, { account: f.account, payTo: f.payTo.publicKey(), amount: 2n * UNIT, sign: Signers.ed25519(key) }));
    expect(error).toMatch(INVALID_ACTION);
    expect(error).toMatch(new RegExp(`unauthorized function call for address ${relayer.publicKey()}`));
    // Simulated as the relayer would send it (its own transaction, so it is the source account), the same:
    // the transaction source authorizes only what a source-account entry names.
    const transfer = Operation.invokeContractFunction({
      contract: USDC.contractId(t.passphrase),
      function: "transfer",
      args: [addressVal(f.account), addressVal(f.payTo.publicKey()), i128(2n * UNIT)],
    });
    const recorded = await t.server.simulateTransaction((await builderFor(t, relayer.publicKey())).addOperation(transfer).setTimeout(60).build());
    if (!rpc.Api.isSimulationSuccess(recorded) || !recorded.result) throw new Error(JSON.stringify(recorded));
    const { signed } = await SmartAccountPayment.signEntry(recorded.result.auth[0]!, Signers.ed25519(key), await validUntil(t), t.passphrase);
    const signedOp = Operation.invokeHostFunction({ func: transfer.body().invokeHostFunctionOp().hostFunction(), auth: [signed] });
    const asRelayer = await t.server.simulateTransaction((await builderFor(t, relayer.publicKey())).addOperation(signedOp).setTimeout(60).build());
    expect(rpc.Api.isSimulationError(asRelayer) && asRelayer.error).toMatch(INVALID_ACTION);
    await expectUnmoved(f);
    expect(await xlmBalance(t.server, relayer.publicKey())).toBe(10_000n * UNIT);
  });
});

async function waitForLedger(sequence: number): Promise<void> {
  for (;;) {
    if ((await t.server.getLatestLedger()).sequence >= sequence) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

