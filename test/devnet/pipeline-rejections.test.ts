import { Account, Asset, FeeBumpTransaction, Keypair, Networks, Operation, TransactionBuilder, rpc, xdr } from "@stellar/stellar-sdk";
import type { Transaction } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  builderFor,
  fundedKeypair,
  innerResultCode,
  opResultCodes,
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

/** A self-payment of 1 XLM: a cheap valid operation to wrap in each case. */
const selfPay = (kp: Keypair) => Operation.payment({ destination: kp.publicKey(), asset: Asset.native(), amount: "1" });

async function rejected(tx: Parameters<rpc.Server["sendTransaction"]>[0]): Promise<rpc.Api.SendTransactionResponse> {
  const sent = await t.server.sendTransaction(tx);
  expect(sent.status).toBe("ERROR");
  expect(sent.errorResult).toBeDefined();
  return sent;
}

describe("envelope judgment: each rejection carries the network's result code", () => {
  it("txBadAuth for a signature by the wrong key", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).build();
    tx.sign(Keypair.random());
    const sent = await rejected(tx);
    expect(txResultCode(sent.errorResult!)).toBe("txBadAuth");
  });

  it("txBadAuth for a missing signature", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).build();
    expect(txResultCode((await rejected(tx)).errorResult!)).toBe("txBadAuth");
  });

  it("txBadAuth for a signature over another network's passphrase", async () => {
    const a = await fundedKeypair(t.devnet);
    const account = await t.server.getAccount(a.publicKey());
    const foreign = new TransactionBuilder(account, { fee: "100", networkPassphrase: Networks.PUBLIC }).addOperation(selfPay(a)).setTimeout(30).build();
    foreign.sign(a);
    // Same envelope, judged under the devnet's passphrase: the signature covers another hash.
    const local = TransactionBuilder.fromXDR(foreign.toXDR(), t.passphrase) as Transaction;
    expect(txResultCode((await rejected(local)).errorResult!)).toBe("txBadAuth");
  });

  it("txBadAuthExtra for a signature nobody needed", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).build();
    tx.sign(a, Keypair.random());
    // The stray key's hint matches no signer, so the signature goes unused.
    expect(txResultCode((await rejected(tx)).errorResult!)).toBe("txBadAuthExtra");
  });

  it("opBadAuth when an operation's own source did not sign", async () => {
    const a = await fundedKeypair(t.devnet);
    const b = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey()))
      .addOperation(Operation.payment({ source: b.publicKey(), destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(30)
      .build();
    tx.sign(a);
    const sent = await rejected(tx);
    expect(txResultCode(sent.errorResult!)).toBe("txFailed");
    expect(opResultCodes(sent.errorResult!)).toEqual(["opBadAuth"]);
  });

  it("txBadSeq for a stale or skipped sequence number", async () => {
    const a = await fundedKeypair(t.devnet);
    const account = await t.server.getAccount(a.publicKey());
    const skipped = new Account(a.publicKey(), (BigInt(account.sequenceNumber()) + 5n).toString());
    const tx = new TransactionBuilder(skipped, { fee: "100", networkPassphrase: t.passphrase }).addOperation(selfPay(a)).setTimeout(30).build();
    tx.sign(a);
    expect(txResultCode((await rejected(tx)).errorResult!)).toBe("txBadSeq");

    const ok = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).build();
    ok.sign(a);
    expect((await submitAndWait(t.server, ok)).status).toBe("SUCCESS");
    // Another transaction on the landed one's sequence number: it is used up.
    const stale = new TransactionBuilder(new Account(a.publicKey(), account.sequenceNumber()), { fee: "101", networkPassphrase: t.passphrase })
      .addOperation(selfPay(a))
      .setTimeout(30)
      .build();
    stale.sign(a);
    expect(txResultCode((await rejected(stale)).errorResult!)).toBe("txBadSeq");
    // The landed transaction itself is banned for a while, as stellar-core bans applied hashes.
    expect((await t.server.sendTransaction(ok)).status).toBe("TRY_AGAIN_LATER");
  });

  it("txTooLate and txTooEarly from time bounds", async () => {
    const a = await fundedKeypair(t.devnet);
    const now = Math.floor(Date.now() / 1000);
    const late = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimebounds(0, now - 5).build();
    late.sign(a);
    expect(txResultCode((await rejected(late)).errorResult!)).toBe("txTooLate");
    const early = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimebounds(now + 3600, 0).build();
    early.sign(a);
    expect(txResultCode((await rejected(early)).errorResult!)).toBe("txTooEarly");
  });

  it("judges PreconditionsV2: ledger bounds, minSeqNum gaps, and refuses the unmodelled minSeqAge", async () => {
    const a = await fundedKeypair(t.devnet);
    const latest = (await t.server.getLatestLedger()).sequence;
    const expired = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).setLedgerbounds(1, latest).build();
    expired.sign(a);
    expect(txResultCode((await rejected(expired)).errorResult!)).toBe("txTooLate");
    const future = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).setLedgerbounds(latest + 1000, 0).build();
    future.sign(a);
    expect(txResultCode((await rejected(future)).errorResult!)).toBe("txTooEarly");
    const aged = (await builderFor(t, a.publicKey())).addOperation(selfPay(a)).setTimeout(30).setMinAccountSequenceAge(60n).build();
    aged.sign(a);
    expect(txResultCode((await rejected(aged)).errorResult!)).toBe("txNotSupported");

    // minSeqNum lets a transaction jump ahead of account seq + 1.
    const account = await t.server.getAccount(a.publicKey());
    const current = BigInt(account.sequenceNumber());
    const jump = new TransactionBuilder(new Account(a.publicKey(), (current + 9n).toString()), { fee: "100", networkPassphrase: t.passphrase })
      .addOperation(selfPay(a))
      .setTimeout(30)
      .setMinAccountSequence(current.toString())
      .build();
    jump.sign(a);
    expect((await submitAndWait(t.server, jump)).status).toBe("SUCCESS");
    expect((await t.server.getAccount(a.publicKey())).sequenceNumber()).toBe((current + 10n).toString());
  });

  it("txInsufficientFee below 100 stroops per operation", async () => {
    const a = await fundedKeypair(t.devnet);
    // The SDK's fee is per operation: 2 x 60 = 120 stroops for 2 operations.
    const tx = (await builderFor(t, a.publicKey(), "60")).addOperation(selfPay(a)).addOperation(selfPay(a)).setTimeout(30).build();
    tx.sign(a);
    expect(txResultCode((await rejected(tx)).errorResult!)).toBe("txInsufficientFee");
  });

  it("txInsufficientBalance when the fee exceeds what the account may spend", async () => {
    const a = await fundedKeypair(t.devnet);
    const poor = Keypair.random();
    const create = (await builderFor(t, a.publicKey()))
      .addOperation(Operation.createAccount({ destination: poor.publicKey(), startingBalance: "1.0000050" }))
      .setTimeout(30)
      .build();
    create.sign(a);
    expect((await submitAndWait(t.server, create)).status).toBe("SUCCESS");
    // 1 XLM is the two-reserve minimum; 50 stroops above it cannot pay a 100-stroop fee.
    const tx = (await builderFor(t, poor.publicKey())).addOperation(selfPay(poor)).setTimeout(30).build();
    tx.sign(poor);
    expect(txResultCode((await rejected(tx)).errorResult!)).toBe("txInsufficientBalance");
  });

  it("txNoAccount for a source that does not exist", async () => {
    const ghost = Keypair.random();
    const tx = new TransactionBuilder(new Account(ghost.publicKey(), "1"), { fee: "100", networkPassphrase: t.passphrase })
      .addOperation(selfPay(ghost))
      .setTimeout(30)
      .build();
    tx.sign(ghost);
    expect(txResultCode((await rejected(tx)).errorResult!)).toBe("txNoAccount");
  });

  it("opNOT_SUPPORTED for operations the devnet does not run", async () => {
    const a = await fundedKeypair(t.devnet);
    const tx = (await builderFor(t, a.publicKey())).addOperation(Operation.manageData({ name: "k", value: "v" })).setTimeout(30).build();
    tx.sign(a);
    const sent = await rejected(tx);
    expect(opResultCodes(sent.errorResult!)).toEqual(["opNotSupported"]);
  });

  it("answers undecodable envelopes with a JSON-RPC invalid-params error", async () => {
    const res = await fetch(t.devnet.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "sendTransaction", params: { transaction: "AAAA" } }),
    });
    const body = (await res.json()) as { id: number; error: { code: number; message: string } };
    expect(body.id).toBe(7);
    expect(body.error.code).toBe(-32602);
    const unknown = await fetch(t.devnet.rpcUrl, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 8, method: "getNothing" }),
    });
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32601);
  });
});

describe("fee bumps", () => {
  it("the fee source pays; the inner source only spends its operations", async () => {
    const inner = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    const innerTx = (await builderFor(t, inner.publicKey())).addOperation(selfPay(inner)).setTimeout(30).build();
    innerTx.sign(inner);
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "1000", innerTx, t.passphrase);
    bump.sign(sponsor);
    const res = await submitAndWait(t.server, bump);
    expect(res.status).toBe("SUCCESS");
    if (res.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(res.feeBump).toBe(true);
    expect(txResultCode(res.resultXdr)).toBe("txFeeBumpInnerSuccess");
    // Charged at the base rate: (1 op + 1) x 100 stroops.
    expect(BigInt(res.resultXdr.feeCharged().toString())).toBe(200n);
    expect(await xlmBalance(t.server, sponsor.publicKey())).toBe(10_000n * XLM - 200n);
    expect(await xlmBalance(t.server, inner.publicKey())).toBe(10_000n * XLM);
    const account = await t.server.getAccount(inner.publicKey());
    expect(account.sequenceNumber()).toBe(innerTx.sequence);
  });

  it("rejects a bad outer signature with txBadAuth", async () => {
    const inner = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    const innerTx = (await builderFor(t, inner.publicKey())).addOperation(selfPay(inner)).setTimeout(30).build();
    innerTx.sign(inner);
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "1000", innerTx, t.passphrase);
    bump.sign(Keypair.random());
    expect(txResultCode((await rejected(bump)).errorResult!)).toBe("txBadAuth");
  });

  it("rejects an outer fee below (ops + 1) x base fee with txInsufficientFee", async () => {
    const inner = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    const innerTx = (await builderFor(t, inner.publicKey())).addOperation(selfPay(inner)).setTimeout(30).build();
    innerTx.sign(inner);
    // The SDK refuses to build it, so lower the outer fee in the XDR: 150 for 2 fee operations is 75 per op.
    const envelope = TransactionBuilder.buildFeeBumpTransaction(sponsor, "100", innerTx, t.passphrase).toEnvelope();
    envelope.feeBump().tx().fee(xdr.Int64.fromString("150"));
    const bump = new FeeBumpTransaction(envelope, t.passphrase);
    bump.sign(sponsor);
    expect(txResultCode((await rejected(bump)).errorResult!)).toBe("txInsufficientFee");
  });

  it("wraps an invalid inner transaction in txFeeBumpInnerFailed", async () => {
    const inner = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    const innerTx = (await builderFor(t, inner.publicKey())).addOperation(selfPay(inner)).setTimeout(30).build();
    innerTx.sign(Keypair.random());
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "1000", innerTx, t.passphrase);
    bump.sign(sponsor);
    const sent = await rejected(bump);
    expect(txResultCode(sent.errorResult!)).toBe("txFeeBumpInnerFailed");
    expect(innerResultCode(sent.errorResult!)).toBe("txBadAuth");
    expect(sent.errorResult!.result().innerResultPair().transactionHash().toString("hex")).toBe(innerTx.hash().toString("hex"));
  });

  it("lets a fee bump carry an inner transaction whose own fee is below the minimum", async () => {
    const inner = await fundedKeypair(t.devnet);
    const sponsor = await fundedKeypair(t.devnet);
    const innerTx = (await builderFor(t, inner.publicKey(), "0")).addOperation(selfPay(inner)).setTimeout(30).build();
    innerTx.sign(inner);
    expect(txResultCode((await rejected(innerTx)).errorResult!)).toBe("txInsufficientFee");
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "200", innerTx, t.passphrase);
    bump.sign(sponsor);
    expect((await submitAndWait(t.server, bump)).status).toBe("SUCCESS");
  });
});
