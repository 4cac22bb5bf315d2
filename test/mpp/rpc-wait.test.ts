/**
 * @quay/mpp's wait for its own transactions decides "never included" from the ledger, and only on a
 * conclusive answer: stellar-rpc reads the transaction before the ledger range, so one NOT_FOUND
 * can come with a latest ledger newer than the transaction's own (the devnet's getTransactionRace).
 */
import { Asset, Operation } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { Rpc } from "@quay/mpp";
import { builderFor, closeLedger, devnetPerTest, fundedKeypair, setFaults } from "../devnet/helpers";

const devnet = devnetPerTest();

/** A paused devnet (ledgers close when the test says) and a signed payment whose time bounds end in 5 s (time enough to land on a busy machine). */
async function shortLivedPayment() {
  const t = await devnet();
  await setFaults(t.devnet, { paused: true });
  const payer = await fundedKeypair(t.devnet);
  const maxTime = Math.floor(Date.now() / 1000) + 5;
  const tx = (await builderFor(t, payer.publicKey()))
    .addOperation(Operation.payment({ destination: payer.publicKey(), asset: Asset.native(), amount: "1" }))
    .setTimebounds(0, maxTime)
    .build();
  tx.sign(payer);
  return { t, tx, maxTime };
}

describe("Rpc.waitForSuccess with the transaction's maxTime", () => {
  it("finds a transaction that landed although one answer, racing the RPC's ingestion, says NOT_FOUND past its maxTime", async () => {
    const { t, tx, maxTime } = await shortLivedPayment();
    const sent = await t.server.sendTransaction(tx);
    expect(sent.status).toBe("PENDING");
    await closeLedger(t.devnet); // it lands, before its maxTime
    await new Promise((resolve) => setTimeout(resolve, (maxTime + 1) * 1000 - Date.now()));
    await closeLedger(t.devnet); // a ledger closes past its maxTime
    await setFaults(t.devnet, { getTransactionRace: { count: 1 } });

    const got = await Rpc.waitForSuccess(t.server, sent.hash, { maxTime, intervalMs: 50, timeoutMs: 2_000 });
    expect(got.status).toBe("SUCCESS");
  });

  it("answers transaction_expired for one never included, once a ledger past its maxTime says so twice", async () => {
    const { t, tx, maxTime } = await shortLivedPayment();
    await setFaults(t.devnet, { swallow: { count: 1 } });
    const sent = await t.server.sendTransaction(tx);
    expect(sent.status).toBe("PENDING");
    await new Promise((resolve) => setTimeout(resolve, (maxTime + 1) * 1000 - Date.now()));
    await closeLedger(t.devnet);

    await expect(Rpc.waitForSuccess(t.server, sent.hash, { maxTime, intervalMs: 50, timeoutMs: 2_000 })).rejects.toMatchObject({ reason: "transaction_expired" });
  });
});
