/**
 * The one-way channel contract on the devnet, driven only through the real @stellar/stellar-sdk
 * over RPC: deploy (upload + createCustomContract with constructor), close by the recipient, close
 * by a relayer holding the recipient's pre-signed auth, events via getEvents, and archival/restore.
 */
import { Account, Address, authorizeInvocation, Keypair, nativeToScVal, Operation, rpc, scValToNative, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderFor, closeLedger, fundedKeypair, startTestDevnet, submitAndWait, usdcBalance } from "./helpers";
import type { TestDevnet } from "./helpers";
import { openChannel, send, type OpenedChannel } from "./channel-fixtures";

const XLM = 10_000_000n;

async function read(t: TestDevnet, channel: string, fn: string, args: xdr.ScVal[] = []): Promise<unknown> {
  // Read calls simulate with a source that need not exist, as the MPP SDK's ALL_ZEROS source does.
  const tx = new TransactionBuilder(new Account(Keypair.random().publicKey(), "0"), { fee: "100", networkPassphrase: t.passphrase })
    .addOperation(Operation.invokeContractFunction({ contract: channel, function: fn, args }))
    .setTimeout(60)
    .build();
  const sim = await t.server.simulateTransaction(tx);
  if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw new Error(`simulation of ${fn} failed: ${JSON.stringify(sim)}`);
  return scValToNative(sim.result.retval);
}

type Opened = OpenedChannel;

/** The commitment as a client gets it: from the contract's own prepare_commitment, then signed. */
async function commitment(t: TestDevnet, o: Opened, amount: bigint): Promise<xdr.ScVal[]> {
  const bytes = (await read(t, o.channel, "prepare_commitment", [nativeToScVal(amount, { type: "i128" })])) as Buffer;
  return [nativeToScVal(amount, { type: "i128" }), nativeToScVal(o.commitmentKey.sign(bytes), { type: "bytes" })];
}

async function channelEvents(t: TestDevnet, channel: string, startLedger: number) {
  const res = await t.server.getEvents({ startLedger, filters: [{ type: "contract", contractIds: [channel] }] });
  return res.events.map((e) => ({ topic: scValToNative(e.topic[0]!), value: scValToNative(e.value) }));
}

describe("one-way channel over RPC", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 200 });
  });
  afterAll(async () => {
    await t.close();
  });

  it("deploys with a deposit, and the recipient closes with a signed commitment", async () => {
    const o = await openChannel(t, 10n * XLM, 1);
    expect(await read(t, o.channel, "balance")).toBe(10n * XLM);
    expect(await read(t, o.channel, "to")).toBe(o.recipient.publicKey());
    expect(await usdcBalance(t.server, o.funder.publicKey())).toBe(90n * XLM);

    await send(t, o.recipient, Operation.invokeContractFunction({ contract: o.channel, function: "close", args: await commitment(t, o, 4n * XLM) }));
    expect(await usdcBalance(t.server, o.recipient.publicKey())).toBe(4n * XLM + 1n);
    expect(await usdcBalance(t.server, o.funder.publicKey())).toBe(96n * XLM);
    expect(await read(t, o.channel, "balance")).toBe(0n);

    const events = await channelEvents(t, o.channel, o.openedLedger);
    expect(events.map((e) => e.topic)).toEqual(["open", "withdraw", "close", "refund"]);
    expect(events[1]!.value).toEqual({ amount: 4n * XLM, to: o.recipient.publicKey() });
    expect(events[3]!.value).toEqual({ amount: 6n * XLM, from: o.funder.publicKey() });
  });

  it("a relayer closes with the recipient's pre-signed auth entry (authorizeInvocation), paying the fee itself", async () => {
    const o = await openChannel(t, 5n * XLM, 2);
    const relayer = await fundedKeypair(t.devnet);
    const args = await commitment(t, o, 2n * XLM);
    const invocation = new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
        new xdr.InvokeContractArgs({ contractAddress: Address.fromString(o.channel).toScAddress(), functionName: "close", args }),
      ),
      subInvocations: [],
    });
    const latest = (await t.server.getLatestLedger()).sequence;
    const recipientAuth = await authorizeInvocation({ signer: o.recipient, validUntilLedgerSeq: latest + 100, invocation, networkPassphrase: t.passphrase });
    const op = Operation.invokeContractFunction({ contract: o.channel, function: "close", args, auth: [recipientAuth] });
    const relayerXlmBefore = BigInt((await t.server.getAccountEntry(relayer.publicKey())).balance().toString());
    await send(t, relayer, op);
    expect(await usdcBalance(t.server, o.recipient.publicKey())).toBe(2n * XLM + 1n);
    expect(BigInt((await t.server.getAccountEntry(relayer.publicKey())).balance().toString())).toBeLessThan(relayerXlmBefore);

    // Without the recipient's entry the relayer's close does not even simulate.
    const bare = (await builderFor(t, relayer.publicKey())).addOperation(Operation.invokeContractFunction({ contract: o.channel, function: "close", args })).setTimeout(60).build();
    const sim = await t.server.simulateTransaction(bare);
    // Recording mode answers with the entry `to` must sign; it is not signed, so the tx would fail on chain.
    expect(rpc.Api.isSimulationSuccess(sim) && sim.result!.auth.map((a) => Address.fromScAddress(a.credentials().address().address()).toString())).toEqual([o.recipient.publicKey()]);
  });

  it("the funder's close_start then refund after the waiting period", async () => {
    const o = await openChannel(t, 3n * XLM, 3);
    await send(t, o.funder, Operation.invokeContractFunction({ contract: o.channel, function: "close_start", args: [] }));
    const early = await t.server.simulateTransaction(
      (await builderFor(t, o.funder.publicKey())).addOperation(Operation.invokeContractFunction({ contract: o.channel, function: "refund", args: [] })).setTimeout(60).build(),
    );
    expect(rpc.Api.isSimulationError(early) && early.error).toMatch(/Error\(Contract, #3\)/);
    for (let i = 0; i < 11; i++) await closeLedger(t.devnet);
    await send(t, o.funder, Operation.invokeContractFunction({ contract: o.channel, function: "refund", args: [] }));
    expect(await usdcBalance(t.server, o.funder.publicKey())).toBe(100n * XLM);
  });
});

describe("channel archival over RPC", () => {
  let t: TestDevnet;
  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 50, minPersistentTtl: 30 });
  });
  afterAll(async () => {
    await t.close();
  });

  it("an archived channel is restored by the next invocation itself: no restorePreamble, the entries marked, the top_up lands", async () => {
    const o = await openChannel(t, XLM, 4);
    const instanceKey = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({ contract: Address.fromString(o.channel).toScAddress(), key: xdr.ScVal.scvLedgerKeyContractInstance(), durability: xdr.ContractDataDurability.persistent() }),
    );
    const liveUntil = (await t.server.getLedgerEntries(instanceKey)).entries[0]!.liveUntilLedgerSeq!;
    while ((await t.server.getLatestLedger()).sequence <= liveUntil) await new Promise((r) => setTimeout(r, 50));
    expect((await t.server.getLedgerEntries(instanceKey)).entries[0]!.liveUntilLedgerSeq).toBe(0);

    const call = () => Operation.invokeContractFunction({ contract: o.channel, function: "top_up", args: [nativeToScVal(XLM, { type: "i128" })] });
    const sim = await t.server.simulateTransaction((await builderFor(t, o.funder.publicKey())).addOperation(call()).setTimeout(60).build());
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
    expect(rpc.Api.isSimulationRestore(sim)).toBe(false);
    const data = sim.transactionData.build();
    const readWrite = data.resources().footprint().readWrite().map((k) => k.toXDR("base64"));
    const marked = data.ext().switch() === 1 ? data.ext().resourceExt().archivedSorobanEntries().map((i) => readWrite[i]) : [];
    expect(marked).toContain(instanceKey.toXDR("base64"));

    await send(t, o.funder, call());
    expect(await read(t, o.channel, "balance")).toBe(2n * XLM);
    expect((await t.server.getLedgerEntries(instanceKey)).entries[0]!.liveUntilLedgerSeq).toBeGreaterThan(liveUntil);
  });
});
