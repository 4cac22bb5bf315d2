import { Asset, Keypair, Operation, rpc } from "@stellar/stellar-sdk";
import type { Transaction } from "@stellar/stellar-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  builderFor,
  clearFaults,
  closeLedger,
  fundedKeypair,
  getFaults,
  setFaults,
  startTestDevnet,
  submitAndWait,
  txResultCode,
} from "./helpers";
import type { TestDevnet } from "./helpers";

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

async function selfPayment(kp: Keypair, fee = "100"): Promise<Transaction> {
  const tx = (await builderFor(t, kp.publicKey(), fee))
    .addOperation(Operation.payment({ destination: kp.publicKey(), asset: Asset.native(), amount: "1" }))
    .setTimeout(60)
    .build();
  tx.sign(kp);
  return tx;
}

describe("fault switch", () => {
  it("answers the next N sendTransaction calls with TRY_AGAIN_LATER, then behaves", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = await selfPayment(a);
    const state = await setFaults(t.devnet, { sendTransaction: { status: "TRY_AGAIN_LATER", count: 2 } });
    expect(state.sendTransaction).toMatchObject({ status: "TRY_AGAIN_LATER", remaining: 2 });
    expect((await t.server.sendTransaction(tx)).status).toBe("TRY_AGAIN_LATER");
    expect((await t.server.sendTransaction(tx)).status).toBe("TRY_AGAIN_LATER");
    expect((await getFaults(t.devnet)).sendTransaction).toBeNull();
    expect((await submitAndWait(t.server, tx)).status).toBe("SUCCESS");
  });

  it("answers sendTransaction with ERROR carrying the chosen result code", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = await selfPayment(a);
    await setFaults(t.devnet, { sendTransaction: { status: "ERROR", code: "txBadSeq" } });
    const sent = await t.server.sendTransaction(tx);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txBadSeq");
    await setFaults(t.devnet, { sendTransaction: { status: "ERROR" } });
    expect(txResultCode((await t.server.sendTransaction(tx)).errorResult!)).toBe("txInternalError");
    expect((await t.server.sendTransaction(tx)).status).toBe("PENDING");
  });

  it("delays answers of the chosen methods", async () => {
    // A delay far above what a busy machine adds to an answer, so the bounds tell the two apart.
    await setFaults(t.devnet, { delay: { ms: 2_000, methods: ["getLatestLedger"], count: 1 } });
    const startedOther = Date.now();
    await t.server.getHealth();
    expect(Date.now() - startedOther).toBeLessThan(1_500);
    const started = Date.now();
    await t.server.getLatestLedger();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_990);
    const again = Date.now();
    await t.server.getLatestLedger();
    expect(Date.now() - again).toBeLessThan(1_500);
  });

  it("drops answers (the RPC looks down) until the fault is cleared", async () => {
    await setFaults(t.devnet, { drop: {} });
    await expect(t.server.getHealth()).rejects.toThrow();
    await expect(t.server.getLatestLedger()).rejects.toThrow();
    await clearFaults(t.devnet);
    expect((await t.server.getHealth()).status).toBe("healthy");
  });

  it("accepts a transaction and then never includes it", async () => {
    const a = await fundedKeypair(t.devnet);
    const before = await t.server.getAccount(a.publicKey());
    const lost = await selfPayment(a);
    await setFaults(t.devnet, { swallow: { count: 1 } });
    expect((await t.server.sendTransaction(lost)).status).toBe("PENDING");
    await closeLedger(t.devnet);
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.server.getTransaction(lost.hash().toString("hex"))).status).toBe("NOT_FOUND");
    expect((await t.server.getAccount(a.publicKey())).sequenceNumber()).toBe(before.sequenceNumber());
    // The account is not blocked: the next transaction (same sequence) lands.
    const retry = await selfPayment(a, "200");
    expect((await submitAndWait(t.server, retry)).status).toBe("SUCCESS");
  });

  it("raises the minimum inclusion fee for admission and charging", async () => {
    const a = await fundedKeypair(t.devnet);
    await setFaults(t.devnet, { minInclusionFee: "1000" });
    const cheap = await selfPayment(a, "100");
    const sent = await t.server.sendTransaction(cheap);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txInsufficientFee");
    const paying = await selfPayment(a, "1500");
    const res = await submitAndWait(t.server, paying);
    expect(res.status).toBe("SUCCESS");
    if (res.status === rpc.Api.GetTransactionStatus.SUCCESS) expect(res.resultXdr.feeCharged().toString()).toBe("1000");
  });

  it("pauses and resumes ledger closing; close-ledger closes exactly one while paused", async () => {
    await setFaults(t.devnet, { paused: true });
    const paused = (await t.server.getLatestLedger()).sequence;
    await new Promise((r) => setTimeout(r, 350));
    expect((await t.server.getLatestLedger()).sequence).toBe(paused);
    const closed = await closeLedger(t.devnet);
    expect(closed.ledger).toBe(paused + 1);
    expect((await t.server.getLatestLedger()).sequence).toBe(paused + 1);
    await setFaults(t.devnet, { paused: false });
    await new Promise((r) => setTimeout(r, 350));
    expect((await t.server.getLatestLedger()).sequence).toBeGreaterThan(paused + 1);
  });

  it("reports faults with GET, clears them with DELETE, and rejects malformed ones with 400", async () => {
    await setFaults(t.devnet, { paused: true, minInclusionFee: 250, delay: { ms: 10 } });
    expect(await getFaults(t.devnet)).toMatchObject({ paused: true, minInclusionFee: "250", delay: { ms: 10, methods: null, remaining: null } });
    expect(await clearFaults(t.devnet)).toMatchObject({ paused: false, minInclusionFee: null, delay: null });
    const bad = await fetch(`${t.devnet.controlUrl}/faults`, { method: "POST", body: JSON.stringify({ sendTransaction: { status: "MAYBE" } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe("invalid_fault");
    const unknown = await fetch(`${t.devnet.controlUrl}/faults`, { method: "POST", body: JSON.stringify({ explode: true }) });
    expect(unknown.status).toBe(400);
  });
});
