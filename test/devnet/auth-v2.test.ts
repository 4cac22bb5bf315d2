/**
 * CAP-71 on the devnet, through the real @stellar/stellar-sdk 16: SOROBAN_CREDENTIALS_ADDRESS_V2
 * (CAP-71-02) and ..._WITH_DELEGATES (CAP-71-01) from protocol 27, next to the V1 credentials that
 * stay valid. What the devnet refuses, it refuses as the network does: Error(Auth, …) from
 * simulation in enforce mode, invokeHostFunctionTrapped on chain (fee taken, nothing moved), and
 * txMALFORMED at send before protocol 27.
 */
import {
  Address,
  authorizeEntry,
  buildAuthorizationEntryPreimage,
  buildWithDelegatesEntry,
  hash,
  Keypair,
  nativeToScVal,
  Operation,
  rpc,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";
import type { DelegateSignature } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderFor, fundedKeypair, opResultCodes, startTestDevnet, submitAndWait, txResultCode, usdcBalance, USDC } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
const T = xdr.SorobanCredentialsType;

interface Payment {
  readonly t: TestDevnet;
  readonly payer: Keypair;
  readonly payee: Keypair;
  readonly relayer: Keypair;
  readonly amount: bigint;
  readonly op: xdr.Operation;
}

/** A funded payer, payee and relayer, and the SAC transfer payer → payee the relayer will submit. */
async function payment(t: TestDevnet, amount = 3n * XLM): Promise<Payment> {
  const payer = await fundedKeypair(t.devnet, { usdc: 20n * XLM });
  const payee = await fundedKeypair(t.devnet, { usdc: 1n });
  const relayer = await fundedKeypair(t.devnet);
  const op = Operation.invokeContractFunction({
    contract: USDC.contractId(t.passphrase),
    function: "transfer",
    args: [Address.fromString(payer.publicKey()).toScVal(), Address.fromString(payee.publicKey()).toScVal(), nativeToScVal(amount, { type: "i128" })],
  });
  return { t, payer, payee, relayer, amount, op };
}

async function draft(p: Payment, auth: xdr.SorobanAuthorizationEntry[] = []): Promise<TransactionBuilder> {
  const body = Operation.invokeHostFunction({ func: p.op.body().invokeHostFunctionOp().hostFunction(), auth });
  return (await builderFor(p.t, p.relayer.publicKey())).addOperation(body).setTimeout(60);
}

/** The payer's recorded (unsigned) entry: V1 unless `useUpgradedAuth`. */
async function recorded(p: Payment, useUpgradedAuth?: boolean): Promise<xdr.SorobanAuthorizationEntry> {
  const sim = await p.t.server.simulateTransaction((await draft(p)).build(), undefined, undefined, useUpgradedAuth);
  if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw new Error(`recording simulation failed: ${JSON.stringify(sim)}`);
  expect(sim.result.auth).toHaveLength(1);
  return sim.result.auth[0]!;
}

async function expiration(p: Payment): Promise<number> {
  return (await p.t.server.getLatestLedger()).sequence + 50;
}

/** Simulation in enforce mode (the op carries its auth): the network's error string, or undefined on success. */
async function enforceError(p: Payment, auth: xdr.SorobanAuthorizationEntry[]): Promise<string | undefined> {
  const sim = await p.t.server.simulateTransaction((await draft(p, auth)).build());
  return rpc.Api.isSimulationError(sim) ? sim.error : undefined;
}

/** Prepares (enforcing) and lands the payment with `auth`; returns the landed outcome. */
async function pay(p: Payment, auth: xdr.SorobanAuthorizationEntry[]): Promise<rpc.Api.GetTransactionResponse> {
  const tx = await p.t.server.prepareTransaction((await draft(p, auth)).build());
  tx.sign(p.relayer);
  return submitAndWait(p.t.server, tx);
}

/**
 * Sends the payment with `auth` but the resources of a valid simulation (`valid`), so the devnet
 * judges the auth on chain, where only apply checks it: sendTransaction admits the transaction.
 */
async function forceOnChain(p: Payment, valid: xdr.SorobanAuthorizationEntry[], auth: xdr.SorobanAuthorizationEntry[]): Promise<rpc.Api.GetTransactionResponse> {
  const sim = await p.t.server.simulateTransaction((await draft(p, valid)).build());
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation of the valid auth failed: ${JSON.stringify(sim)}`);
  const account = await p.t.server.getAccount(p.relayer.publicKey());
  const data = sim.transactionData.build();
  const tx = new TransactionBuilder(account, { fee: (BigInt(sim.minResourceFee) + 1_000n).toString(), networkPassphrase: p.t.passphrase, sorobanData: data })
    .addOperation(Operation.invokeHostFunction({ func: p.op.body().invokeHostFunctionOp().hostFunction(), auth }))
    .setTimeout(60)
    .build();
  tx.sign(p.relayer);
  return submitAndWait(p.t.server, tx);
}

/** The same entry with its address credentials moved to another arm of SorobanCredentials. */
function relabel(entry: xdr.SorobanAuthorizationEntry, to: "address" | "addressV2"): xdr.SorobanAuthorizationEntry {
  // A copy, so signing the relabelled entry leaves the original alone.
  const creds = xdr.SorobanCredentials.fromXDR(entry.credentials().toXDR());
  const address = creds.switch() === T.sorobanCredentialsAddressV2() ? creds.addressV2() : creds.address();
  return new xdr.SorobanAuthorizationEntry({
    credentials: to === "address" ? xdr.SorobanCredentials.sorobanCredentialsAddress(address) : xdr.SorobanCredentials.sorobanCredentialsAddressV2(address),
    rootInvocation: entry.rootInvocation(),
  });
}

/** A G account's signature value over `payload`: Vec[{public_key, signature}], as the host reads it. */
function accountSignature(signers: Keypair[], payload: Buffer): xdr.ScVal {
  const sorted = [...signers].sort((a, b) => Buffer.compare(a.rawPublicKey(), b.rawPublicKey()));
  return xdr.ScVal.scvVec(
    sorted.map((kp) =>
      xdr.ScVal.scvMap([
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol("public_key"), val: xdr.ScVal.scvBytes(kp.rawPublicKey()) }),
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol("signature"), val: xdr.ScVal.scvBytes(kp.sign(payload)) }),
      ]),
    ),
  );
}

function addressCredentials(entry: xdr.SorobanAuthorizationEntry): xdr.SorobanAddressCredentials {
  const creds = entry.credentials();
  if (creds.switch() === T.sorobanCredentialsAddressV2()) return creds.addressV2();
  if (creds.switch() === T.sorobanCredentialsAddressWithDelegates()) return creds.addressWithDelegates().addressCredentials();
  return creds.address();
}

/** sha256 of the entry's signature preimage (WITH_ADDRESS for V2 and WITH_DELEGATES), as the SDK builds it. */
function payloadOf(entry: xdr.SorobanAuthorizationEntry, validUntil: number, passphrase: string): Buffer {
  return hash(buildAuthorizationEntryPreimage(entry, validUntil, passphrase).toXDR());
}

async function expectNothingMoved(p: Payment): Promise<void> {
  expect(await usdcBalance(p.t.server, p.payer.publicKey())).toBe(20n * XLM);
  expect(await usdcBalance(p.t.server, p.payee.publicKey())).toBe(1n);
}

function expectTrapped(outcome: rpc.Api.GetTransactionResponse): void {
  expect(outcome.status).toBe("FAILED");
  if (outcome.status !== "FAILED") return;
  expect(opResultCodes(outcome.resultXdr)).toEqual(["invokeHostFunctionTrapped"]);
  expect(BigInt(outcome.resultXdr.feeCharged().toString())).toBeGreaterThan(0n);
}

describe("protocol 28 (default): V1 and V2 address credentials", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet();
  });
  afterAll(async () => {
    await t.close();
  });

  it("recording simulation returns V1 entries unless the request sets useUpgradedAuth: true", async () => {
    const p = await payment(t);
    expect((await recorded(p)).credentials().switch()).toBe(T.sorobanCredentialsAddress());
    expect((await recorded(p, false)).credentials().switch()).toBe(T.sorobanCredentialsAddress());
    const v2 = await recorded(p, true);
    expect(v2.credentials().switch()).toBe(T.sorobanCredentialsAddressV2());
    expect(Address.fromScAddress(v2.credentials().addressV2().address()).toString()).toBe(p.payer.publicKey());
    expect(v2.credentials().addressV2().signature().switch()).toBe(xdr.ScValType.scvVoid());
    // The flag is a JSON-RPC parameter of its own; a wrong type is refused as invalid params.
    const res = await fetch(t.devnet.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "simulateTransaction", params: { transaction: (await draft(p)).build().toXDR(), useUpgradedAuth: "yes" } }),
    });
    expect(((await res.json()) as { error?: { code: number } }).error?.code).toBe(-32602);
  });

  it("a V2 entry signed by authorizeEntry pays: the amount moves exactly once", async () => {
    const p = await payment(t);
    const signed = await authorizeEntry(await recorded(p, true), p.payer, await expiration(p), t.passphrase);
    expect(signed.credentials().switch()).toBe(T.sorobanCredentialsAddressV2());
    expect((await pay(p, [signed])).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, p.payer.publicKey())).toBe(20n * XLM - p.amount);
    expect(await usdcBalance(t.server, p.payee.publicKey())).toBe(1n + p.amount);
    // Its nonce is spent: the same entry again is refused, and nothing moves a second time.
    expect(await enforceError(p, [signed])).toMatch(/Error\(Auth, ExistingValue\)/);
    expect(await usdcBalance(t.server, p.payee.publicKey())).toBe(1n + p.amount);
  });

  it("V1 credentials keep working at protocol 28", async () => {
    const p = await payment(t);
    const signed = await authorizeEntry(await recorded(p), p.payer, await expiration(p), t.passphrase);
    expect(signed.credentials().switch()).toBe(T.sorobanCredentialsAddress());
    expect((await pay(p, [signed])).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, p.payee.publicKey())).toBe(1n + p.amount);
  });

  it("a V1 signature relabelled V2 is refused, in simulation and on chain", async () => {
    const p = await payment(t);
    const v1 = await authorizeEntry(await recorded(p), p.payer, await expiration(p), t.passphrase);
    const relabelled = relabel(v1, "addressV2");
    expect(await enforceError(p, [relabelled])).toMatch(/^HostError: Error\(Auth, InvalidAction\)/);
    expectTrapped(await forceOnChain(p, [v1], [relabelled]));
    await expectNothingMoved(p);
    // The untouched V1 entry is still good: the failed attempt consumed no nonce.
    expect((await pay(p, [v1])).status).toBe("SUCCESS");
  });

  it("a V2 signature relabelled V1 is refused, in simulation and on chain", async () => {
    const p = await payment(t);
    const v2 = await authorizeEntry(await recorded(p, true), p.payer, await expiration(p), t.passphrase);
    const relabelled = relabel(v2, "address");
    expect(await enforceError(p, [relabelled])).toMatch(/^HostError: Error\(Auth, InvalidAction\)/);
    expectTrapped(await forceOnChain(p, [v2], [relabelled]));
    await expectNothingMoved(p);
  });

  it("a V2 entry whose signature binds another address is refused (the replay CAP-71-02 closes)", async () => {
    const p = await payment(t);
    const entry = await recorded(p, true);
    const validUntil = await expiration(p);
    // The payer's key signs the payload of the same entry, but bound to the payee's address.
    const forOther = xdr.SorobanAuthorizationEntry.fromXDR(entry.toXDR());
    forOther.credentials().addressV2().address(Address.fromString(p.payee.publicKey()).toScAddress());
    const signature = accountSignature([p.payer], payloadOf(forOther, validUntil, t.passphrase));
    const forged = xdr.SorobanAuthorizationEntry.fromXDR(entry.toXDR());
    forged.credentials().addressV2().signatureExpirationLedger(validUntil);
    forged.credentials().addressV2().signature(signature);
    expect(await enforceError(p, [forged])).toMatch(/^HostError: Error\(Auth, InvalidAction\)/);
    const valid = await authorizeEntry(entry, p.payer, validUntil, t.passphrase);
    expectTrapped(await forceOnChain(p, [valid], [forged]));
    await expectNothingMoved(p);
  });
});

describe("protocol 28: SOROBAN_CREDENTIALS_ADDRESS_WITH_DELEGATES under a G address", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Sorted delegate addresses (by ScAddress XDR, the host's order). */
  function sortedKeys(n: number): Keypair[] {
    return Array.from({ length: n }, () => Keypair.random()).sort((a, b) =>
      Buffer.compare(Address.fromString(a.publicKey()).toScAddress().toXDR(), Address.fromString(b.publicKey()).toScAddress().toXDR()),
    );
  }

  /**
   * A WITH_DELEGATES entry for the payer: `delegates` as given (order kept), each signing the one
   * payload bound to the payer's address, the top-level signature the payer's (or void).
   */
  async function withDelegates(
    p: Payment,
    delegates: Array<{ kp: Keypair; nested?: Keypair[] }>,
    topLevel: "payer" | "void",
  ): Promise<{ entry: xdr.SorobanAuthorizationEntry; validUntil: number }> {
    const validUntil = await expiration(p);
    // The SDK's builder sorts and de-duplicates; it gives the payload every signer signs.
    const shape = buildWithDelegatesEntry({ entry: await recorded(p, true), validUntilLedgerSeq: validUntil, delegates: [] });
    const payload = payloadOf(shape, validUntil, t.passphrase);
    const node = (kp: Keypair, nested: Keypair[] = []): xdr.SorobanDelegateSignature =>
      new xdr.SorobanDelegateSignature({
        address: Address.fromString(kp.publicKey()).toScAddress(),
        signature: accountSignature([kp], payload),
        nestedDelegates: nested.map((n) => node(n)),
      });
    const creds = shape.credentials().addressWithDelegates();
    creds.addressCredentials().signature(topLevel === "payer" ? accountSignature([p.payer], payload) : xdr.ScVal.scvVoid());
    creds.delegates(delegates.map((d) => node(d.kp, d.nested)));
    return { entry: shape, validUntil };
  }

  it("sorted delegates with the payer's own top-level signature pay; the SDK's builder makes the same shape", async () => {
    const p = await payment(t);
    const [a, b, c] = sortedKeys(3);
    const { entry, validUntil } = await withDelegates(p, [{ kp: a! }, { kp: b!, nested: [c!] }], "payer");
    // buildWithDelegatesEntry + authorizeEntry (top level) reach the same signed entry.
    const delegateTree: DelegateSignature[] = [{ address: a!.publicKey() }, { address: b!.publicKey(), nestedDelegates: [{ address: c!.publicKey() }] }];
    const viaSdk = await authorizeEntry(
      buildWithDelegatesEntry({ entry: await recorded(p, true), validUntilLedgerSeq: validUntil, delegates: delegateTree }),
      p.payer,
      validUntil,
      t.passphrase,
    );
    expect(viaSdk.credentials().switch()).toBe(T.sorobanCredentialsAddressWithDelegates());
    expect(await enforceError(p, [viaSdk])).toBeUndefined();

    expect((await pay(p, [entry])).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, p.payee.publicKey())).toBe(1n + p.amount);
  });

  it("unsorted or duplicate delegates are refused before anything runs: Error(Auth, InvalidInput), trapped on chain", async () => {
    const p = await payment(t);
    const [a, b, c] = sortedKeys(3);
    const valid = await withDelegates(p, [{ kp: a! }, { kp: b! }], "payer");
    const cases = {
      unsorted: await withDelegates(p, [{ kp: b! }, { kp: a! }], "payer"),
      duplicate: await withDelegates(p, [{ kp: a! }, { kp: a! }], "payer"),
      nestedUnsorted: await withDelegates(p, [{ kp: a!, nested: [c!, b!] }], "payer"),
      nestedDuplicate: await withDelegates(p, [{ kp: a!, nested: [b!, b!] }], "payer"),
    };
    for (const [name, { entry }] of Object.entries(cases)) {
      const error = await enforceError(p, [entry]);
      expect(error, name).toMatch(/^HostError: Error\(Auth, InvalidInput\)/);
      expect(error, name).toMatch(name.endsWith("uplicate") ? /duplicate address/ : /not in sorted order/);
    }
    expectTrapped(await forceOnChain(p, [valid.entry], [cases.unsorted.entry]));
    await expectNothingMoved(p);
  });

  it("a void top-level signature is refused even when every delegate signs: a G account's check reads only its own signature", async () => {
    const p = await payment(t);
    const [a, b] = sortedKeys(2);
    const valid = await withDelegates(p, [{ kp: a! }, { kp: b! }], "payer");
    const voidTop = await withDelegates(p, [{ kp: a! }, { kp: b! }], "void");
    expect(await enforceError(p, [voidTop.entry])).toMatch(/^HostError: Error\(Auth, InvalidAction\)/);
    expectTrapped(await forceOnChain(p, [valid.entry], [voidTop.entry]));
    await expectNothingMoved(p);
  });

  it("the top-level signature must be over the address-bound payload: a V1 payload signature is refused", async () => {
    const p = await payment(t);
    const [a] = sortedKeys(1);
    const { entry, validUntil } = await withDelegates(p, [{ kp: a! }], "payer");
    const v1Payload = payloadOf(relabel(await recorded(p), "address"), validUntil, t.passphrase);
    const wrong = xdr.SorobanAuthorizationEntry.fromXDR(entry.toXDR());
    const top = wrong.credentials().addressWithDelegates().addressCredentials();
    top.nonce(addressCredentials(await recorded(p)).nonce());
    top.signature(accountSignature([p.payer], v1Payload));
    expect(await enforceError(p, [wrong])).toMatch(/^HostError: Error\(Auth, InvalidAction\)/);
  });
});

describe("protocol 26: CAP-71 credentials do not exist yet", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet({ protocolVersion: 26 });
  });
  afterAll(async () => {
    await t.close();
  });

  it("reports protocol 26, records V1 even when asked for V2, and V1 pays", async () => {
    expect(Number((await t.server.getNetwork()).protocolVersion)).toBe(26);
    const p = await payment(t);
    expect((await recorded(p, true)).credentials().switch()).toBe(T.sorobanCredentialsAddress());
    const signed = await authorizeEntry(await recorded(p), p.payer, await expiration(p), t.passphrase);
    expect((await pay(p, [signed])).status).toBe("SUCCESS");
  });

  it("a V2 or WITH_DELEGATES entry invalidates the transaction: simulation cannot read it, sendTransaction says txMALFORMED", async () => {
    const p = await payment(t);
    const validUntil = await expiration(p);
    const v1 = await authorizeEntry(await recorded(p), p.payer, validUntil, t.passphrase);
    // Signed as protocol 27 would check them.
    const v2 = relabel(v1, "addressV2");
    addressCredentials(v2).signature(accountSignature([p.payer], payloadOf(v2, validUntil, t.passphrase)));
    const delegates = buildWithDelegatesEntry({ entry: v2, validUntilLedgerSeq: validUntil, delegates: [], signature: addressCredentials(v2).signature() });

    const sim = await p.t.server.simulateTransaction((await draft(p, [v1])).build());
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error("simulation of the V1 entry failed");
    for (const entry of [v2, delegates]) {
      expect(await enforceError(p, [entry])).toBe("Could not unmarshal transaction");
      const account = await t.server.getAccount(p.relayer.publicKey());
      const tx = new TransactionBuilder(account, { fee: (BigInt(sim.minResourceFee) + 1_000n).toString(), networkPassphrase: t.passphrase, sorobanData: sim.transactionData.build() })
        .addOperation(Operation.invokeHostFunction({ func: p.op.body().invokeHostFunctionOp().hostFunction(), auth: [entry] }))
        .setTimeout(60)
        .build();
      tx.sign(p.relayer);
      const sent = await t.server.sendTransaction(tx);
      expect(sent.status).toBe("ERROR");
      expect(txResultCode(sent.errorResult!)).toBe("txMalformed");
      // Wrapped in a fee bump, the outer result is txMALFORMED as well.
      const bump = TransactionBuilder.buildFeeBumpTransaction(p.relayer, (BigInt(tx.fee) * 2n).toString(), tx, t.passphrase);
      bump.sign(p.relayer);
      const bumped = await t.server.sendTransaction(bump);
      expect(bumped.status).toBe("ERROR");
      expect(txResultCode(bumped.errorResult!)).toBe("txMalformed");
    }
    await expectNothingMoved(p);
    // The sequence number was not spent: the V1 payment still goes through.
    expect((await pay(p, [v1])).status).toBe("SUCCESS");
  });
});
