import { Address, Asset, Keypair, Operation, TransactionBuilder, rpc, xdr } from "@stellar/stellar-sdk";
import type { Transaction } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  builderFor,
  clearFaults,
  closeLedger,
  fundedKeypair,
  setFaults,
  startTestDevnet,
  submitAndWait,
  txResultCode,
  xlmBalance,
} from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
let t: TestDevnet;

beforeAll(async () => {
  t = await startTestDevnet();
});
afterAll(async () => {
  await t.close();
});

const selfPay = (kp: Keypair, amount = "1") => Operation.payment({ destination: kp.publicKey(), asset: Asset.native(), amount });

async function signed(net: TestDevnet, kp: Keypair, fee: string, opts: { timeoutSeconds?: number; amount?: string } = {}): Promise<Transaction> {
  const tx = (await builderFor(net, kp.publicKey(), fee))
    .addOperation(selfPay(kp, opts.amount))
    .setTimeout(opts.timeoutSeconds ?? 60)
    .build();
  tx.sign(kp);
  return tx;
}

describe("transaction queue", () => {
  it("holds one pending transaction per account: others get TRY_AGAIN_LATER, a resend gets DUPLICATE", async () => {
    const a = await fundedKeypair(t.devnet);
    await setFaults(t.devnet, { paused: true });
    try {
      const first = await signed(t, a, "100");
      const second = await signed(t, a, "100", { amount: "2" }); // same sequence number, other content
      const account = await t.server.getAccount(a.publicKey());
      account.incrementSequenceNumber();
      const next = new TransactionBuilder(account, { fee: "100", networkPassphrase: t.passphrase }).addOperation(selfPay(a)).setTimeout(60).build();
      next.sign(a);

      expect((await t.server.sendTransaction(first)).status).toBe("PENDING");
      expect((await t.server.sendTransaction(second)).status).toBe("TRY_AGAIN_LATER");
      expect((await t.server.sendTransaction(next)).status).toBe("TRY_AGAIN_LATER");
      expect((await t.server.sendTransaction(first)).status).toBe("DUPLICATE");
      const closed = await closeLedger(t.devnet);
      expect(closed.hashes).toEqual([first.hash().toString("hex")]);
      expect((await t.server.sendTransaction(next)).status).toBe("PENDING");
      expect((await closeLedger(t.devnet)).hashes).toEqual([next.hash().toString("hex")]);
    } finally {
      await clearFaults(t.devnet);
    }
  });

  it("replaces a pending transaction with a fee bump of it bidding at least 10x (replace-by-fee)", async () => {
    const a = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    await setFaults(t.devnet, { paused: true });
    try {
      const inner = await signed(t, a, "100");
      expect((await t.server.sendTransaction(inner)).status).toBe("PENDING");

      // 100 per op pending; the bump has 2 fee ops, so it must bid >= 2 x 1000.
      const low = TransactionBuilder.buildFeeBumpTransaction(sponsor, "999", inner, t.passphrase);
      low.sign(sponsor);
      const lowSent = await t.server.sendTransaction(low);
      expect(lowSent.status).toBe("ERROR");
      expect(txResultCode(lowSent.errorResult!)).toBe("txInsufficientFee");
      expect(BigInt(lowSent.errorResult!.feeCharged().toString())).toBe(2000n);

      const high = TransactionBuilder.buildFeeBumpTransaction(sponsor, "1000", inner, t.passphrase);
      high.sign(sponsor);
      expect((await t.server.sendTransaction(high)).status).toBe("PENDING");

      const closed = await closeLedger(t.devnet);
      expect(closed.hashes).toEqual([high.hash().toString("hex")]);
      const landed = await t.server.getTransaction(high.hash().toString("hex"));
      expect(landed.status).toBe("SUCCESS");
      expect((await t.server.getTransaction(inner.hash().toString("hex"))).status).toBe("NOT_FOUND");
      // Charged at the base rate, to the fee source.
      expect(await xlmBalance(t.server, sponsor.publicKey())).toBe(10_000n * XLM - 200n);
      expect(await xlmBalance(t.server, a.publicKey())).toBe(10_000n * XLM);
    } finally {
      await clearFaults(t.devnet);
    }
  });
});

describe("per-ledger cap and surge pricing", () => {
  let capped: TestDevnet;
  beforeAll(async () => {
    capped = await startTestDevnet({ maxTxPerLedger: 2 });
  });
  afterAll(async () => {
    await capped.close();
  });

  it("fills an oversubscribed ledger by highest fee, charges the surge price, and reports it in getFeeStats", async () => {
    const [a, b, c] = [await fundedKeypair(capped.devnet), await fundedKeypair(capped.devnet), await fundedKeypair(capped.devnet)];
    await setFaults(capped.devnet, { paused: true });
    try {
      // Push the friendbot transactions out of the 10-ledger classic fee window.
      for (let i = 0; i < 10; i++) await closeLedger(capped.devnet);
      const cheap = await signed(capped, a, "100");
      const mid = await signed(capped, b, "500");
      const rich = await signed(capped, c, "1000");
      for (const tx of [cheap, mid, rich]) expect((await capped.server.sendTransaction(tx)).status).toBe("PENDING");

      const first = await closeLedger(capped.devnet);
      expect(first.hashes).toEqual([rich.hash().toString("hex"), mid.hash().toString("hex")]);
      expect((await capped.server.getTransaction(cheap.hash().toString("hex"))).status).toBe("NOT_FOUND");
      // Everyone included pays the lowest included bid per operation.
      for (const tx of [rich, mid]) {
        const res = await capped.server.getTransaction(tx.hash().toString("hex"));
        expect(res.status).toBe("SUCCESS");
        if (res.status === rpc.Api.GetTransactionStatus.SUCCESS) expect(res.resultXdr.feeCharged().toString()).toBe("500");
      }
      const stats = await capped.server.getFeeStats();
      expect(stats.inclusionFee.max).toBe("500");
      expect(stats.inclusionFee.min).toBe("500");
      expect(stats.inclusionFee.transactionCount).toBe("2");

      const second = await closeLedger(capped.devnet);
      expect(second.hashes).toEqual([cheap.hash().toString("hex")]);
      const after = await capped.server.getFeeStats();
      expect(after.inclusionFee.min).toBe("100");
      expect(after.inclusionFee.max).toBe("500");
      expect(after.inclusionFee.p50).toBe("500");
      expect(after.inclusionFee.transactionCount).toBe("3");
    } finally {
      await clearFaults(capped.devnet);
    }
  });

  it("drops a queued transaction whose time bounds pass before it fits", async () => {
    const [a, b, c] = [await fundedKeypair(capped.devnet), await fundedKeypair(capped.devnet), await fundedKeypair(capped.devnet)];
    await setFaults(capped.devnet, { paused: true });
    try {
      const shortLived = await signed(capped, a, "100", { timeoutSeconds: 1 });
      const x = await signed(capped, b, "300");
      const y = await signed(capped, c, "300");
      for (const tx of [shortLived, x, y]) expect((await capped.server.sendTransaction(tx)).status).toBe("PENDING");
      expect((await closeLedger(capped.devnet)).hashes).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 2100));
      expect((await closeLedger(capped.devnet)).hashes).toEqual([]);
      expect((await capped.server.getTransaction(shortLived.hash().toString("hex"))).status).toBe("NOT_FOUND");
      // Dropped, so the account may send again.
      const again = await signed(capped, a, "100");
      expect((await capped.server.sendTransaction(again)).status).toBe("PENDING");
    } finally {
      await clearFaults(capped.devnet);
    }
  });
});

describe("getEvents", () => {
  it("filters by contract and topics and pages with cursors", async () => {
    const from = await fundedKeypair(t.devnet);
    const to = await fundedKeypair(t.devnet);
    const start = (await t.server.getLatestLedger()).sequence;
    for (const amount of ["1", "2", "3"]) {
      const tx = (await builderFor(t, from.publicKey()))
        .addOperation(Operation.payment({ destination: to.publicKey(), asset: Asset.native(), amount }))
        .setTimeout(30)
        .build();
      tx.sign(from);
      expect((await submitAndWait(t.server, tx)).status).toBe("SUCCESS");
    }
    const nativeSac = Asset.native().contractId(t.passphrase);
    const filters: rpc.Api.EventFilter[] = [
      {
        type: "contract",
        contractIds: [nativeSac],
        topics: [[xdr.ScVal.scvSymbol("transfer").toXDR("base64"), Address.fromString(from.publicKey()).toScVal().toXDR("base64"), "*", "**"]],
      },
    ];
    const page1 = await t.server.getEvents({ startLedger: start, filters, limit: 2 });
    expect(page1.events).toHaveLength(2);
    expect(page1.events.map((e) => e.value.i128().lo().toString())).toEqual(["10000000", "20000000"]);
    expect(page1.events[0]?.contractId?.contractId()).toBe(nativeSac);
    expect(page1.cursor).toBe(page1.events[1]?.id);
    expect(page1.events[0]!.id < page1.events[1]!.id).toBe(true);

    const page2 = await t.server.getEvents({ cursor: page1.cursor, filters, limit: 2 });
    expect(page2.events.map((e) => e.value.i128().lo().toString())).toEqual(["30000000"]);
    const page3 = await t.server.getEvents({ cursor: page2.cursor, filters, limit: 2 });
    expect(page3.events).toHaveLength(0);

    // A topic pattern of the wrong length matches nothing.
    const none = await t.server.getEvents({ startLedger: start, filters: [{ topics: [[xdr.ScVal.scvSymbol("transfer").toXDR("base64")]] }] });
    expect(none.events).toHaveLength(0);
  });

  it("rejects a startLedger outside the retention window", async () => {
    const latest = (await t.server.getLatestLedger()).sequence;
    await expect(t.server.getEvents({ startLedger: latest + 100, filters: [] })).rejects.toMatchObject({ code: -32600 });
  });
});
