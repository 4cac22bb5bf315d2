import { Address, hash, Keypair, nativeToScVal, Operation, StrKey, xdr } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { CHANNEL_WASM, CHANNEL_WASM_HASH } from "../../apps/devnet/src/soroban";
import { Keys } from "../../apps/devnet/src/soroban/keys";
import { codeName, expectFailed, expectOk, HostFixture, invoke, keyIds, signAll, XLM } from "./soroban-fixtures";

/** Independent derivation of a deployed contract's id, for checking the host's. */
function expectedContractId(f: HostFixture, deployer: string, salt: Buffer): string {
  const preimage = xdr.HashIdPreimage.envelopeTypeContractId(
    new xdr.HashIdPreimageContractId({
      networkId: f.ledger.networkId,
      contractIdPreimage: xdr.ContractIdPreimage.contractIdPreimageFromAddress(
        new xdr.ContractIdPreimageFromAddress({ address: Address.fromString(deployer).toScAddress(), salt }),
      ),
    }),
  );
  return StrKey.encodeContract(hash(preimage.toXDR()));
}

function upload(f: HostFixture, source: string, wasm: Buffer) {
  const op = Operation.uploadContractWasm({ wasm });
  const sim = expectOk(f.simulate(op, source));
  return { sim, applied: f.apply(op, source, sim.transactionData) };
}

function channelArgs(f: HostFixture, funder: string, recipient: string, amount: bigint): xdr.ScVal[] {
  return [
    Address.fromString(f.genesis.usdcSac).toScVal(),
    Address.fromString(funder).toScVal(),
    xdr.ScVal.scvBytes(Keypair.random().rawPublicKey()),
    Address.fromString(recipient).toScVal(),
    nativeToScVal(amount, { type: "i128" }),
    xdr.ScVal.scvU32(100),
  ];
}

describe("Soroban host: Wasm upload and contract creation", () => {
  it("stores uploaded code under its sha256 with the minimum persistent TTL and returns the hash", () => {
    const f = new HostFixture();
    const funder = f.newHolder().publicKey();
    const { sim, applied } = upload(f, funder, CHANNEL_WASM);
    expect(Buffer.from(sim.returnValue!.bytes()).equals(CHANNEL_WASM_HASH)).toBe(true);
    expect(CHANNEL_WASM_HASH.equals(hash(CHANNEL_WASM))).toBe(true);
    expect(keyIds(sim.transactionData.resources().footprint().readWrite())).toEqual(keyIds([Keys.code(CHANNEL_WASM_HASH)]));
    expectOk(applied);
    const stored = f.state.get(Keys.code(CHANNEL_WASM_HASH));
    expect(stored?.liveUntilLedgerSeq).toBe(f.sequence + f.ledger.minPersistentTtl - 1);
    expect(Buffer.from(stored!.entry.data().contractCode().code()).equals(CHANNEL_WASM)).toBe(true);
    expect(codeName(expectFailed(f.simulate(Operation.uploadContractWasm({ wasm: Buffer.from("not wasm at all") }), funder)))).toBe("invokeHostFunctionTrapped");
  });

  it("deploys the channel with constructor args at the address derived from deployer + salt, nesting the deposit auth", async () => {
    const f = new HostFixture();
    const funder = f.newHolder(100n * XLM);
    const recipient = f.newHolder().publicKey();
    upload(f, funder.publicKey(), CHANNEL_WASM);
    const salt = Buffer.alloc(32, 7);
    const op = Operation.createCustomContract({
      address: Address.fromString(funder.publicKey()),
      wasmHash: CHANNEL_WASM_HASH,
      salt,
      constructorArgs: channelArgs(f, funder.publicKey(), recipient, 10n * XLM),
    });
    const sim = expectOk(f.simulate(op, funder.publicKey()));
    const channel = expectedContractId(f, funder.publicKey(), salt);
    expect(Address.fromScVal(sim.returnValue!).toString()).toBe(channel);

    // One source-account entry: create → __constructor → token transfer.
    expect(sim.auth).toHaveLength(1);
    const root = sim.auth[0]!.rootInvocation();
    expect(sim.auth[0]!.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount());
    expect(root.function().switch()).toBe(xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeCreateContractV2HostFn());
    const ctor = root.subInvocations()[0]!;
    expect(ctor.function().contractFn().functionName().toString()).toBe("__constructor");
    expect(ctor.subInvocations()[0]!.function().contractFn().functionName().toString()).toBe("transfer");

    const opWithAuth = Operation.invokeHostFunction({ func: op.body().invokeHostFunctionOp().hostFunction(), auth: sim.auth });
    expectOk(f.apply(opWithAuth, funder.publicKey(), sim.transactionData));
    expect(f.state.get(Keys.instance(channel))?.liveUntilLedgerSeq).toBe(f.sequence + f.ledger.minPersistentTtl - 1);
    expect(f.usdcBalance(funder.publicKey())).toBe(90n * XLM);

    // Same deployer and salt again: the contract exists.
    const again = expectFailed(f.simulate(op, funder.publicKey()));
    expect(again.error).toContain("Error(Storage, ExistingValue)");
  });

  it("deployment by someone else needs the deployer's signature", async () => {
    const f = new HostFixture();
    const funder = f.newHolder(100n * XLM);
    const relayer = f.newHolder().publicKey();
    upload(f, relayer, CHANNEL_WASM);
    const op = Operation.createCustomContract({
      address: Address.fromString(funder.publicKey()),
      wasmHash: CHANNEL_WASM_HASH,
      salt: Buffer.alloc(32, 1),
      constructorArgs: channelArgs(f, funder.publicKey(), relayer, XLM),
    });
    const sim = expectOk(f.simulate(op, relayer));
    expect(sim.auth[0]!.credentials().switch()).toBe(xdr.SorobanCredentialsType.sorobanCredentialsAddress());
    const func = op.body().invokeHostFunctionOp().hostFunction();
    expect(expectFailed(f.apply(Operation.invokeHostFunction({ func, auth: [] }), relayer, sim.transactionData)).error).toContain("Error(Auth, InvalidAction)");
    const signed = await signAll(sim.auth, [funder], f.sequence + 10);
    expectOk(f.apply(Operation.invokeHostFunction({ func, auth: signed }), relayer, sim.transactionData));
  });

  it("stores other Wasm, but running it (here: its creation and constructor) fails clearly", () => {
    const f = new HostFixture();
    const funder = f.newHolder().publicKey();
    const other = Buffer.concat([CHANNEL_WASM.subarray(0, 8), Buffer.from([0x00, 0x02, 0x01, 0x61])]);
    expectOk(upload(f, funder, other).applied);
    const op = Operation.createCustomContract({ address: Address.fromString(funder), wasmHash: hash(other), salt: Buffer.alloc(32, 2) });
    const r = expectFailed(f.simulate(op, funder));
    expect(r.error).toContain("Error(WasmVm, InvalidAction)");
    expect(r.error).toContain("no native implementation");
  });

  it("creating from a Wasm hash that was never uploaded fails", () => {
    const f = new HostFixture();
    const funder = f.newHolder().publicKey();
    const op = Operation.createCustomContract({ address: Address.fromString(funder), wasmHash: CHANNEL_WASM_HASH, salt: Buffer.alloc(32, 3), constructorArgs: channelArgs(f, funder, funder, 0n) });
    expect(expectFailed(f.simulate(op, funder)).error).toContain("Error(Storage, MissingValue)");
  });
});

describe("Soroban host: storage TTL, archival and restore", () => {
  function deployed(f: HostFixture) {
    const funder = f.newHolder(100n * XLM);
    upload(f, funder.publicKey(), CHANNEL_WASM);
    const op = Operation.createCustomContract({ address: Address.fromString(funder.publicKey()), wasmHash: CHANNEL_WASM_HASH, salt: Buffer.alloc(32, 9), constructorArgs: channelArgs(f, funder.publicKey(), funder.publicKey(), 0n) });
    const sim = expectOk(f.simulate(op, funder.publicKey()));
    expectOk(f.apply(Operation.invokeHostFunction({ func: op.body().invokeHostFunctionOp().hostFunction(), auth: sim.auth }), funder.publicKey(), sim.transactionData));
    return { funder: funder.publicKey(), channel: Address.fromScVal(sim.returnValue!).toString() };
  }

  it("extendFootprintTtl raises read-only entries to ledger + extendTo, capped by maxEntryTtl, never lowering", () => {
    const f = new HostFixture();
    const { funder, channel } = deployed(f);
    const keys = [Keys.instance(channel), Keys.code(CHANNEL_WASM_HASH)];
    const footprint = new xdr.LedgerFootprint({ readOnly: keys, readWrite: [] });
    const op = Operation.extendFootprintTtl({ extendTo: 50_000 });
    const sim = expectOk(f.simulate(op, funder, footprint));
    expect(sim.minResourceFee).toBeGreaterThan(0n);
    expectOk(f.apply(op, funder, sim.transactionData));
    for (const key of keys) expect(f.state.get(key)?.liveUntilLedgerSeq).toBe(f.sequence + 50_000);

    const shorter = Operation.extendFootprintTtl({ extendTo: 10 });
    expectOk(f.apply(shorter, funder, expectOk(f.simulate(shorter, funder, footprint)).transactionData));
    expect(f.state.get(keys[0]!)?.liveUntilLedgerSeq).toBe(f.sequence + 50_000);

    const tooFar = Operation.extendFootprintTtl({ extendTo: f.ledger.maxEntryTtl });
    expect(codeName(expectFailed(f.simulate(tooFar, funder, footprint)))).toBe("extendFootprintTtlMalformed");
  });

  it("an archived instance is restored automatically: simulation marks it, apply restores it and charges its rent; unmarked it fails", () => {
    const f = new HostFixture();
    const { funder, channel } = deployed(f);
    const getter = invoke({ contract: channel, fn: "refund_waiting_period", args: [] });
    const live = expectOk(f.simulate(getter, funder));
    expect(live.returnValue!.u32()).toBe(100);
    expect(live.transactionData.ext().switch()).toBe(0);

    f.sequence += f.ledger.minPersistentTtl; // past the instance's and code's live-until ledger
    const sim = expectOk(f.simulate(getter, funder));
    expect(sim.returnValue!.u32()).toBe(100);
    // Protocol 23: the archived entries move to the read-write footprint, marked by index for restore.
    const fp = sim.transactionData.resources().footprint();
    const marked = sim.transactionData.ext().resourceExt().archivedSorobanEntries().map((i) => fp.readWrite()[i]!);
    expect(keyIds(marked).sort()).toEqual(keyIds([Keys.instance(channel), Keys.code(CHANNEL_WASM_HASH)]).sort());
    // The restore's rent is in the fee: more than the same call on live entries.
    expect(sim.minResourceFee).toBeGreaterThan(live.minResourceFee);

    // The old footprint (entries read-only, nothing marked) fails as entry-archived and changes nothing.
    expect(codeName(expectFailed(f.apply(getter, funder, live.transactionData)))).toBe("invokeHostFunctionEntryArchived");
    expect(f.state.get(Keys.instance(channel))!.liveUntilLedgerSeq).toBeLessThan(f.sequence);

    // With the marked footprint the invocation restores them (minimum TTL) and runs.
    const applied = expectOk(f.apply(getter, funder, sim.transactionData));
    expect(applied.returnValue!.u32()).toBe(100);
    expect(applied.minResourceFee).toBe(sim.minResourceFee);
    expect(f.state.get(Keys.instance(channel))?.liveUntilLedgerSeq).toBe(f.sequence + f.ledger.minPersistentTtl - 1);
    expect(f.state.get(Keys.code(CHANNEL_WASM_HASH))?.liveUntilLedgerSeq).toBe(f.sequence + f.ledger.minPersistentTtl - 1);
    expect(expectOk(f.simulate(getter, funder)).transactionData.ext().switch()).toBe(0);
  });

  it("restoreFootprint still restores archived entries explicitly", () => {
    const f = new HostFixture();
    const { funder, channel } = deployed(f);
    f.sequence += f.ledger.minPersistentTtl;
    const restoreFp = new xdr.LedgerFootprint({ readOnly: [], readWrite: [Keys.instance(channel), Keys.code(CHANNEL_WASM_HASH)] });
    const restore = Operation.restoreFootprint({});
    const restoreSim = expectOk(f.simulate(restore, funder, restoreFp));
    expect(restoreSim.minResourceFee).toBeGreaterThan(0n);
    expect(restoreSim.transactionData.ext().switch()).toBe(0);
    expectOk(f.apply(restore, funder, restoreSim.transactionData));
    expect(f.state.get(Keys.instance(channel))?.liveUntilLedgerSeq).toBe(f.sequence + f.ledger.minPersistentTtl - 1);
  });

  it("a declared resource fee below the restore's rent fails the restore", () => {
    const f = new HostFixture();
    const { funder, channel } = deployed(f);
    f.sequence += f.ledger.minPersistentTtl;
    const fp = new xdr.LedgerFootprint({ readOnly: [], readWrite: [Keys.instance(channel)] });
    const restore = Operation.restoreFootprint({});
    const sim = expectOk(f.simulate(restore, funder, fp));
    const low = xdr.SorobanTransactionData.fromXDR(sim.transactionData.toXDR());
    low.resourceFee(xdr.Int64.fromString((sim.minResourceFee - 1n).toString()));
    expect(codeName(expectFailed(f.apply(restore, funder, low)))).toBe("restoreFootprintInsufficientRefundableFee");
    expect(f.state.get(Keys.instance(channel))!.liveUntilLedgerSeq).toBeLessThan(f.sequence);
  });

  it("expired temporary entries are gone: a nonce can be reused once its entry expires", async () => {
    const f = new HostFixture();
    const payer = f.newHolder(50n * XLM);
    const payee = f.newHolder();
    const relayer = f.newHolder().publicKey();
    const spec = { contract: f.genesis.usdcSac, fn: "transfer", args: [Address.fromString(payer.publicKey()).toScVal(), Address.fromString(payee.publicKey()).toScVal(), nativeToScVal(1n, { type: "i128" })] };
    const sim = expectOk(f.simulate(invoke(spec), relayer));
    const first = await signAll(sim.auth, [payer], f.sequence + 2);
    expectOk(f.apply(invoke({ ...spec, auth: first }), relayer, expectOk(f.simulate(invoke({ ...spec, auth: first }), relayer)).transactionData));

    f.sequence += 3; // the nonce entry (live until +2) has expired
    const reused = await signAll(first.map((e) => xdr.SorobanAuthorizationEntry.fromXDR(e.toXDR())), [payer], f.sequence + 2);
    const resim = expectOk(f.simulate(invoke({ ...spec, auth: reused }), relayer));
    expectOk(f.apply(invoke({ ...spec, auth: reused }), relayer, resim.transactionData));
    expect(f.usdcBalance(payee.publicKey())).toBe(2n);
  });
});
