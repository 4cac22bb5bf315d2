/**
 * What happens at apply as on the network: an invocation whose ledger moved since simulation fails
 * (resource limit exceeded, entry archived) charged but with its authorization unused, and a
 * transaction made invalid by an earlier one of its ledger lands FAILED with its code, charged.
 */
import { Address, Asset, Contract, Operation, authorizeEntry, nativeToScVal, rpc, xdr } from "@stellar/stellar-sdk";
import type { Keypair, Transaction } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import {
  USDC,
  builderFor,
  closeLedger,
  fundedKeypair,
  opResultCodes,
  setFaults,
  devnetPerTest,
  submitAndWait,
  txResultCode,
  usdcBalance,
  xlmBalance,
} from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
const devnet = devnetPerTest();

const addr = (a: string): xdr.ScVal => Address.fromString(a).toScVal();

interface Payment {
  readonly relayer: Keypair;
  readonly payer: Keypair;
  readonly payee: Keypair;
  /** The payer's signed authorization (address credentials with a nonce) of a 5-unit transfer. */
  readonly auth: xdr.SorobanAuthorizationEntry;
}

/** A relayed USDC payment: the payer signs only its authorization, the relayer sends the transaction. */
async function payment(net: TestDevnet): Promise<Payment> {
  const relayer = await fundedKeypair(net.devnet);
  const payer = await fundedKeypair(net.devnet, { usdc: 100n * XLM });
  const payee = await fundedKeypair(net.devnet, { usdc: 1n });
  const sim = await net.server.simulateTransaction(await relayed(net, { relayer, payer, payee }, []));
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error("simulation failed");
  const latest = (await net.server.getLatestLedger()).sequence;
  const auth = await authorizeEntry(sim.result!.auth[0]!, payer, latest + 100, net.passphrase);
  return { relayer, payer, payee, auth };
}

async function relayed(net: TestDevnet, p: Omit<Payment, "auth">, auth: xdr.SorobanAuthorizationEntry[]): Promise<Transaction> {
  const usdc = new Contract(USDC.contractId(net.passphrase));
  const call = usdc.call("transfer", addr(p.payer.publicKey()), addr(p.payee.publicKey()), nativeToScVal(5n, { type: "i128" }));
  const op = Operation.invokeHostFunction({ func: call.body().invokeHostFunctionOp().hostFunction(), auth });
  return (await builderFor(net, p.relayer.publicKey())).addOperation(op).setTimeout(60).build();
}

/** The relayer's transaction carrying the signed authorization, prepared and signed. */
async function prepared(net: TestDevnet, p: Payment): Promise<Transaction> {
  const tx = await net.server.prepareTransaction(await relayed(net, p, [p.auth]));
  tx.sign(p.relayer);
  return tx as Transaction;
}

describe("resource drift between simulation and apply (fault resourceDrift)", () => {
  it("exceeding the declared resources: FAILED, fee charged, sequence consumed, the authorization still unused", async () => {
    const net = await devnet();
    const p = await payment(net);
    const tx = await prepared(net, p);
    const seq = (await net.server.getAccount(p.relayer.publicKey())).sequenceNumber();
    const before = await xlmBalance(net.server, p.relayer.publicKey());
    await setFaults(net.devnet, { resourceDrift: { kind: "resourceLimitExceeded", count: 1 } });
    const res = await submitAndWait(net.server, tx);
    expect(res.status).toBe("FAILED");
    if (res.status !== rpc.Api.GetTransactionStatus.FAILED) return;
    expect(opResultCodes(res.resultXdr)).toEqual(["invokeHostFunctionResourceLimitExceeded"]);
    const fee = BigInt(res.resultXdr.feeCharged().toString());
    expect(fee).toBeGreaterThan(100n);
    expect(await xlmBalance(net.server, p.relayer.publicKey())).toBe(before - fee);
    expect(BigInt((await net.server.getAccount(p.relayer.publicKey())).sequenceNumber())).toBe(BigInt(seq) + 1n);
    expect(await usdcBalance(net.server, p.payer.publicKey())).toBe(100n * XLM);
    // The payer's nonce was not consumed: the same signed authorization pays on the retry.
    expect((await submitAndWait(net.server, await prepared(net, p))).status).toBe("SUCCESS");
    expect(await usdcBalance(net.server, p.payee.publicKey())).toBe(6n);
  });

  it("an entry archived since simulation: INVOKE_HOST_FUNCTION_ENTRY_ARCHIVED", async () => {
    const net = await devnet();
    const p = await payment(net);
    await setFaults(net.devnet, { resourceDrift: { kind: "entryArchived" } });
    const res = await submitAndWait(net.server, await prepared(net, p));
    expect(res.status).toBe("FAILED");
    if (res.status === rpc.Api.GetTransactionStatus.FAILED) expect(opResultCodes(res.resultXdr)).toEqual(["invokeHostFunctionEntryArchived"]);
  });

  it("applies as simulated once the fault is cleared", async () => {
    const net = await devnet();
    const p = await payment(net);
    await setFaults(net.devnet, { resourceDrift: { count: 3 } });
    expect((await setFaults(net.devnet, { resourceDrift: null })).resourceDrift).toBeNull();
    expect((await submitAndWait(net.server, await prepared(net, p))).status).toBe("SUCCESS");
  });
});

describe("a transaction made invalid by an earlier one in its ledger", () => {
  /**
   * Queues `victim`'s self-payment (sequence n + 1) and, bidding more so it applies first, another
   * account's transaction whose bumpSequence (operation source: victim) moves the victim to n + 5.
   */
  async function bumpedInLedger(net: TestDevnet): Promise<{ victim: Keypair; pay: Transaction; bump: Transaction; n: bigint }> {
    const victim = await fundedKeypair(net.devnet);
    const other = await fundedKeypair(net.devnet);
    const n = BigInt((await net.server.getAccount(victim.publicKey())).sequenceNumber());
    const pay = (await builderFor(net, victim.publicKey()))
      .addOperation(Operation.payment({ destination: victim.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(0)
      .build();
    pay.sign(victim);
    const bump = (await builderFor(net, other.publicKey(), "1000"))
      .addOperation(Operation.bumpSequence({ bumpTo: (n + 5n).toString(), source: victim.publicKey() }))
      .setTimeout(0)
      .build();
    bump.sign(other, victim);
    await setFaults(net.devnet, { paused: true });
    expect((await net.server.sendTransaction(pay)).status).toBe("PENDING");
    expect((await net.server.sendTransaction(bump)).status).toBe("PENDING");
    return { victim, pay, bump, n };
  }

  it("lands FAILED with txBAD_SEQ: its fee charged, its sequence number not spent", async () => {
    const net = await devnet();
    const { victim, pay, bump, n } = await bumpedInLedger(net);
    const before = await xlmBalance(net.server, victim.publicKey());
    const closed = await closeLedger(net.devnet);
    expect(closed.hashes).toEqual([bump.hash().toString("hex"), pay.hash().toString("hex")]);
    const res = await net.server.getTransaction(pay.hash().toString("hex"));
    expect(res.status).toBe("FAILED");
    if (res.status !== rpc.Api.GetTransactionStatus.FAILED) return;
    expect(txResultCode(res.resultXdr)).toBe("txBadSeq");
    expect(res.resultXdr.feeCharged().toString()).toBe("100");
    expect(await xlmBalance(net.server, victim.publicKey())).toBe(before - 100n);
    expect(BigInt((await net.server.getAccount(victim.publicKey())).sequenceNumber())).toBe(n + 5n);
  });

  it("is left out, uncharged, with chargeInvalidAtApply: false", async () => {
    const net = await devnet({ chargeInvalidAtApply: false });
    const { victim, pay, bump } = await bumpedInLedger(net);
    const before = await xlmBalance(net.server, victim.publicKey());
    expect((await closeLedger(net.devnet)).hashes).toEqual([bump.hash().toString("hex")]);
    expect((await net.server.getTransaction(pay.hash().toString("hex"))).status).toBe("NOT_FOUND");
    expect(await xlmBalance(net.server, victim.publicKey())).toBe(before);
  });
});
