import {
  Account,
  authorizeInvocation,
  Keypair,
  Operation,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import { ALL_ZEROS, ChannelEvents, CloseAuth } from "@quay/mpp";
import type { Metrics } from "@quay/metrics";
import type { QuayQueue } from "@quay/queue";
import { Intake, isFinal, LinkRefused, Records, type SettleQueue } from "@quay/settlement";
import { AuthEntry, type StellarNetwork } from "@quay/stellar";
import { Vault } from "@quay/vault";

const { mppChannels, mppCloses } = schema;

export type Channel = typeof mppChannels.$inferSelect;
export type Close = typeof mppCloses.$inferSelect;
export type CloseTrigger = "request" | "idle" | "ttl" | "dispute";

/** The `mpp-close` queue: job id = channel id, so a channel has at most one close job at a time. */
export type CloseQueue = QuayQueue<"mpp-close">;

/** A close job fails only when a dependency does (RPC, Postgres): retried with doubling backoff for a few hours. */
const CLOSE_JOB_RETRIES = { attempts: 15, backoff: { type: "exponential", delay: 1_000 } } as const;

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
        submissionId: null,
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
    await queue.add("mpp-close", { channelId }, { jobId: channelId, ...CLOSE_JOB_RETRIES });
  },

  /**
   * The close's submission is final: a run of its job records the outcome. A job of its own (one
   * per submission), since the channel's job may still be finishing the run that found the
   * submission under way; two runs of one close are safe.
   */
  async settled(queue: CloseQueue, channelId: string, submissionId: string): Promise<void> {
    await queue.add("mpp-close", { channelId }, { jobId: `${channelId}-settled-${submissionId}`, ...CLOSE_JOB_RETRIES });
  },

  /**
   * After a worker restart: a close job a killed worker was running stays active (its lock held)
   * until BullMQ notices the stall, so such a close gets a job of its own now. Two runs of one
   * close are safe: only one of them can link its submission to the close.
   */
  async resume(queue: CloseQueue, channelId: string): Promise<void> {
    const existing = await queue.getJob(channelId);
    if (!existing || !(await existing.isActive())) return Closes.enqueue(queue, channelId);
    await queue.add("mpp-close", { channelId }, { jobId: `${channelId}-resumed-${Date.now()}`, ...CLOSE_JOB_RETRIES });
  },

  /** Closes whose job must run (after a worker restart). */
  async unfinished(db: Db): Promise<string[]> {
    const rows = await db.select({ channelId: mppCloses.channelId }).from(mppCloses).where(inArray(mppCloses.status, ["requested", "submitting"]));
    return rows.map((r) => r.channelId);
  },

  /** The close(amount, sig) invocation the recipient authorises. */
  invocation(channel: string, amount: bigint, signatureHex: string): xdr.SorobanAuthorizedInvocation {
    return CloseAuth.invocation(channel, amount, signatureHex);
  },

};

export interface CloserDeps {
  readonly db: Db;
  readonly settleQueue: SettleQueue;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  /** Opens entrusted recipient keys; a process without it leaves such closes to one that has it. */
  readonly masterKey: Buffer | undefined;
  readonly metrics?: Pick<Metrics, "mppCloses">;
}

/**
 * Runs one channel's close: the worker's `mpp-close` job. The close transaction is a submission
 * (kind `mpp_close`, the recipient's authorisation its identity), accepted through `Intake` and
 * linked to the close in one database transaction, and settled by the engine like any other
 * (lease, rebuild, fee bump, attempt recorded before send, confirm). The job does not wait for
 * it: once the submission is final, the settle job queues this close's job again
 * (`Closer.afterFinal`), and that run records the outcome. So a worker killed anywhere leaves either
 * no submission (the next run creates it) or one the engine resumes: never two closes.
 * The api runs it too, for a close a tenant asks for: it records the submission (as x402 /settle
 * does), waits for it to be final, and runs it again to record the outcome it answers with.
 */
export const Closer = {
  async run(deps: CloserDeps, channelId: string): Promise<Close | undefined> {
    const [close] = await deps.db.select().from(mppCloses).where(eq(mppCloses.channelId, channelId));
    const [channel] = await deps.db.select().from(mppChannels).where(eq(mppChannels.id, channelId));
    if (!close || !channel || close.status === "succeeded" || close.status === "failed") return close;
    const network = deps.networks.get(channel.network);
    if (!network) return finishFailed(deps.db, close, "network_not_served");

    const submissionId = close.submissionId ?? (await submitClose(deps, network, channel, close));
    const reread = async () => (await deps.db.select().from(mppCloses).where(eq(mppCloses.id, close.id)))[0];
    if (!submissionId) return reread();
    const submission = await Records.submission(deps.db, submissionId);
    // Still settling: its settle job queues this close again once it is final.
    if (!submission || !isFinal(submission)) return close.submissionId ? close : reread();
    if (submission.status !== "succeeded" || !submission.txHash || submission.ledger === null) {
      return finishFailed(deps.db, close, submission.reason ?? "close_failed");
    }
    const moved = await closeEvents(network, channel.address, submission.txHash, submission.ledger);
    const finished = await deps.db.transaction(async (tx) => {
      const [done] = await tx
        .update(mppCloses)
        .set({ status: "succeeded", txHash: submission.txHash, ledger: submission.ledger, paid: moved.paid, refunded: moved.refunded, finishedAt: sql`now()`, updatedAt: sql`now()` })
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

  /** The settle job's hook for a final `mpp_close` submission: its close's job runs again to record the outcome. */
  async afterFinal(db: Db, queue: CloseQueue, submissionId: string): Promise<void> {
    const [close] = await db.select({ channelId: mppCloses.channelId }).from(mppCloses).where(eq(mppCloses.submissionId, submissionId));
    if (close) await Closes.settled(queue, close.channelId, submissionId);
  },
};

/** The close's submission, accepted and linked to the close in one database transaction; undefined when the close failed instead. */
async function submitClose(deps: CloserDeps, network: StellarNetwork, channel: Channel, close: Close): Promise<string | undefined> {
  const amount = close.amount!;
  const signature = close.signature!;
  let entry: xdr.SorobanAuthorizationEntry;
  if (close.recipientAuth) {
    entry = xdr.SorobanAuthorizationEntry.fromXDR(close.recipientAuth, "base64");
  } else if (channel.recipientSecretEncrypted) {
    if (!deps.masterKey) return undefined;
    const recipient = Keypair.fromSecret(Vault.open(deps.masterKey, channel.recipientSecretEncrypted, channel.address));
    const latest = await network.latestLedger();
    entry = await authorizeInvocation({
      signer: recipient,
      validUntilLedgerSeq: latest + AUTH_VALIDITY_LEDGERS,
      invocation: Closes.invocation(channel.address, amount, signature),
      networkPassphrase: network.passphrase,
    });
  } else {
    return (await finishFailed(deps.db, close, "recipient_auth_missing")) && undefined;
  }
  const credentials = AuthEntry.addressCredentials(entry);
  if (!credentials) return (await finishFailed(deps.db, close, "recipient_auth_not_address_credentials")) && undefined;
  const clientTx = new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: "100", networkPassphrase: network.passphrase })
    .addOperation(Operation.invokeContractFunction({ contract: channel.address, function: "close", args: closeArgs(amount, signature), auth: [entry] }))
    .setTimeout(0)
    .build();

  try {
    const acceptance = await Intake.accept(
      deps.db,
      deps.settleQueue,
      {
        network: channel.network,
        kind: "mpp_close",
        payer: channel.recipient,
        authNonce: credentials.nonce().toString(),
        termsHash: AuthEntry.termsHash(entry),
        clientTransaction: clientTx.toXDR(),
        signatureExpirationLedger: credentials.signatureExpirationLedger(),
        apiKeyId: channel.apiKeyId,
      },
      {
        link: async (tx, submission) => {
          const [linked] = await tx
            .update(mppCloses)
            .set({ submissionId: submission.id, status: "submitting", updatedAt: sql`now()` })
            .where(and(eq(mppCloses.id, close.id), isNull(mppCloses.submissionId), eq(mppCloses.status, "requested")))
            .returning({ id: mppCloses.id });
          return linked !== undefined;
        },
      },
    );
    if (acceptance.kind === "other_terms") return (await finishFailed(deps.db, close, "recipient_auth_nonce_reused")) && undefined;
    if (acceptance.kind === "held") {
      // The same authorisation was submitted before (a close asked for again with it): its outcome is this close's.
      await deps.db
        .update(mppCloses)
        .set({ submissionId: acceptance.submission.id, status: "submitting", updatedAt: sql`now()` })
        .where(and(eq(mppCloses.id, close.id), isNull(mppCloses.submissionId)));
      return (await deps.db.select().from(mppCloses).where(eq(mppCloses.id, close.id)))[0]?.submissionId ?? undefined;
    }
    return acceptance.submission.id;
  } catch (error) {
    if (!(error instanceof LinkRefused)) throw error;
    // Another run linked its submission first: that one is the close's.
    return (await deps.db.select().from(mppCloses).where(eq(mppCloses.id, close.id)))[0]?.submissionId ?? undefined;
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
  const answer = await network.getEvents({ startLedger: ledger, endLedger: ledger + 1, filters: [{ type: "contract", contractIds: [channel] }], limit: 100 });
  let paid = 0n;
  let refunded = 0n;
  for (const event of answer.events) {
    if (event.txHash !== txHash) continue;
    const parsed = ChannelEvents.parse(event);
    if (parsed?.name === "withdraw" && parsed.amount !== null) paid += parsed.amount;
    if (parsed?.name === "refund" && parsed.amount !== null) refunded += parsed.amount;
  }
  return { paid, refunded };
}

function closeArgs(amount: bigint, signatureHex: string): xdr.ScVal[] {
  return CloseAuth.args(amount, signatureHex);
}
