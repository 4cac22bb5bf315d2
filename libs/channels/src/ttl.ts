import { Account, Operation, SorobanDataBuilder, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { and, count, eq, inArray, min, ne, sql } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import { ALL_ZEROS } from "@quay/mpp";
import { Intake, type SettleQueue, type Submission } from "@quay/settlement";
import type { StellarNetwork } from "@quay/stellar";
import { Closes, type Channel, type CloseQueue } from "./closes";
import { ChannelLedger, type ChannelEntry } from "./ledger";

const { mppChannels, mppTtlBumps, submissions } = schema;

export interface SweepDeps {
  readonly db: Db;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  readonly settleQueue: SettleQueue;
  readonly closeQueue: CloseQueue;
  readonly logger: Logger;
  readonly defaults: { readonly ttlThresholdLedgers: number; readonly ttlExtendTo: number };
  readonly metrics?: Pick<Metrics, "mppTtlBumps" | "mppChannels" | "mppUnsettled" | "mppMinTtl">;
  readonly now?: () => number;
}

export interface SweepReport {
  readonly checked: number;
  readonly restored: number;
  readonly extended: number;
  readonly closesRequested: number;
}

/**
 * The worker's repeatable `mpp-ttl` job. For every channel Quay still watches: restores archived
 * entries (instance, Wasm code, token balance), extends those with fewer than the threshold's
 * ledgers left, and requests closes for channels idle past their policy, or whose TTL runs low
 * while extension is turned off for them. A restore or an extension is a submission (kind
 * `ttl_bump`) the settlement engine runs on a pool account, recorded with its bump row in one
 * transaction; a channel with one still under way is left to the next run. Every step re-reads the
 * ledger, so a run killed half-way is simply done again by the next one.
 */
export const TtlSweep = {
  async run(deps: SweepDeps, networkId?: string): Promise<SweepReport> {
    const channels = await deps.db
      .select()
      .from(mppChannels)
      .where(and(inArray(mppChannels.state, ["open", "closing"]), networkId ? eq(mppChannels.network, networkId) : sql`true`));
    let restored = 0;
    let extended = 0;
    let closesRequested = 0;
    for (const channel of channels) {
      const network = deps.networks.get(channel.network);
      if (!network) continue;
      try {
        const outcome = await TtlSweep.channel(deps, network, channel);
        restored += outcome.restored ? 1 : 0;
        extended += outcome.extended ? 1 : 0;
        closesRequested += outcome.closeRequested ? 1 : 0;
      } catch (error) {
        deps.metrics?.mppTtlBumps.inc({ network: channel.network, outcome: "failed" });
        deps.logger.warn({ channel: channel.address, err: error }, "TTL sweep of a channel failed; the next run retries");
      }
    }
    if (deps.metrics) await observe(deps, deps.metrics);
    return { checked: channels.length, restored, extended, closesRequested };
  },

  async channel(deps: SweepDeps, network: StellarNetwork, channel: Channel): Promise<{ restored: boolean; extended: boolean; closeRequested: boolean }> {
    const threshold = channel.ttlThresholdLedgers ?? deps.defaults.ttlThresholdLedgers;
    const extendTo = channel.ttlExtendTo ?? deps.defaults.ttlExtendTo;
    let { entries, latestLedger } = await ChannelLedger.entries(network, channel);
    // A balance entry that was never written (or was drained and deleted) is nothing to keep alive.
    entries = entries.filter((e) => e.liveUntilLedger !== null);
    let restored = false;
    let extended = false;
    let closeRequested = false;

    const bumping = extendTo > 0 && channel.state === "open";
    const archived = entries.filter((e) => e.liveUntilLedger! < latestLedger);
    const low = entries.filter((e) => e.liveUntilLedger! - latestLedger < threshold);
    const busy = (archived.length > 0 || low.length > 0) && (await bumpUnderWay(deps.db, channel));
    if (busy) {
      // The last bump is still settling: the next run sees what it did.
    } else if (archived.length > 0 && (bumping || channel.state === "closing")) {
      // Extended once restored, by a later run.
      await submitBump(deps, network, channel, "restore", Operation.restoreFootprint({}), new SorobanDataBuilder().setReadWrite(archived.map((e) => e.key)).build(), archived.length);
      restored = true;
    } else if (low.length > 0 && bumping) {
      await submitBump(deps, network, channel, "extend", Operation.extendFootprintTtl({ extendTo }), new SorobanDataBuilder().setReadOnly(low.map((e) => e.key)).build(), low.length);
      extended = true;
    } else if (low.length > 0 && channel.state === "open") {
      // Extension is off for this channel: close it while its entries still live.
      const close = await Closes.request(deps.db, channel.id, "ttl");
      if (close) {
        await Closes.enqueue(deps.closeQueue, channel.id);
        closeRequested = true;
      }
    }

    const idleSince = (channel.lastVoucherAt ?? channel.createdAt).getTime();
    const now = deps.now?.() ?? Date.now();
    if (!closeRequested && channel.state === "open" && channel.idleCloseSeconds !== null && now - idleSince > channel.idleCloseSeconds * 1000) {
      const close = await Closes.request(deps.db, channel.id, "idle", {
        // Only if no voucher arrived since this run read the row.
        onlyIf: (current) => (current.lastVoucherAt?.getTime() ?? current.createdAt.getTime()) === idleSince,
      });
      if (close) {
        await Closes.enqueue(deps.closeQueue, channel.id);
        closeRequested = true;
      }
    }

    await deps.db
      .update(mppChannels)
      .set({ liveUntilLedger: lowest(entries), ttlCheckedAt: sql`now()` })
      .where(eq(mppChannels.id, channel.id));
    return { restored, extended, closeRequested };
  },
};

/** The channel gauges, from Postgres: channels by state, value committed but not withdrawn, the lowest TTL left. */
async function observe(deps: SweepDeps, metrics: NonNullable<SweepDeps["metrics"]>): Promise<void> {
  const byState = await deps.db
    .select({ network: mppChannels.network, state: mppChannels.state, n: count() })
    .from(mppChannels)
    .groupBy(mppChannels.network, mppChannels.state);
  metrics.mppChannels.reset();
  for (const row of byState) metrics.mppChannels.set({ network: row.network, state: row.state }, row.n);
  const unsettled = await deps.db
    .select({
      network: mppChannels.network,
      token: mppChannels.token,
      value: sql<string>`sum(greatest(${mppChannels.cumulative} - ${mppChannels.withdrawn}, 0))::text`,
    })
    .from(mppChannels)
    .where(ne(mppChannels.state, "closed"))
    .groupBy(mppChannels.network, mppChannels.token);
  metrics.mppUnsettled.reset();
  for (const row of unsettled) metrics.mppUnsettled.set({ network: row.network, asset: row.token }, Number(row.value));
  for (const [id, network] of deps.networks) {
    const [row] = await deps.db
      .select({ lowest: min(mppChannels.liveUntilLedger) })
      .from(mppChannels)
      .where(and(eq(mppChannels.network, id), eq(mppChannels.state, "open")));
    if (row?.lowest != null) metrics.mppMinTtl.set({ network: id }, row.lowest - (await network.latestLedger()));
  }
}

function lowest(entries: readonly ChannelEntry[]): number | null {
  const lives = entries.map((e) => e.liveUntilLedger).filter((v): v is number => v !== null);
  return lives.length > 0 ? Math.min(...lives) : null;
}

/** Whether a bump of the channel was accepted and is not final yet. */
async function bumpUnderWay(db: Db, channel: Channel): Promise<boolean> {
  const [row] = await db
    .select({ id: mppTtlBumps.id })
    .from(mppTtlBumps)
    .innerJoin(submissions, eq(submissions.id, mppTtlBumps.submissionId))
    .where(and(eq(mppTtlBumps.channelId, channel.id), inArray(submissions.status, ["queued", "submitting"])))
    .limit(1);
  return row !== undefined;
}

/**
 * A footprint-only operation (restore or extend) as a submission for the engine, recorded with the
 * channel's bump row in one transaction. Its source is a placeholder: the engine builds it on a
 * leased pool account, simulated there for its resource fee.
 */
async function submitBump(
  deps: SweepDeps,
  network: StellarNetwork,
  channel: Channel,
  kind: "restore" | "extend",
  op: xdr.Operation,
  footprint: xdr.SorobanTransactionData,
  entries: number,
): Promise<void> {
  const draft = new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: "100", networkPassphrase: network.passphrase })
    .setSorobanData(footprint)
    .addOperation(op)
    .setTimeout(0)
    .build();
  await Intake.accept(
    deps.db,
    deps.settleQueue,
    { network: channel.network, kind: "ttl_bump", clientTransaction: draft.toXDR(), apiKeyId: channel.apiKeyId },
    {
      link: async (tx, submission) => {
        await tx.insert(mppTtlBumps).values({ channelId: channel.id, kind, submissionId: submission.id, entries });
        return true;
      },
    },
  );
}

/**
 * The settle job's hook for a final `ttl_bump` submission: its bump row gets the transaction, and
 * an extension the ledger it keeps the entries live until (the ledger it landed in plus its extendTo).
 */
export async function ttlBumpSettled(db: Db, metrics: Pick<Metrics, "mppTtlBumps"> | undefined, submission: Submission): Promise<void> {
  const succeeded = submission.status === "succeeded";
  const op = xdr.TransactionEnvelope.fromXDR(submission.clientTransaction, "base64").v1().tx().operations()[0]?.body();
  const extendTo = op?.switch() === xdr.OperationType.extendFootprintTtl() ? op.extendFootprintTtlOp().extendTo() : undefined;
  const liveUntilLedger = succeeded && submission.ledger !== null && extendTo !== undefined ? submission.ledger + extendTo : null;
  const [updated] = await db
    .update(mppTtlBumps)
    .set({ txHash: succeeded ? submission.txHash : null, liveUntilLedger })
    .where(and(eq(mppTtlBumps.submissionId, submission.id), sql`${mppTtlBumps.txHash} is null`))
    .returning({ id: mppTtlBumps.id });
  if (updated) metrics?.mppTtlBumps.inc({ network: submission.network, outcome: succeeded ? "ok" : "failed" });
}
