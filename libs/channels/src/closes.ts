import {
  Account,
  Address,
  authorizeInvocation,
  Keypair,
  nativeToScVal,
  Operation,
  scValToNative,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";
import { and, eq, inArray, sql, TransactionRollbackError } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import { ALL_ZEROS } from "@quay/mpp";
import type { Metrics } from "@quay/metrics";
import type { QuayQueue } from "@quay/queue";
import { Intake, isFinal, Records, type SettleQueue } from "@quay/settlement";
import type { StellarNetwork } from "@quay/stellar";
import { Vault } from "@quay/vault";

const { mppChannels, mppCloses, payments } = schema;

export type Channel = typeof mppChannels.$inferSelect;
export type Close = typeof mppCloses.$inferSelect;
export type CloseTrigger = "request" | "idle" | "ttl" | "dispute";

/** The `mpp-close` queue: job id = channel id, so a channel has at most one close job at a time. */
export type CloseQueue = QuayQueue<"mpp-close">;

/** A close job that found the payment still under way; BullMQ retries it (the queue's backoff). */
export class CloseNotFinished extends Error {
  override readonly name = "CloseNotFinished";
}

/** How long the recipient authorisation Quay signs with an entrusted key stays valid, in ledgers. */
const AUTH_VALIDITY_LEDGERS = 2_000;

export const Closes = {
  /**
   * Decides a close: in one transaction, locks the channel row, stops it taking vouchers and
   * records the close with the highest commitment at that moment. A channel has one close row; a
   * failed close is only re-opened by an explicit request. Returns the close, or undefined when
   * nothing can be closed (no voucher yet, or no recipient authorisation possible).
   */
  async request(
    db: Db,
    channelId: string,
    trigger: CloseTrigger,
    options: { recipientAuth?: string; onlyIf?: (channel: Channel) => boolean } = {},
  ): Promise<Close | undefined> {
    return db.transaction(async (tx) => {
      const [channel] = await tx.select().from(mppChannels).where(eq(mppChannels.id, channelId)).for("update");
      if (!channel || channel.state === "closed") return undefined;
      const [existing] = await tx.select().from(mppCloses).where(eq(mppCloses.channelId, channelId));
      if (existing && existing.status !== "failed") return existing;
      if (existing && trigger !== "request") return undefined; // automatic triggers don't retry a failed close
      if (options.onlyIf && !options.onlyIf(channel)) return undefined;
      if (!channel.signature || channel.cumulative <= 0n) return undefined;
      if (!options.recipientAuth && !channel.recipientSecretEncrypted) return undefined;

      const fields = {
        trigger,
        status: "requested" as const,
        amount: channel.cumulative,
        signature: channel.signature,
        recipientAuth: options.recipientAuth ?? null,
        paymentId: null,
        txHash: null,
        ledger: null,
        paid: null,
        refunded: null,
        reason: null,
        finishedAt: null,
        updatedAt: sql`now()`,
      };
      const [close] = existing
        ? await tx.update(mppCloses).set(fields).where(eq(mppCloses.id, existing.id)).returning()
        : await tx.insert(mppCloses).values({ channelId, ...fields }).returning();
      await tx.update(mppChannels).set({ state: "closing", updatedAt: sql`now()` }).where(eq(mppChannels.id, channelId));
      return close;
    });
  },

  /** Idempotent: job id = channel id; a job that gave up or finished earlier is replaced. */
  async enqueue(queue: CloseQueue, channelId: string): Promise<void> {
    const existing = await queue.getJob(channelId);
    if (existing && ((await existing.isFailed()) || (await existing.isCompleted()))) await existing.remove();
    else if (existing) return;
    await queue.add("mpp-close", { channelId }, { jobId: channelId, attempts: 1_000, backoff: { type: "fixed", delay: 500 } });
  },

  /**
   * After a worker restart: a close job a killed worker was running stays active (its lock held)
   * until BullMQ notices the stall, so such a close gets a job of its own now. Two runs of one
   * close are safe: only one of them can link its payment to the close.
   */
  async resume(queue: CloseQueue, channelId: string): Promise<void> {
    const existing = await queue.getJob(channelId);
    if (!existing || !(await existing.isActive())) return Closes.enqueue(queue, channelId);
    await queue.add("mpp-close", { channelId }, { jobId: `${channelId}-resumed-${Date.now()}`, attempts: 1_000, backoff: { type: "fixed", delay: 500 } });
  },

  /** Closes whose job must run (after a worker restart). */
  async unfinished(db: Db): Promise<string[]> {
    const rows = await db.select({ channelId: mppCloses.channelId }).from(mppCloses).where(inArray(mppCloses.status, ["requested", "submitting"]));
    return rows.map((r) => r.channelId);
  },

  /** The close(amount, sig) invocation the recipient authorises. */
  invocation(channel: string, amount: bigint, signatureHex: string): xdr.SorobanAuthorizedInvocation {
    return new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
        new xdr.InvokeContractArgs({ contractAddress: Address.fromString(channel).toScAddress(), functionName: "close", args: closeArgs(amount, signatureHex) }),
      ),
      subInvocations: [],
    });
  },
};

export interface CloserDeps {
  readonly db: Db;
  readonly settleQueue: SettleQueue;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  readonly masterKey: Buffer;
  /** How long one job run waits for the settlement before handing back to the queue. */
  readonly waitMs?: number;
  readonly metrics?: Pick<Metrics, "mppCloses">;
}

/**
 * Runs one channel's close: the worker's `mpp-close` job. The close transaction is a `payments`
 * row (payer = recipient, whose authorisation it carries), created and linked to the close in one
 * database transaction, and settled by the x402 engine (lease, rebuild, fee bump, attempt recorded
 * before send, confirm). So a worker killed anywhere leaves either no payment (the next run
 * creates it) or one payment the engine resumes: never two closes.
 */
export const Closer = {
  async run(deps: CloserDeps, channelId: string): Promise<Close | undefined> {
    const [close] = await deps.db.select().from(mppCloses).where(eq(mppCloses.channelId, channelId));
    const [channel] = await deps.db.select().from(mppChannels).where(eq(mppChannels.id, channelId));
    if (!close || !channel || close.status === "succeeded" || close.status === "failed") return close;
    const network = deps.networks.get(channel.network);
    if (!network) return finishFailed(deps.db, close, "network_not_served");

    let paymentId: string | null | undefined = close.paymentId;
    if (!paymentId) paymentId = await createPayment(deps, network, channel, close);
    if (!paymentId) return (await deps.db.select().from(mppCloses).where(eq(mppCloses.id, close.id)))[0];

    const payment = await waitFinal(deps.db, paymentId, deps.waitMs ?? 20_000);
    if (!payment || !isFinal(payment)) throw new CloseNotFinished(`close of channel ${channel.address} is still settling`);
    if (payment.status !== "succeeded" || !payment.txHash || payment.ledger === null) {
      return finishFailed(deps.db, close, payment.reason ?? "close_failed");
    }
    const moved = await closeEvents(network, channel.address, payment.txHash, payment.ledger);
    const finished = await deps.db.transaction(async (tx) => {
      const [done] = await tx
        .update(mppCloses)
        .set({ status: "succeeded", txHash: payment.txHash, ledger: payment.ledger, paid: moved.paid, refunded: moved.refunded, finishedAt: sql`now()`, updatedAt: sql`now()` })
        .where(and(eq(mppCloses.id, close.id), inArray(mppCloses.status, ["requested", "submitting"])))
        .returning();
      await tx
        .update(mppChannels)
        .set({ state: "closed", withdrawn: sql`greatest(${mppChannels.withdrawn}, ${close.amount!.toString()}::numeric)`, updatedAt: sql`now()` })
        .where(eq(mppChannels.id, channel.id));
      return { close: done ?? close, first: done !== undefined };
    });
    if (finished.first) deps.metrics?.mppCloses.inc({ network: channel.network, kind: close.trigger === "dispute" ? "unilateral" : "cooperative" });
    return finished.close;
  },
};

async function createPayment(deps: CloserDeps, network: StellarNetwork, channel: Channel, close: Close): Promise<string | undefined> {
  const amount = close.amount!;
  const signature = close.signature!;
  let entry: xdr.SorobanAuthorizationEntry;
  if (close.recipientAuth) {
    entry = xdr.SorobanAuthorizationEntry.fromXDR(close.recipientAuth, "base64");
  } else if (channel.recipientSecretEncrypted) {
    const recipient = Keypair.fromSecret(Vault.open(deps.masterKey, channel.recipientSecretEncrypted, channel.address));
    const latest = await network.latestLedger();
    entry = await authorizeInvocation(recipient, latest + AUTH_VALIDITY_LEDGERS, Closes.invocation(channel.address, amount, signature), recipient.publicKey(), network.passphrase);
  } else {
    return (await finishFailed(deps.db, close, "recipient_auth_missing")) && undefined;
  }
  const credentials = entry.credentials().address();
  const clientTx = new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: "100", networkPassphrase: network.passphrase })
    .addOperation(Operation.invokeContractFunction({ contract: channel.address, function: "close", args: closeArgs(amount, signature), auth: [entry] }))
    .setTimeout(0)
    .build();

  const paymentId = await deps.db.transaction(async (tx) => {
    const [payment] = await tx
      .insert(payments)
      .values({
        network: channel.network,
        payer: channel.recipient,
        authNonce: credentials.nonce().toString(),
        asset: channel.address,
        payTo: channel.recipient,
        amount,
        clientTransaction: clientTx.toXDR(),
        signatureExpirationLedger: credentials.signatureExpirationLedger(),
        apiKeyId: channel.apiKeyId,
      })
      .returning();
    const [linked] = await tx
      .update(mppCloses)
      .set({ paymentId: payment!.id, status: "submitting", updatedAt: sql`now()` })
      .where(and(eq(mppCloses.id, close.id), sql`${mppCloses.paymentId} is null`, eq(mppCloses.status, "requested")))
      .returning();
    if (!linked) tx.rollback(); // another run linked its payment first
    return payment!.id;
  }).catch((error: unknown) => {
    if (error instanceof TransactionRollbackError) return undefined;
    throw error;
  });
  const linkedId = paymentId ?? (await deps.db.select().from(mppCloses).where(eq(mppCloses.id, close.id)))[0]?.paymentId ?? undefined;
  if (linkedId) await Intake.enqueue(deps.settleQueue, linkedId);
  return linkedId;
}

async function waitFinal(db: Db, paymentId: string, waitMs: number) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const payment = await Records.payment(db, paymentId);
    if (!payment || isFinal(payment) || Date.now() > deadline) return payment;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function finishFailed(db: Db, close: Close, reason: string): Promise<Close | undefined> {
  return db.transaction(async (tx) => {
    const [done] = await tx
      .update(mppCloses)
      .set({ status: "failed", reason, finishedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(mppCloses.id, close.id), inArray(mppCloses.status, ["requested", "submitting"])))
      .returning();
    // The channel takes vouchers again, so the tenant can ask for a new close.
    if (done) await tx.update(mppChannels).set({ state: "open", updatedAt: sql`now()` }).where(and(eq(mppChannels.id, close.channelId), eq(mppChannels.state, "closing")));
    return done ?? close;
  });
}

/** What the close transaction paid the recipient (`withdraw`) and returned to the funder (`refund`), from its events. */
async function closeEvents(network: StellarNetwork, channel: string, txHash: string, ledger: number): Promise<{ paid: bigint; refunded: bigint }> {
  const answer = await network.call("getEvents", () =>
    network.rpc.getEvents({ startLedger: ledger, endLedger: ledger + 1, filters: [{ type: "contract", contractIds: [channel] }], limit: 100 }),
  );
  let paid = 0n;
  let refunded = 0n;
  for (const event of answer.events) {
    if (event.txHash !== txHash) continue;
    const name = event.topic[0]?.switch() === xdr.ScValType.scvSymbol() ? event.topic[0].sym().toString() : "";
    const data = scValToNative(event.value) as { amount?: bigint };
    if (name === "withdraw" && typeof data.amount === "bigint") paid += data.amount;
    if (name === "refund" && typeof data.amount === "bigint") refunded += data.amount;
  }
  return { paid, refunded };
}

function closeArgs(amount: bigint, signatureHex: string): xdr.ScVal[] {
  return [nativeToScVal(amount, { type: "i128" }), xdr.ScVal.scvBytes(Buffer.from(signatureHex, "hex"))];
}
