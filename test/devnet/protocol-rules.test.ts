/**
 * Protocol-dependent rules of the devnet, through the real @stellar/stellar-sdk 16: the protocol
 * it reports, the memo/muxed-source refusal of Soroban invocations, and CAP-77 frozen keys with
 * their result code -18 (txFROZEN_KEY_ACCESSED).
 */
import { Address, Asset, Keypair, Memo, MuxedAccount, nativeToScVal, Operation, rpc, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DevnetConfigError, resolveConfig } from "../../apps/devnet/src/index";
import { builderFor, clearFaults, fundedKeypair, getFaults, setFaults, startTestDevnet, submitAndWait, txResultCode, usdcBalance, USDC } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;

function transfer(t: TestDevnet, from: string, to: string, amount: bigint): xdr.Operation {
  return Operation.invokeContractFunction({
    contract: USDC.contractId(t.passphrase),
    function: "transfer",
    args: [Address.fromString(from).toScVal(), Address.fromString(to).toScVal(), nativeToScVal(amount, { type: "i128" })],
  });
}

const selfPayment = (kp: Keypair): xdr.Operation => Operation.payment({ destination: kp.publicKey(), asset: Asset.native(), amount: "1" });

/**
 * `op` as simulated for `source` without memo or muxing: its resources, and the op carrying the
 * recorded auth (the payer is the source, so a source-account entry needs no signature).
 */
async function simulated(t: TestDevnet, source: Keypair, op: xdr.Operation): Promise<{ sim: rpc.Api.SimulateTransactionSuccessResponse; op: xdr.Operation }> {
  const sim = await t.server.simulateTransaction((await builderFor(t, source.publicKey())).addOperation(op).setTimeout(60).build());
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
  return { sim, op: withAuth(op, sim) };
}

function withAuth(op: xdr.Operation, sim: rpc.Api.SimulateTransactionSuccessResponse, source?: string): xdr.Operation {
  return Operation.invokeHostFunction({ func: op.body().invokeHostFunctionOp().hostFunction(), auth: sim.result?.auth ?? [], ...(source ? { source } : {}) });
}

describe("the protocol the devnet speaks", () => {
  it("takes protocolVersion 23..28 and refuses others", () => {
    expect(resolveConfig().protocolVersion).toBe(28);
    expect(resolveConfig({ protocolVersion: 23 }).protocolVersion).toBe(23);
    expect(() => resolveConfig({ protocolVersion: 22 })).toThrow(DevnetConfigError);
    expect(() => resolveConfig({ protocolVersion: 29 })).toThrow(DevnetConfigError);
  });

  it("a devnet started at protocol 23 reports 23 in getNetwork, getVersionInfo, getLatestLedger and every ledger header", async () => {
    const t = await startTestDevnet({ protocolVersion: 23 });
    try {
      expect(Number((await t.server.getNetwork()).protocolVersion)).toBe(23);
      expect((await t.server.getVersionInfo()).protocolVersion).toBe(23);
      const latest = await t.server.getLatestLedger();
      expect(Number(latest.protocolVersion)).toBe(23);
      expect(latest.headerXdr.ledgerVersion()).toBe(23);
      const ledgers = await t.server.getLedgers({ startLedger: 1, pagination: { limit: 2 } });
      for (const l of ledgers.ledgers) expect(l.headerXdr.header().ledgerVersion()).toBe(23);
      expect(ledgers.ledgers[0]!.metadataXdr.v2().ledgerHeader().header().ledgerVersion()).toBe(23);
    } finally {
      await t.close();
    }
  });
});

describe("memo and muxed sources on a Soroban invocation (protocol 28)", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet();
  });
  afterAll(async () => {
    await t.close();
  });

  it("simulation refuses a memo with stellar-rpc's words; sendTransaction refuses it as txSOROBAN_INVALID", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const op = transfer(t, payer.publicKey(), payee.publicKey(), XLM);
    const withMemo = (await builderFor(t, payer.publicKey())).addOperation(op).addMemo(Memo.text("order 42")).setTimeout(60).build();
    const refused = await t.server.simulateTransaction(withMemo);
    expect(rpc.Api.isSimulationError(refused) && refused.error).toBe("Transaction contains a memo. Soroban transactions do not support memos.");

    const { sim, op: authed } = await simulated(t, payer, op);
    const account = await t.server.getAccount(payer.publicKey());
    const fee = (BigInt(sim.minResourceFee) + 1_000n).toString();
    const tx = new TransactionBuilder(account, { fee, networkPassphrase: t.passphrase, sorobanData: sim.transactionData.build(), memo: Memo.text("order 42") })
      .addOperation(authed)
      .setTimeout(60)
      .build();
    tx.sign(payer);
    const sent = await t.server.sendTransaction(tx);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txSorobanInvalid");

    // The same transaction without the memo lands (the refusal spent no sequence number).
    const plain = new TransactionBuilder(await t.server.getAccount(payer.publicKey()), { fee, networkPassphrase: t.passphrase, sorobanData: sim.transactionData.build() }).addOperation(authed).setTimeout(60).build();
    plain.sign(payer);
    expect((await submitAndWait(t.server, plain)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n + XLM);
  });

  it("a muxed transaction source or operation source is txSOROBAN_INVALID at send", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const op = transfer(t, payer.publicKey(), payee.publicKey(), XLM);
    const { sim, op: authed } = await simulated(t, payer, op);
    const fee = (BigInt(sim.minResourceFee) + 1_000n).toString();
    const account = await t.server.getAccount(payer.publicKey());
    const muxed = new MuxedAccount(account, "7");

    const muxedTx = new TransactionBuilder(muxed, { fee, networkPassphrase: t.passphrase, sorobanData: sim.transactionData.build() }).addOperation(authed).setTimeout(60).build();
    expect(muxedTx.source.startsWith("M")).toBe(true);
    muxedTx.sign(payer);
    const sentTx = await t.server.sendTransaction(muxedTx);
    expect(sentTx.status).toBe("ERROR");
    expect(txResultCode(sentTx.errorResult!)).toBe("txSorobanInvalid");

    const muxedOp = withAuth(op, sim, muxed.accountId());
    const opTx = new TransactionBuilder(account, { fee, networkPassphrase: t.passphrase, sorobanData: sim.transactionData.build() }).addOperation(muxedOp).setTimeout(60).build();
    opTx.sign(payer);
    const sentOp = await t.server.sendTransaction(opTx);
    expect(sentOp.status).toBe("ERROR");
    expect(txResultCode(sentOp.errorResult!)).toBe("txSorobanInvalid");
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n);
  });

  it("classic transactions keep their memo and muxed sources", async () => {
    const a = await fundedKeypair(t.devnet);
    const muxed = new MuxedAccount(await t.server.getAccount(a.publicKey()), "9");
    const tx = new TransactionBuilder(muxed, { fee: "100", networkPassphrase: t.passphrase })
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .addMemo(Memo.id("5"))
      .setTimeout(60)
      .build();
    tx.sign(a);
    expect((await submitAndWait(t.server, tx)).status).toBe("SUCCESS");
  });
});

describe("CAP-77 frozen keys and txFROZEN_KEY_ACCESSED (-18)", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet();
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    await clearFaults(t.devnet);
  });

  it("the sendTransaction fault answers with -18, which SDK 16 decodes", async () => {
    const a = await fundedKeypair(t.devnet);
    await setFaults(t.devnet, { sendTransaction: { status: "ERROR", code: "txFrozenKeyAccessed" } });
    const tx = (await builderFor(t, a.publicKey())).addOperation(selfPayment(a)).setTimeout(60).build();
    tx.sign(a);
    const sent = await t.server.sendTransaction(tx);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txFrozenKeyAccessed");
    expect(sent.errorResult!.result().switch().value).toBe(-18);
  });

  it("a frozen source account or a frozen key in a Soroban footprint refuses the transaction at send; unfrozen it lands", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n * XLM });
    const payee = await fundedKeypair(t.devnet, { usdc: 1n });
    const op = transfer(t, payer.publicKey(), payee.publicKey(), XLM);
    const prepared = async () => {
      const tx = await t.server.prepareTransaction((await builderFor(t, payer.publicKey())).addOperation(op).setTimeout(60).build());
      tx.sign(payer);
      return tx;
    };

    const accountKey = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(payer.publicKey()).xdrAccountId() }));
    const faults = await setFaults(t.devnet, { frozenKeys: [accountKey.toXDR("base64")] });
    expect(faults.frozenKeys).toEqual([accountKey.toXDR("base64")]);
    const bySource = await t.server.sendTransaction(await prepared());
    expect(bySource.status).toBe("ERROR");
    expect(txResultCode(bySource.errorResult!)).toBe("txFrozenKeyAccessed");

    // The payee's USDC trustline is in the transfer's read-write footprint.
    const trustline = xdr.LedgerKey.trustline(
      new xdr.LedgerKeyTrustLine({ accountId: Keypair.fromPublicKey(payee.publicKey()).xdrAccountId(), asset: USDC.toTrustLineXDRObject() }),
    );
    const tx = await prepared();
    const footprint = tx.toEnvelope().v1().tx().ext().sorobanData().resources().footprint();
    expect(footprint.readWrite().map((k) => k.toXDR("base64"))).toContain(trustline.toXDR("base64"));
    await setFaults(t.devnet, { frozenKeys: [trustline.toXDR("base64")] });
    const byFootprint = await t.server.sendTransaction(tx);
    expect(byFootprint.status).toBe("ERROR");
    expect(txResultCode(byFootprint.errorResult!)).toBe("txFrozenKeyAccessed");

    await setFaults(t.devnet, { frozenKeys: null });
    expect((await getFaults(t.devnet)).frozenKeys).toBeNull();
    expect((await submitAndWait(t.server, tx)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(1n + XLM);
  });

  it("a fee bump whose fee source is frozen is refused on its outer result", async () => {
    const inner = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, inner.publicKey())).addOperation(selfPayment(inner)).setTimeout(60).build();
    tx.sign(inner);
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "1000", tx, t.passphrase);
    bump.sign(sponsor);
    const sponsorKey = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(sponsor.publicKey()).xdrAccountId() }));
    await setFaults(t.devnet, { frozenKeys: [sponsorKey.toXDR("base64")] });
    const sent = await t.server.sendTransaction(bump);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txFrozenKeyAccessed");
  });

  it("a key frozen on a protocol-25 devnet changes nothing: CAP-77 starts at protocol 26", async () => {
    const old = await startTestDevnet({ protocolVersion: 25 });
    try {
      const a = await fundedKeypair(old.devnet);
      const key = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(a.publicKey()).xdrAccountId() }));
      await setFaults(old.devnet, { frozenKeys: [key.toXDR("base64")] });
      const tx = (await builderFor(old, a.publicKey())).addOperation(selfPayment(a)).setTimeout(60).build();
      tx.sign(a);
      expect((await submitAndWait(old.server, tx)).status).toBe("SUCCESS");
    } finally {
      await old.close();
    }
  });

  it("refuses a frozenKeys entry that is not a LedgerKey", async () => {
    await expect(setFaults(t.devnet, { frozenKeys: ["not-xdr"] })).rejects.toThrow(/frozenKeys/);
  });
});
