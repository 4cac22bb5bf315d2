import { Asset, Keypair, Operation, rpc, xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  USDC,
  builderFor,
  closeLedger,
  fund,
  fundedKeypair,
  opResultCodes,
  setFaults,
  clearFaults,
  startTestDevnet,
  submitAndWait,
  txResultCode,
  usdcBalance,
  waitForTx,
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

describe("network facts", () => {
  it("answers getHealth, getNetwork, getVersionInfo and getLatestLedger as rpc.Server parses them", async () => {
    const health = await t.server.getHealth();
    expect(health.status).toBe("healthy");
    expect(health.oldestLedger).toBe(1);
    // stellar-rpc v27.1 adds the close times (unix seconds) to getHealth; rpc.Server passes them through.
    const rawHealth = health as typeof health & { latestLedgerCloseTime?: number; oldestLedgerCloseTime?: number };
    expect(rawHealth.latestLedgerCloseTime).toBeGreaterThanOrEqual(rawHealth.oldestLedgerCloseTime ?? Infinity);

    const network = await t.server.getNetwork();
    expect(network.passphrase).toBe("Test SDF Network ; September 2015");
    expect(Number(network.protocolVersion)).toBe(28);
    expect(network.friendbotUrl).toBe(t.devnet.friendbotUrl);

    const version = await t.server.getVersionInfo();
    expect(version.protocolVersion).toBe(28);
    expect(version).not.toHaveProperty("protocol_version");

    const first = await t.server.getLatestLedger();
    expect(first.id).toMatch(/^[0-9a-f]{64}$/);
    await new Promise((r) => setTimeout(r, 250));
    const later = await t.server.getLatestLedger();
    expect(later.sequence).toBeGreaterThan(first.sequence);
    expect(Number(later.protocolVersion)).toBe(28);
    expect(later.headerXdr.ledgerVersion()).toBe(28);
  });

  it("holds the root and USDC issuer accounts from genesis", async () => {
    const root = Keypair.master(t.passphrase).publicKey();
    expect(await xlmBalance(t.server, root)).toBeGreaterThan(1_000_000_000n * XLM);
    const issuer = await t.server.getAccount(USDC.getIssuer()!);
    expect(issuer.accountId()).toBe(USDC.getIssuer()!);
  });

  it("serves getLedgers with parseable header and close meta", async () => {
    const res = await t.server.getLedgers({ startLedger: 1, pagination: { limit: 2 } });
    expect(res.ledgers.map((l) => l.sequence)).toEqual([1, 2]);
    expect(res.ledgers[1]?.headerXdr.header().ledgerSeq()).toBe(2);
    expect(res.ledgers[1]?.headerXdr.header().previousLedgerHash().toString("hex")).toBe(res.ledgers[0]?.hash);
    expect(res.cursor).toBe("2");
  });
});

describe("friendbot", () => {
  it("creates an account with 10 000 XLM at sequence ledger << 32", async () => {
    const kp = Keypair.random();
    const answer = await fund(t.devnet, kp.publicKey());
    expect(answer.ok).toBe(true);
    const tx = await t.server.getTransaction(answer.hash as string);
    expect(tx.status).toBe("SUCCESS");
    const account = await t.server.getAccountEntry(kp.publicKey());
    expect(BigInt(account.balance().toString())).toBe(10_000n * XLM);
    expect(BigInt(account.seqNum().toString())).toBe(BigInt(answer.ledger as number) << 32n);
  });

  it("gives a USDC trustline with the requested base units", async () => {
    const kp = await fundedKeypair(t.devnet, { usdc: 12_345_678n });
    expect(await usdcBalance(t.server, kp.publicKey())).toBe(12_345_678n);
    // Topping up an existing account adds to the trustline.
    await fund(t.devnet, kp.publicKey(), { usdc: 2n });
    expect(await usdcBalance(t.server, kp.publicKey())).toBe(12_345_680n);
    const entry = await t.server.getAccountEntry(kp.publicKey());
    expect(entry.numSubEntries()).toBe(1);
  });

  it("refuses bad input and already-funded accounts with clear 4xx JSON", async () => {
    const bad = await fetch(`${t.devnet.friendbotUrl}?addr=GNOPE`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_address" });
    const badUsdc = await fetch(`${t.devnet.friendbotUrl}?addr=${Keypair.random().publicKey()}&usdc=1.5`);
    expect(badUsdc.status).toBe(400);
    const kp = await fundedKeypair(t.devnet);
    const again = await fetch(`${t.devnet.friendbotUrl}?addr=${kp.publicKey()}`);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "createAccountAlreadyExist" });
  });

  it("works with rpc.Server.requestAirdrop", async () => {
    const kp = Keypair.random();
    const account = await t.server.requestAirdrop(kp.publicKey());
    expect(account.accountId()).toBe(kp.publicKey());
    expect(BigInt(account.sequenceNumber())).toBeGreaterThan(0n);
  });
});

describe("classic operations", () => {
  it("moves exactly the XLM of a payment and charges the 100-stroop fee", async () => {
    const alice = await fundedKeypair(t.devnet);
    const bob = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, alice.publicKey()))
      .addOperation(Operation.payment({ destination: bob.publicKey(), asset: Asset.native(), amount: "12.5" }))
      .setTimeout(30)
      .build();
    tx.sign(alice);
    const res = await submitAndWait(t.server, tx);
    expect(res.status).toBe("SUCCESS");
    if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(BigInt(res.resultXdr.feeCharged().toString())).toBe(100n);
    expect(res.applicationOrder).toBe(1);
    expect(await xlmBalance(t.server, alice.publicKey())).toBe(10_000n * XLM - 125_000_000n - 100n);
    expect(await xlmBalance(t.server, bob.publicKey())).toBe(10_000n * XLM + 125_000_000n);
    // CAP-67: the payment shows as the native SAC's transfer event.
    const events = res.events.contractEventsXdr[0] ?? [];
    expect(events).toHaveLength(1);
    expect(events[0]?.body().v0().topics()[0]?.sym().toString()).toBe("transfer");
  });

  it("creates many accounts in one transaction (batched createAccount)", async () => {
    const funder = await fundedKeypair(t.devnet);
    const channels = Array.from({ length: 25 }, () => Keypair.random());
    const builder = await builderFor(t, funder.publicKey());
    for (const c of channels) builder.addOperation(Operation.createAccount({ destination: c.publicKey(), startingBalance: "5" }));
    const tx = builder.setTimeout(30).build();
    tx.sign(funder);
    const res = await submitAndWait(t.server, tx);
    expect(res.status).toBe("SUCCESS");
    if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(BigInt(res.resultXdr.feeCharged().toString())).toBe(2500n);
    for (const c of channels) expect(await xlmBalance(t.server, c.publicKey())).toBe(5n * XLM);
    expect(await xlmBalance(t.server, funder.publicKey())).toBe(10_000n * XLM - 125n * XLM - 2500n);
  });

  it("pays USDC between trustlines after changeTrust", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 50_000_000n });
    const payee = await fundedKeypair(t.devnet);
    const trust = (await builderFor(t, payee.publicKey())).addOperation(Operation.changeTrust({ asset: USDC })).setTimeout(30).build();
    trust.sign(payee);
    expect((await submitAndWait(t.server, trust)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(0n);

    const pay = (await builderFor(t, payer.publicKey()))
      .addOperation(Operation.payment({ destination: payee.publicKey(), asset: USDC, amount: "1.2345678" }))
      .setTimeout(30)
      .build();
    pay.sign(payer);
    expect((await submitAndWait(t.server, pay)).status).toBe("SUCCESS");
    expect(await usdcBalance(t.server, payer.publicKey())).toBe(50_000_000n - 12_345_678n);
    expect(await usdcBalance(t.server, payee.publicKey())).toBe(12_345_678n);
  });

  it("fails a payment to an account without a trustline, still consuming seq and fee", async () => {
    const payer = await fundedKeypair(t.devnet, { usdc: 10n });
    const payee = await fundedKeypair(t.devnet);
    const before = await t.server.getAccount(payer.publicKey());
    const pay = (await builderFor(t, payer.publicKey()))
      .addOperation(Operation.payment({ destination: payee.publicKey(), asset: USDC, amount: "0.0000001" }))
      .setTimeout(30)
      .build();
    pay.sign(payer);
    const res = await submitAndWait(t.server, pay);
    expect(res.status).toBe("FAILED");
    if (res.status !== rpc.Api.GetTransactionStatus.FAILED) return;
    expect(txResultCode(res.resultXdr)).toBe("txFailed");
    expect(opResultCodes(res.resultXdr)).toEqual(["paymentNoTrust"]);
    const after = await t.server.getAccount(payer.publicKey());
    expect(BigInt(after.sequenceNumber())).toBe(BigInt(before.sequenceNumber()) + 1n);
    expect(await xlmBalance(t.server, payer.publicKey())).toBe(10_000n * XLM - 100n);
    expect(await usdcBalance(t.server, payer.publicKey())).toBe(10n);
  });

  it("drops every change of a failed multi-op transaction", async () => {
    const src = await fundedKeypair(t.devnet);
    const fresh = Keypair.random();
    const tx = (await builderFor(t, src.publicKey(), "100"))
      .addOperation(Operation.createAccount({ destination: fresh.publicKey(), startingBalance: "10" }))
      .addOperation(Operation.payment({ destination: fresh.publicKey(), asset: Asset.native(), amount: "999999" }))
      .setTimeout(30)
      .build();
    tx.sign(src);
    const res = await submitAndWait(t.server, tx);
    expect(res.status).toBe("FAILED");
    if (res.status !== rpc.Api.GetTransactionStatus.FAILED) return;
    expect(opResultCodes(res.resultXdr)).toEqual(["createAccountSuccess", "paymentUnderfunded"]);
    await expect(t.server.getAccount(fresh.publicKey())).rejects.toThrow(/not found/i);
    expect(await xlmBalance(t.server, src.publicKey())).toBe(10_000n * XLM - 200n);
  });
});

describe("getTransaction", () => {
  it("is NOT_FOUND until the ledger holding the transaction closes, then SUCCESS with parseable meta", async () => {
    const alice = await fundedKeypair(t.devnet);
    await setFaults(t.devnet, { paused: true });
    try {
      const tx = (await builderFor(t, alice.publicKey()))
        .addOperation(Operation.payment({ destination: alice.publicKey(), asset: Asset.native(), amount: "1" }))
        .setTimeout(30)
        .build();
      tx.sign(alice);
      const sent = await t.server.sendTransaction(tx);
      expect(sent.status).toBe("PENDING");
      expect(sent.hash).toBe(tx.hash().toString("hex"));
      await new Promise((r) => setTimeout(r, 300));
      expect((await t.server.getTransaction(sent.hash)).status).toBe("NOT_FOUND");
      const closed = await closeLedger(t.devnet);
      expect(closed.hashes).toContain(sent.hash);
      const res = await t.server.getTransaction(sent.hash);
      expect(res.status).toBe("SUCCESS");
      if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
      expect(res.ledger).toBe(closed.ledger);
      expect(res.envelopeXdr.toXDR("base64")).toBe(tx.toEnvelope().toXDR("base64"));
      expect(res.resultMetaXdr.switch()).toBe(4);
      expect(res.feeBump).toBe(false);
      expect(res.createdAt).toBeTruthy();
    } finally {
      await clearFaults(t.devnet);
    }
  });

  it("lists landed transactions with getTransactions paging", async () => {
    const a = await fundedKeypair(t.devnet);
    const latest = await t.server.getLatestLedger();
    const tx = (await builderFor(t, a.publicKey()))
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(30)
      .build();
    tx.sign(a);
    const landed = await submitAndWait(t.server, tx);
    const page = await t.server.getTransactions({ startLedger: latest.sequence, pagination: { limit: 50 } });
    const found = page.transactions.find((x) => x.txHash === tx.hash().toString("hex"));
    expect(found?.status).toBe("SUCCESS");
    expect(found?.ledger).toBe((landed as rpc.Api.GetSuccessfulTransactionResponse).ledger);
    const next = await t.server.getTransactions({ pagination: { cursor: page.cursor, limit: 50 } });
    expect(next.transactions.find((x) => x.txHash === tx.hash().toString("hex"))).toBeUndefined();
  });

  it("returns the XDR of ledger entries with lastModifiedLedgerSeq", async () => {
    const a = await fundedKeypair(t.devnet, { usdc: 5n });
    const key = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(a.publicKey()).xdrAccountId() }));
    const res = await t.server.getLedgerEntries(key);
    expect(res.entries).toHaveLength(1);
    expect(res.entries[0]?.lastModifiedLedgerSeq).toBeGreaterThan(1);
    expect(res.entries[0]?.liveUntilLedgerSeq).toBeUndefined();
    expect(res.entries[0]?.val.account().accountId().toXDR("hex")).toBe(Keypair.fromPublicKey(a.publicKey()).xdrAccountId().toXDR("hex"));
  });

  it("waits for a real transaction with the helper", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey()))
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(30)
      .build();
    tx.sign(a);
    const sent = await t.server.sendTransaction(tx);
    const res = await waitForTx(t.server, sent.hash);
    expect(res.status).toBe("SUCCESS");
    // Rebuilding on the new sequence number works: the account's seq became the tx's.
    const account = await t.server.getAccount(a.publicKey());
    expect(account.sequenceNumber()).toBe(tx.sequence);
  });
});
