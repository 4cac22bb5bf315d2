/**
 * What the RPC still answers for, as stellar-rpc serves it: a retention window for getTransaction,
 * getTransactions and getEvents (a getEvents start outside it is JSON-RPC -32600), at most 10 000
 * ledgers scanned per getEvents call, and the getTransaction race (NOT_FOUND with a newer latestLedger).
 */
import { Asset, Keypair, Operation, rpc } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import type { StartOptions } from "../../apps/devnet/src/index";
import { builderFor, closeLedger, fundedKeypair, setFaults, devnetPerTest, submitAndWait } from "./helpers";
import type { TestDevnet } from "./helpers";

const devnet = devnetPerTest();

async function paused(options: StartOptions = {}): Promise<TestDevnet> {
  const t = await devnet(options);
  await setFaults(t.devnet, { paused: true });
  return t;
}

/** Lands a native payment (its CAP-67 transfer event is a contract event of the native SAC) in a ledger closed now. */
async function landPayment(net: TestDevnet, from: Keypair): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
  const tx = (await builderFor(net, from.publicKey()))
    .addOperation(Operation.payment({ destination: from.publicKey(), asset: Asset.native(), amount: "1" }))
    .setTimeout(0)
    .build();
  tx.sign(from);
  expect((await net.server.sendTransaction(tx)).status).toBe("PENDING");
  await closeLedger(net.devnet);
  const res = await net.server.getTransaction(tx.hash().toString("hex"));
  if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) throw new Error(`payment ${res.status}`);
  return res;
}

async function closeMany(net: TestDevnet, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await closeLedger(net.devnet);
}

const nativeSac = (net: TestDevnet): string => Asset.native().contractId(net.passphrase);

describe("retention window", () => {
  it("forgets transactions and events older than retentionLedgers; a getEvents start before it is -32600", async () => {
    const net = await paused({ retentionLedgers: 10 });
    const a = await fundedKeypair(net.devnet);
    const landed = await landPayment(net, a);
    const events = await net.server.getEvents({ startLedger: landed.ledger, filters: [{ type: "contract", contractIds: [nativeSac(net)] }] });
    expect(events.events).toHaveLength(1);
    const cursor = events.events[0]!.id;

    await closeMany(net, 10);
    const gone = await net.server.getTransaction(landed.txHash);
    expect(gone.status).toBe("NOT_FOUND");
    expect(gone.oldestLedger).toBeGreaterThan(landed.ledger);
    const range = `${gone.oldestLedger} - ${gone.latestLedger}`;
    await expect(net.server.getEvents({ cursor, filters: [] })).rejects.toMatchObject({
      code: -32600,
      message: `startLedger must be within the ledger range: ${range}`,
    });
    await expect(net.server.getEvents({ startLedger: landed.ledger, filters: [] })).rejects.toMatchObject({ code: -32600 });
    await expect(net.server.getTransactions({ pagination: { cursor: `${BigInt(landed.ledger) << 32n}`, limit: 5 } })).rejects.toMatchObject({
      code: -32602,
      message: `database does not contain metadata for ledger: ${landed.ledger}`,
    });
    await expect(net.server.getTransactions({ startLedger: landed.ledger, pagination: { limit: 5 } })).rejects.toMatchObject({ code: -32600 });
  });

  it("keeps them within the window (the default is stellar-rpc's 120 960 ledgers)", async () => {
    const net = await paused();
    expect(net.devnet.config.retentionLedgers).toBe(120_960);
    const a = await fundedKeypair(net.devnet);
    const landed = await landPayment(net, a);
    const cursor = (await net.server.getEvents({ startLedger: landed.ledger, filters: [] })).events[0]!.id;
    await closeMany(net, 12);
    expect((await net.server.getTransaction(landed.txHash)).status).toBe("SUCCESS");
    const page = await net.server.getEvents({ cursor, filters: [] });
    expect(page.events).toEqual([]);
    expect(page.latestLedger).toBeGreaterThan(landed.ledger + 11);
  });
});

describe("getEvents scan limit (LedgerScanLimit)", () => {
  it("scans at most maxEventsScanLedgers ledgers per call; the cursor then ends the scanned range", async () => {
    const net = await paused({ maxEventsScanLedgers: 5 });
    const a = await fundedKeypair(net.devnet);
    // From the ledger after the funding one (whose createAccount emits a transfer event too).
    const start = (await net.server.getLatestLedger()).sequence + 1;
    await closeMany(net, 6);
    const landed = await landPayment(net, a); // in ledger start + 6
    expect(landed.ledger).toBe(start + 6);

    const first = await net.server.getEvents({ startLedger: start, filters: [] });
    expect(first.events).toEqual([]);
    // stellar-rpc's MaxCursor of the last scanned ledger: TOID(start + 4, 2^20 - 1, 2^12 - 1), event 2^32 - 1.
    const lastScanned = BigInt(start + 4);
    expect(first.cursor).toBe(`${((lastScanned << 32n) | 0xffffffffn).toString().padStart(19, "0")}-4294967295`);
    const second = await net.server.getEvents({ cursor: first.cursor, filters: [] });
    expect(second.events.map((e) => e.txHash)).toEqual([landed.txHash]);
  });

  it("scans to the latest ledger with maxEventsScanLedgers: 0", async () => {
    const net = await paused({ maxEventsScanLedgers: 0 });
    const a = await fundedKeypair(net.devnet);
    const start = (await net.server.getLatestLedger()).sequence + 1;
    await closeMany(net, 6);
    const landed = await landPayment(net, a);
    expect((await net.server.getEvents({ startLedger: start, filters: [] })).events.map((e) => e.txHash)).toEqual([landed.txHash]);
  });
});

describe("getTransaction race (the transaction read before the ledger range)", () => {
  it("answers the next N calls for a landed transaction NOT_FOUND with a latestLedger past it, then the truth", async () => {
    const net = await paused();
    const a = await fundedKeypair(net.devnet);
    const landed = await landPayment(net, a);
    await setFaults(net.devnet, { getTransactionRace: { count: 2 } });
    // A transaction that never landed does not use the fault up.
    expect((await net.server.getTransaction("00".repeat(32))).status).toBe("NOT_FOUND");
    for (let i = 0; i < 2; i++) {
      const raced = await net.server.getTransaction(landed.txHash);
      expect(raced.status).toBe("NOT_FOUND");
      expect(raced.latestLedger).toBeGreaterThanOrEqual(landed.ledger);
    }
    expect((await net.server.getTransaction(landed.txHash)).status).toBe("SUCCESS");
  });

  it("never races without the fault", async () => {
    const net = await devnet();
    const a = await fundedKeypair(net.devnet);
    const tx = (await builderFor(net, a.publicKey()))
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(30)
      .build();
    tx.sign(a);
    const res = await submitAndWait(net.server, tx);
    expect(res.status).toBe("SUCCESS");
    if (res.status === rpc.Api.GetTransactionStatus.SUCCESS) expect(res.latestLedger).toBeGreaterThanOrEqual(res.ledger);
  });
});
