import { Address, Keypair, nativeToScVal, Operation, scValToNative, xdr } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { CHANNEL_WASM, CHANNEL_WASM_HASH, commitmentBytes } from "../../apps/devnet/src/soroban";
import { Keys } from "../../apps/devnet/src/soroban/keys";
import { expectFailed, expectOk, HostFixture, invoke, signAll, XLM, type Ok } from "./soroban-fixtures";

const addr = (s: string) => Address.fromString(s).toScVal();
const i128 = (n: bigint) => nativeToScVal(n, { type: "i128" });

interface Channel {
  f: HostFixture;
  id: string;
  funder: Keypair;
  recipient: Keypair;
  commitmentKey: Keypair;
}

function openChannel(deposit = 10n * XLM, refundWaitingPeriod = 100): Channel & { opened: Ok } {
  const f = new HostFixture();
  const funder = f.newHolder(100n * XLM);
  const recipient = f.newHolder();
  const commitmentKey = Keypair.random();
  const upload = Operation.uploadContractWasm({ wasm: CHANNEL_WASM });
  expectOk(f.apply(upload, funder.publicKey(), expectOk(f.simulate(upload, funder.publicKey())).transactionData));
  const create = Operation.createCustomContract({
    address: Address.fromString(funder.publicKey()),
    wasmHash: CHANNEL_WASM_HASH,
    salt: Buffer.alloc(32, 42),
    constructorArgs: [addr(f.genesis.usdcSac), addr(funder.publicKey()), xdr.ScVal.scvBytes(commitmentKey.rawPublicKey()), addr(recipient.publicKey()), i128(deposit), xdr.ScVal.scvU32(refundWaitingPeriod)],
  });
  const sim = expectOk(f.simulate(create, funder.publicKey()));
  const opened = expectOk(f.apply(Operation.invokeHostFunction({ func: create.body().invokeHostFunctionOp().hostFunction(), auth: sim.auth }), funder.publicKey(), sim.transactionData));
  return { f, id: Address.fromScVal(sim.returnValue!).toString(), funder, recipient, commitmentKey, opened: { ...opened, events: sim.events } };
}

function sign(c: Channel, amount: bigint, key = c.commitmentKey): Buffer {
  return key.sign(commitmentBytes(c.f.ledger.networkId, c.id, amount));
}

function read(c: Channel, fn: string, args: xdr.ScVal[] = []): unknown {
  return scValToNative(expectOk(c.f.simulate(invoke({ contract: c.id, fn, args }), c.funder.publicKey())).returnValue!);
}

/** Runs a channel call with `source` as the tx source (source-account auth), returning the applied result. */
function call(c: Channel, source: Keypair, fn: string, args: xdr.ScVal[] = []) {
  return c.f.run({ contract: c.id, fn, args }, source.publicKey(), [source]);
}

const topics = (r: Ok) => r.events.map((e) => ({ contract: Address.contract(e.contractId() as unknown as Buffer).toString(), topics: e.body().v0().topics().map((t) => scValToNative(t)), data: scValToNative(e.body().v0().data()) }));

describe("one-way channel: open and getters", () => {
  it("the constructor stores the config, deposits from the funder and emits open", () => {
    const c = openChannel();
    expect(read(c, "token")).toBe(c.f.genesis.usdcSac);
    expect(read(c, "from")).toBe(c.funder.publicKey());
    expect(read(c, "to")).toBe(c.recipient.publicKey());
    expect(read(c, "refund_waiting_period")).toBe(100);
    expect(read(c, "balance")).toBe(10n * XLM);
    expect(read(c, "deposited")).toBe(10n * XLM);
    expect(read(c, "withdrawn")).toBe(0n);
    expect(c.f.usdcBalance(c.funder.publicKey())).toBe(90n * XLM);

    const events = topics(c.opened);
    expect(events.map((e) => e.topics[0])).toEqual(["transfer", "open"]);
    const open = c.opened.events[1]!.body().v0();
    expect(open.topics()).toHaveLength(1);
    expect(open.data().map()!.map((e) => e.key().sym().toString())).toEqual(["amount", "commitment_key", "from", "refund_waiting_period", "to", "token"]);
    expect(events[1]!.data).toMatchObject({ amount: 10n * XLM, from: c.funder.publicKey(), to: c.recipient.publicKey(), token: c.f.genesis.usdcSac, refund_waiting_period: 100 });

    const instance = c.f.state.get(Keys.instance(c.id))!.entry.data().contractData().val().instance();
    expect(instance.storage()!.map((e) => scValToNative(e.key()))).toEqual([["CommitmentKey"], ["From"], ["RefundWaitingPeriod"], ["To"], ["Token"]]);
  });

  it("prepare_commitment returns the 192-byte commitment map, and rejects negative amounts (#1)", () => {
    const c = openChannel();
    const bytes = read(c, "prepare_commitment", [i128(1234n)]) as Buffer;
    expect(bytes.length).toBe(192);
    expect(bytes.equals(commitmentBytes(c.f.ledger.networkId, c.id, 1234n))).toBe(true);
    const map = xdr.ScVal.fromXDR(bytes).map()!;
    expect(map.map((e) => e.key().sym().toString())).toEqual(["amount", "channel", "domain", "network"]);
    expect(map[0]!.val().switch()).toBe(xdr.ScValType.scvI128());
    expect(scValToNative(map[0]!.val())).toBe(1234n);
    expect(scValToNative(map[1]!.val())).toBe(c.id);
    expect(map[2]!.val().switch()).toBe(xdr.ScValType.scvSymbol());
    expect(scValToNative(map[2]!.val())).toBe("chancmmt");
    expect(Buffer.from(map[3]!.val().bytes()).equals(c.f.ledger.networkId)).toBe(true);
    expect(expectFailed(c.f.simulate(invoke({ contract: c.id, fn: "prepare_commitment", args: [i128(-1n)] }), c.funder.publicKey())).error).toContain("Error(Contract, #1)");
  });

  it("a negative deposit fails the deployment with NegativeAmount (#1)", () => {
    expect(() => openChannel(-1n)).toThrow("Error(Contract, #1)");
  });
});

describe("one-way channel: settle and close by the recipient", () => {
  it("settle pays the difference to `to`, emits withdraw, and an older commitment is a no-op", async () => {
    const c = openChannel();
    const r = expectOk(await call(c, c.recipient, "settle", [i128(3n * XLM), xdr.ScVal.scvBytes(sign(c, 3n * XLM))]));
    expect(topics(r)).toEqual([
      { contract: c.f.genesis.usdcSac, topics: ["transfer", c.id, c.recipient.publicKey(), `USDC:${c.f.usdc.getIssuer()}`], data: 3n * XLM },
      { contract: c.id, topics: ["withdraw"], data: { amount: 3n * XLM, to: c.recipient.publicKey() } },
    ]);
    expect(c.f.usdcBalance(c.recipient.publicKey())).toBe(3n * XLM);
    expect(read(c, "withdrawn")).toBe(3n * XLM);
    expect(read(c, "balance")).toBe(7n * XLM);
    expect(read(c, "deposited")).toBe(10n * XLM);

    const older = expectOk(await call(c, c.recipient, "settle", [i128(2n * XLM), xdr.ScVal.scvBytes(sign(c, 2n * XLM))]));
    expect(older.events).toHaveLength(0);
    expect(c.f.usdcBalance(c.recipient.publicKey())).toBe(3n * XLM);
  });

  it("a signature by another key, or for another amount, traps in ed25519 verification", async () => {
    const c = openChannel();
    const wrongKey = expectFailed(await call(c, c.recipient, "settle", [i128(XLM), xdr.ScVal.scvBytes(sign(c, XLM, Keypair.random()))]));
    expect(wrongKey.error).toContain("Error(Crypto, InvalidInput)");
    const wrongAmount = expectFailed(await call(c, c.recipient, "settle", [i128(2n * XLM), xdr.ScVal.scvBytes(sign(c, XLM))]));
    expect(wrongAmount.error).toContain("Error(Crypto, InvalidInput)");
    expect(c.f.usdcBalance(c.recipient.publicKey())).toBe(0n);
  });

  it("settle and close need `to`'s authorization: a relayer needs a signed entry from `to`", async () => {
    const c = openChannel();
    const relayer = c.f.newHolder();
    const args = [i128(XLM), xdr.ScVal.scvBytes(sign(c, XLM))];
    const sim = expectOk(c.f.simulate(invoke({ contract: c.id, fn: "close", args }), relayer.publicKey()));
    expect(sim.auth).toHaveLength(1);
    expect(Address.fromScAddress(sim.auth[0]!.credentials().address().address()).toString()).toBe(c.recipient.publicKey());
    expect(sim.auth[0]!.rootInvocation().subInvocations()).toHaveLength(0); // the channel pays from its own balance
    expect(expectFailed(c.f.apply(invoke({ contract: c.id, fn: "close", args }), relayer.publicKey(), sim.transactionData)).error).toContain("Error(Auth, InvalidAction)");
    // Signed by the funder instead of the recipient: not `to`'s auth.
    const byFunder = await signAll(sim.auth, [c.funder], c.f.sequence + 10);
    expect(byFunder[0]!.credentials().address().signature().switch()).toBe(xdr.ScValType.scvVoid());
    const signed = await signAll(sim.auth, [c.recipient], c.f.sequence + 10);
    expectOk(c.f.apply(invoke({ contract: c.id, fn: "close", args, auth: signed }), relayer.publicKey(), expectOk(c.f.simulate(invoke({ contract: c.id, fn: "close", args, auth: signed }), relayer.publicKey())).transactionData));
    expect(c.f.usdcBalance(c.recipient.publicKey())).toBe(XLM);
  });

  it("close pays out, closes now, and refunds the rest to the funder", async () => {
    const c = openChannel();
    expectOk(await call(c, c.recipient, "settle", [i128(3n * XLM), xdr.ScVal.scvBytes(sign(c, 3n * XLM))]));
    const r = expectOk(await call(c, c.recipient, "close", [i128(5n * XLM), xdr.ScVal.scvBytes(sign(c, 5n * XLM))]));
    expect(topics(r).map((e) => [e.topics[0], e.data])).toEqual([
      ["transfer", 2n * XLM],
      ["withdraw", { amount: 2n * XLM, to: c.recipient.publicKey() }],
      ["close", { effective_at_ledger: c.f.sequence }],
      ["transfer", 5n * XLM],
      ["refund", { amount: 5n * XLM, from: c.funder.publicKey() }],
    ]);
    expect(c.f.usdcBalance(c.recipient.publicKey())).toBe(5n * XLM);
    expect(c.f.usdcBalance(c.funder.publicKey())).toBe(95n * XLM);
    expect(read(c, "balance")).toBe(0n);

    // Closing again later is allowed; nothing is left, so only state reads happen and no close event repeats.
    c.f.sequence += 1;
    const again = expectOk(await call(c, c.recipient, "close", [i128(5n * XLM), xdr.ScVal.scvBytes(sign(c, 5n * XLM))]));
    expect(again.events).toHaveLength(0);
  });

  it("close keeps the payout when the automatic refund fails (funder's trustline gone)", async () => {
    const c = openChannel();
    c.f.state.delete(Keys.trustline(c.funder.publicKey(), c.f.usdc));
    const r = expectOk(await call(c, c.recipient, "close", [i128(4n * XLM), xdr.ScVal.scvBytes(sign(c, 4n * XLM))]));
    expect(topics(r).map((e) => e.topics[0])).toEqual(["transfer", "withdraw", "close"]);
    expect(read(c, "balance")).toBe(6n * XLM);
  });

  it("a commitment above the channel's funds fails the whole close (SAC balance error #10)", async () => {
    const c = openChannel();
    const r = expectFailed(await call(c, c.recipient, "close", [i128(11n * XLM), xdr.ScVal.scvBytes(sign(c, 11n * XLM))]));
    expect(r.error).toContain("Error(Contract, #10)");
    expect(read(c, "withdrawn")).toBe(0n);
    expect(read(c, "balance")).toBe(10n * XLM);
  });
});

describe("one-way channel: funder's close_start, refund and top_up", () => {
  it("refund fails with NotClosed (#2) before any close, and with RefundWaitingPeriodNotElapsed (#3) during the wait", async () => {
    const c = openChannel();
    expect(expectFailed(await call(c, c.funder, "refund")).error).toContain("Error(Contract, #2)");
    const started = expectOk(await call(c, c.funder, "close_start"));
    expect(topics(started)).toEqual([{ contract: c.id, topics: ["close"], data: { effective_at_ledger: c.f.sequence + 100 } }]);
    c.f.sequence += 99;
    expect(expectFailed(await call(c, c.funder, "refund")).error).toContain("Error(Contract, #3)");
    c.f.sequence += 1;
    const refunded = expectOk(await call(c, c.funder, "refund"));
    expect(topics(refunded).map((e) => e.topics[0])).toEqual(["transfer", "refund"]);
    expect(c.f.usdcBalance(c.funder.publicKey())).toBe(100n * XLM);
    expect(expectFailed(await call(c, c.funder, "close_start")).error).toContain("Error(Contract, #4)");
  });

  it("close_start and refund need the funder: the recipient cannot call them", async () => {
    const c = openChannel();
    const sim = expectOk(c.f.simulate(invoke({ contract: c.id, fn: "close_start", args: [] }), c.recipient.publicKey()));
    expect(Address.fromScAddress(sim.auth[0]!.credentials().address().address()).toString()).toBe(c.funder.publicKey());
    // Without the funder's entry the call is unauthorized; the funder's unsigned entry is rejected too.
    expect(expectFailed(c.f.apply(invoke({ contract: c.id, fn: "close_start", args: [] }), c.recipient.publicKey(), sim.transactionData)).error).toContain("Error(Auth, InvalidAction)");
    // The host checks the (void) signature before the expiration, and reports it as a failed authentication.
    expect(expectFailed(await call(c, c.recipient, "close_start")).error).toMatch(/^HostError: Error\(Auth, InvalidAction\)[\s\S]*failed account authentication/);
  });

  it("close_start during the wait restarts it; the recipient can still settle", async () => {
    const c = openChannel();
    expectOk(await call(c, c.funder, "close_start"));
    c.f.sequence += 50;
    const restarted = expectOk(await call(c, c.funder, "close_start"));
    expect(topics(restarted)[0]!.data).toEqual({ effective_at_ledger: c.f.sequence + 100 });
    expectOk(await call(c, c.recipient, "settle", [i128(XLM), xdr.ScVal.scvBytes(sign(c, XLM))]));
    expect(c.f.usdcBalance(c.recipient.publicKey())).toBe(XLM);
  });

  it("top_up moves more of the funder's tokens in, with the funder's auth nested over the transfer", async () => {
    const c = openChannel();
    const sim = expectOk(c.f.simulate(invoke({ contract: c.id, fn: "top_up", args: [i128(5n * XLM)] }), c.recipient.publicKey()));
    const root = sim.auth[0]!.rootInvocation();
    expect(root.function().contractFn().functionName().toString()).toBe("top_up");
    expect(root.subInvocations()[0]!.function().contractFn().functionName().toString()).toBe("transfer");
    expectOk(await call(c, c.funder, "top_up", [i128(5n * XLM)]));
    expect(read(c, "balance")).toBe(15n * XLM);
    // A signed entry whose tree leaves out the nested token transfer does not authorize it.
    const relayer = c.f.newHolder().publicKey();
    const bySim = expectOk(c.f.simulate(invoke({ contract: c.id, fn: "top_up", args: [i128(XLM)] }), relayer));
    const pruned = xdr.SorobanAuthorizationEntry.fromXDR(bySim.auth[0]!.toXDR());
    pruned.rootInvocation().subInvocations([]);
    const [signedPruned] = await signAll([pruned], [c.funder], c.f.sequence + 10);
    const r = expectFailed(c.f.apply(invoke({ contract: c.id, fn: "top_up", args: [i128(XLM)], auth: [signedPruned!] }), relayer, bySim.transactionData));
    expect(r.error).toContain("Error(Auth, InvalidAction)");
    const [signedFull] = await signAll(bySim.auth, [c.funder], c.f.sequence + 10);
    expectOk(c.f.apply(invoke({ contract: c.id, fn: "top_up", args: [i128(XLM)], auth: [signedFull!] }), relayer, bySim.transactionData));
    expect(read(c, "balance")).toBe(16n * XLM);
    expect(expectFailed(await call(c, c.funder, "top_up", [i128(-5n)])).error).toContain("Error(Contract, #1)");
  });
});
