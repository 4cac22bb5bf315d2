/**
 * The transaction queue's harsh rules, as stellar-core has them: a transaction not included within
 * 4 ledgers is dropped and banned for 10, applied transactions are banned too, a full queue wants a
 * better bid, and a fee source's pending fees count against its balance. Each can be switched off.
 */
import { Account, Asset, Keypair, Operation, TransactionBuilder } from "@stellar/stellar-sdk";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import type { StartOptions } from "../../apps/devnet/src/index";
import { builderFor, closeLedger, fundedKeypair, setFaults, devnetPerTest, submitAndWait, txResultCode, waitForTx } from "./helpers";
import type { TestDevnet } from "./helpers";

const XLM = 10_000_000n;
const devnet = devnetPerTest();

/** A paused devnet: ledgers close only when the test says so. */
async function paused(options: StartOptions = {}): Promise<TestDevnet> {
  const t = await devnet(options);
  await setFaults(t.devnet, { paused: true });
  return t;
}

async function selfPayment(net: TestDevnet, kp: Keypair, fee: string, amount = "1"): Promise<Transaction> {
  const tx = (await builderFor(net, kp.publicKey(), fee))
    .addOperation(Operation.payment({ destination: kp.publicKey(), asset: Asset.native(), amount }))
    .setTimeout(0)
    .build();
  tx.sign(kp);
  return tx;
}

const hex = (tx: Transaction | FeeBumpTransaction): string => tx.hash().toString("hex");

async function closeMany(net: TestDevnet, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await closeLedger(net.devnet);
}

describe("queue timeout and bans (TRANSACTION_QUEUE_TIMEOUT_LEDGERS = 4, TRANSACTION_QUEUE_BAN_LEDGERS = 10)", () => {
  it("drops a transaction not included within 4 ledgers: NOT_FOUND, its hash banned for 10 ledgers", async () => {
    // One transaction per ledger, and room in the queue for everyone.
    const net = await paused({ maxTxPerLedger: 1, queueSizeMultiplier: 10 });
    const crowd = await Promise.all([1, 2, 3, 4].map(() => fundedKeypair(net.devnet)));
    const b = await fundedKeypair(net.devnet);
    const before = (await net.server.getAccount(b.publicKey())).sequenceNumber();
    const cheap = await selfPayment(net, b, "100");
    expect((await net.server.sendTransaction(cheap)).status).toBe("PENDING");
    for (const kp of crowd) expect((await net.server.sendTransaction(await selfPayment(net, kp, "1000"))).status).toBe("PENDING");

    // Four ledgers, each taken by a richer transaction: the cheap one is dropped after the fourth.
    await closeMany(net, 3);
    expect((await net.server.sendTransaction(cheap)).status).toBe("DUPLICATE");
    const fourth = await closeLedger(net.devnet);
    expect(fourth.hashes).not.toContain(hex(cheap));
    expect((await net.server.getTransaction(hex(cheap))).status).toBe("NOT_FOUND");
    expect((await net.server.getAccount(b.publicKey())).sequenceNumber()).toBe(before);
    expect((await closeLedger(net.devnet)).txCount).toBe(0);

    // Banned: the same hash answers TRY_AGAIN_LATER; another transaction of the account is welcome.
    expect((await net.server.sendTransaction(cheap)).status).toBe("TRY_AGAIN_LATER");
    await closeMany(net, 8); // 9 ledgers since the drop
    expect((await net.server.sendTransaction(cheap)).status).toBe("TRY_AGAIN_LATER");
    await closeLedger(net.devnet); // the 10th
    expect((await net.server.sendTransaction(cheap)).status).toBe("PENDING");
    expect((await closeLedger(net.devnet)).hashes).toEqual([hex(cheap)]);
  });

  it("keeps waiting transactions with queueTimeoutLedgers: 0, and the fault switch can set the rule at run time", async () => {
    const net = await paused({ maxTxPerLedger: 1, queueSizeMultiplier: 10, queueTimeoutLedgers: 0 });
    const crowd = await Promise.all([1, 2, 3, 4, 5].map(() => fundedKeypair(net.devnet)));
    const b = await fundedKeypair(net.devnet);
    const cheap = await selfPayment(net, b, "100");
    expect((await net.server.sendTransaction(cheap)).status).toBe("PENDING");
    for (const kp of crowd) expect((await net.server.sendTransaction(await selfPayment(net, kp, "1000"))).status).toBe("PENDING");
    await closeMany(net, 5);
    expect((await closeLedger(net.devnet)).hashes).toEqual([hex(cheap)]);

    // Switched back on through the fault switch: a transaction waiting 4 ledgers is dropped again.
    expect((await setFaults(net.devnet, { rules: { queueTimeoutLedgers: 4 } })).rules).toEqual({ queueTimeoutLedgers: 4 });
    const others = await Promise.all([1, 2, 3, 4].map(() => fundedKeypair(net.devnet)));
    const late = await selfPayment(net, b, "100");
    expect((await net.server.sendTransaction(late)).status).toBe("PENDING");
    for (const kp of others) expect((await net.server.sendTransaction(await selfPayment(net, kp, "1000"))).status).toBe("PENDING");
    await closeMany(net, 4);
    expect((await net.server.sendTransaction(late)).status).toBe("TRY_AGAIN_LATER");
  });

  it("bans an applied transaction's hash: a resend answers TRY_AGAIN_LATER for 9 ledgers, then txBAD_SEQ", async () => {
    const net = await paused();
    const a = await fundedKeypair(net.devnet);
    const tx = await selfPayment(net, a, "100");
    expect((await net.server.sendTransaction(tx)).status).toBe("PENDING");
    await closeLedger(net.devnet);
    expect((await net.server.getTransaction(hex(tx))).status).toBe("SUCCESS");
    expect((await net.server.sendTransaction(tx)).status).toBe("TRY_AGAIN_LATER");
    await closeMany(net, 8);
    expect((await net.server.sendTransaction(tx)).status).toBe("TRY_AGAIN_LATER");
    await closeLedger(net.devnet);
    const sent = await net.server.sendTransaction(tx);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txBadSeq");
  });

  it("bans nothing with queueBanLedgers: 0", async () => {
    const net = await paused({ queueBanLedgers: 0 });
    const a = await fundedKeypair(net.devnet);
    const tx = await selfPayment(net, a, "100");
    expect((await net.server.sendTransaction(tx)).status).toBe("PENDING");
    await closeLedger(net.devnet);
    expect(txResultCode((await net.server.sendTransaction(tx)).errorResult!)).toBe("txBadSeq");
  });
});

describe("queue size limit (TRANSACTION_QUEUE_SIZE_MULTIPLIER = 2)", () => {
  it("a full queue wants a better bid: txINSUFFICIENT_FEE with the fee needed; a better one evicts the cheapest", async () => {
    // Room for 2 x 1 transactions.
    const net = await paused({ maxTxPerLedger: 1 });
    const [a, b, c, d, e] = await Promise.all([1, 2, 3, 4, 5].map(() => fundedKeypair(net.devnet)));
    const txA = await selfPayment(net, a!, "100");
    const txB = await selfPayment(net, b!, "100");
    expect((await net.server.sendTransaction(txA)).status).toBe("PENDING");
    expect((await net.server.sendTransaction(txB)).status).toBe("PENDING");

    const txC = await selfPayment(net, c!, "100");
    const refused = await net.server.sendTransaction(txC);
    expect(refused.status).toBe("ERROR");
    expect(txResultCode(refused.errorResult!)).toBe("txInsufficientFee");
    expect(BigInt(refused.errorResult!.feeCharged().toString())).toBe(101n);
    // Refused for its fee, its hash is banned.
    expect((await net.server.sendTransaction(txC)).status).toBe("TRY_AGAIN_LATER");

    // 200 beats 100: the cheapest, latest arrival (B) is evicted and banned.
    const txD = await selfPayment(net, d!, "200");
    expect((await net.server.sendTransaction(txD)).status).toBe("PENDING");
    expect((await net.server.sendTransaction(txB)).status).toBe("TRY_AGAIN_LATER");
    // Until the next ledger, a newcomer must beat the evicted bid too.
    const txE = await selfPayment(net, e!, "100");
    expect(BigInt((await net.server.sendTransaction(txE)).errorResult!.feeCharged().toString())).toBe(101n);

    const closed = await closeLedger(net.devnet);
    expect(closed.hashes).toEqual([hex(txD)]);
    expect((await closeLedger(net.devnet)).hashes).toEqual([hex(txA)]);
  });

  it("is unbounded with queueSizeMultiplier: 0", async () => {
    const net = await paused({ maxTxPerLedger: 1, queueSizeMultiplier: 0 });
    const kps = await Promise.all([1, 2, 3, 4].map(() => fundedKeypair(net.devnet)));
    for (const kp of kps) expect((await net.server.sendTransaction(await selfPayment(net, kp, "100"))).status).toBe("PENDING");
  });
});

describe("replace-by-fee by sequence number", () => {
  it("a fee bump of another transaction with the pending sequence number replaces it; an older sequence is txBAD_SEQ", async () => {
    const net = await paused();
    const a = await fundedKeypair(net.devnet);
    const sponsor = await fundedKeypair(net.devnet);
    const pending = await selfPayment(net, a, "100");
    expect((await net.server.sendTransaction(pending)).status).toBe("PENDING");

    // Same sequence number, other content: a plain transaction waits, a fee bump bidding 10x replaces.
    const other = await selfPayment(net, a, "100", "2");
    expect((await net.server.sendTransaction(other)).status).toBe("TRY_AGAIN_LATER");
    // 1 000 for each of the bump's 2 fee operations: 10x the pending 100.
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "1000", other, net.passphrase);
    bump.sign(sponsor);
    expect((await net.server.sendTransaction(bump)).status).toBe("PENDING");
    expect((await closeLedger(net.devnet)).hashes).toEqual([hex(bump)]);

    // The next sequence number is pending; one below it is refused outright.
    const next = await selfPayment(net, a, "100");
    expect((await net.server.sendTransaction(next)).status).toBe("PENDING");
    const account = await net.server.getAccount(a.publicKey());
    const older = new TransactionBuilder(new Account(a.publicKey(), (BigInt(account.sequenceNumber()) - 1n).toString()), { fee: "100", networkPassphrase: net.passphrase })
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "3" }))
      .setTimeout(0)
      .build();
    older.sign(a);
    const sent = await net.server.sendTransaction(older);
    expect(sent.status).toBe("ERROR");
    expect(txResultCode(sent.errorResult!)).toBe("txBadSeq");
  });

  it("with replaceBySequence: false only a fee bump of the identical transaction replaces it", async () => {
    const net = await paused({ replaceBySequence: false });
    const a = await fundedKeypair(net.devnet);
    const sponsor = await fundedKeypair(net.devnet);
    expect((await net.server.sendTransaction(await selfPayment(net, a, "100"))).status).toBe("PENDING");
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, "2000", await selfPayment(net, a, "100", "2"), net.passphrase);
    bump.sign(sponsor);
    expect((await net.server.sendTransaction(bump)).status).toBe("TRY_AGAIN_LATER");
  });
});

describe("a fee source's pending fees", () => {
  /** A sponsor whose available balance (above its reserve) is exactly `available` stroops. */
  async function thinSponsor(net: TestDevnet, available: bigint): Promise<Keypair> {
    const sponsor = await fundedKeypair(net.devnet);
    const sink = await fundedKeypair(net.devnet);
    // 10 000 XLM, less 1 XLM of reserve, less this payment's 100-stroop fee, leaves `available`.
    const amount = 10_000n * XLM - XLM - 100n - available;
    const pay = (await builderFor(net, sponsor.publicKey()))
      .addOperation(Operation.payment({ destination: sink.publicKey(), asset: Asset.native(), amount: stroops(amount) }))
      .setTimeout(0)
      .build();
    pay.sign(sponsor);
    await setFaults(net.devnet, { paused: false });
    expect((await submitAndWait(net.server, pay)).status).toBe("SUCCESS");
    await setFaults(net.devnet, { paused: true });
    return sponsor;
  }

  /** A fee bump of a one-operation transaction: `perOp` for each of its 2 fee operations. */
  async function bumped(net: TestDevnet, sponsor: Keypair, perOp: string): Promise<FeeBumpTransaction> {
    const inner = await selfPayment(net, await fundedKeypair(net.devnet), "100");
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, perOp, inner, net.passphrase);
    bump.sign(sponsor);
    return bump;
  }

  it("refuses a fee bump whose fee source cannot also pay for its pending ones (txINSUFFICIENT_BALANCE), until they land", async () => {
    const net = await paused();
    const sponsor = await thinSponsor(net, 1_000n);
    const first = await bumped(net, sponsor, "300");
    const second = await bumped(net, sponsor, "300");
    expect((await net.server.sendTransaction(first)).status).toBe("PENDING");
    const refused = await net.server.sendTransaction(second);
    expect(refused.status).toBe("ERROR");
    expect(txResultCode(refused.errorResult!)).toBe("txInsufficientBalance");
    expect(BigInt(refused.errorResult!.feeCharged().toString())).toBe(0n);
    // Each bids 600 in all. Once the first landed (charged 200), 800 are left: the second fits.
    await closeLedger(net.devnet);
    expect((await waitForTx(net.server, hex(first))).status).toBe("SUCCESS");
    expect((await net.server.sendTransaction(second)).status).toBe("PENDING");
  });

  it("checks each transaction alone with pendingFeeCheck: false", async () => {
    const net = await paused({ pendingFeeCheck: false });
    const sponsor = await thinSponsor(net, 1_000n);
    expect((await net.server.sendTransaction(await bumped(net, sponsor, "300"))).status).toBe("PENDING");
    expect((await net.server.sendTransaction(await bumped(net, sponsor, "300"))).status).toBe("PENDING");
  });
});

function stroops(amount: bigint): string {
  return `${amount / XLM}.${(amount % XLM).toString().padStart(7, "0")}`;
}

describe("admission time bounds (stellar-core's upper-bound close-time offset)", () => {
  /** A self-payment with explicit time bounds. */
  async function bounded(net: TestDevnet, kp: Keypair, minTime: number, maxTime: number): Promise<Transaction> {
    const tx = (await builderFor(net, kp.publicKey()))
      .addOperation(Operation.payment({ destination: kp.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimebounds(minTime, maxTime)
      .build();
    tx.sign(kp);
    return tx;
  }

  it("wants maxTime past the last close + 2 expected close times + the time since, and minTime not after the last close", async () => {
    // Expected close time 2 s: maxTime must reach 4 s past the last close, plus the drift since.
    const net = await paused({ ledgerCloseMs: 2_000 });
    const a = await fundedKeypair(net.devnet);
    await new Promise((r) => setTimeout(r, 1_100));
    const now = Math.floor(Date.now() / 1000);
    const soon = await net.server.sendTransaction(await bounded(net, a, 0, now + 2));
    expect(soon.status).toBe("ERROR");
    expect(txResultCode(soon.errorResult!)).toBe("txTooLate");
    // minTime after the last close (a second ago) but not in the future.
    const early = await net.server.sendTransaction(await bounded(net, a, now, now + 60));
    expect(txResultCode(early.errorResult!)).toBe("txTooEarly");
    expect((await net.server.sendTransaction(await bounded(net, a, 0, now + 60))).status).toBe("PENDING");
  });

  it("judges both against the next close time only with closeTimeSlack: false", async () => {
    const net = await paused({ ledgerCloseMs: 2_000, closeTimeSlack: false });
    const a = await fundedKeypair(net.devnet);
    await new Promise((r) => setTimeout(r, 1_100));
    const now = Math.floor(Date.now() / 1000);
    expect((await net.server.sendTransaction(await bounded(net, a, now, now + 2))).status).toBe("PENDING");
  });
});
