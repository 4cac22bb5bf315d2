import { Account, Operation, rpc, SorobanDataBuilder, TransactionBuilder, type xdr } from "@stellar/stellar-sdk";
import { and, eq, inArray, sql } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import type { ChannelLeases, LeasedAccount } from "@quay/pool";
import { submitAndWait, type StellarNetwork } from "@quay/stellar";
import { Closes, type Channel, type CloseQueue } from "./closes";
import { ChannelLedger, type ChannelEntry } from "./ledger";

const { mppChannels, mppTtlBumps } = schema;

export interface SweepDeps {
  readonly db: Db;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  readonly leases: ChannelLeases;
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
 * ledgers left, paying from a leased pool account; and requests closes for channels idle past
 * their policy, or whose TTL runs low while extension is turned off for them. Every step re-reads
 * the ledger, so a run killed half-way is simply done again by the next one.
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
    if (archived.length > 0 && (bumping || channel.state === "closing")) {
      const hash = await withLease(deps, network, (lease) => restore(network, lease, archived));
      await record(deps.db, channel, "restore", hash, archived.length, null);
      restored = true;
      ({ entries, latestLedger } = await ChannelLedger.entries(network, channel));
      entries = entries.filter((e) => e.liveUntilLedger !== null);
    }

    const low = entries.filter((e) => e.liveUntilLedger! - latestLedger < threshold);
    if (low.length > 0 && bumping) {
      const hash = await withLease(deps, network, (lease) => extend(network, lease, low, extendTo));
      ({ entries, latestLedger } = await ChannelLedger.entries(network, channel));
      entries = entries.filter((e) => e.liveUntilLedger !== null);
      await record(deps.db, channel, "extend", hash, low.length, lowest(entries));
      deps.metrics?.mppTtlBumps.inc({ network: channel.network, outcome: "ok" });
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
  const byState = await deps.db.execute<{ network: string; state: string; n: number }>(
    sql`select network, state::text as state, count(*)::int as n from ${mppChannels} group by network, state`,
  );
  metrics.mppChannels.reset();
  for (const row of byState.rows) metrics.mppChannels.set({ network: row.network, state: row.state }, row.n);
  const unsettled = await deps.db.execute<{ network: string; token: string; value: string }>(
    sql`select network, token, sum(greatest(cumulative - withdrawn, 0))::text as value from ${mppChannels} where state <> 'closed' group by network, token`,
  );
  metrics.mppUnsettled.reset();
  for (const row of unsettled.rows) metrics.mppUnsettled.set({ network: row.network, asset: row.token }, Number(row.value));
  for (const [id, network] of deps.networks) {
    const [row] = (await deps.db.execute<{ lowest: number | null }>(sql`select min(live_until_ledger) as lowest from ${mppChannels} where network = ${id} and state = 'open'`)).rows;
    if (row?.lowest != null) metrics.mppMinTtl.set({ network: id }, row.lowest - (await network.latestLedger()));
  }
}

function lowest(entries: readonly ChannelEntry[]): number | null {
  const lives = entries.map((e) => e.liveUntilLedger).filter((v): v is number => v !== null);
  return lives.length > 0 ? Math.min(...lives) : null;
}

async function withLease<T>(deps: SweepDeps, network: StellarNetwork, run: (lease: LeasedAccount) => Promise<T>): Promise<T> {
  const lease = await deps.leases.acquire(network.id);
  try {
    return await run(lease);
  } finally {
    await deps.leases.release(lease);
  }
}

async function restore(network: StellarNetwork, lease: LeasedAccount, entries: readonly ChannelEntry[]): Promise<string> {
  const data = new SorobanDataBuilder().setReadWrite(entries.map((e) => e.key)).build();
  return footprintTx(network, lease, Operation.restoreFootprint({}), data);
}

async function extend(network: StellarNetwork, lease: LeasedAccount, entries: readonly ChannelEntry[], extendTo: number): Promise<string> {
  const data = new SorobanDataBuilder().setReadOnly(entries.map((e) => e.key)).build();
  return footprintTx(network, lease, Operation.extendFootprintTtl({ extendTo }), data);
}

/** A footprint-only operation from the leased account: simulated for its resource fee, signed, sent, confirmed. */
async function footprintTx(network: StellarNetwork, lease: LeasedAccount, op: xdr.Operation, data: xdr.SorobanTransactionData): Promise<string> {
  const account = await network.call("getAccount", () => network.rpc.getAccount(lease.publicKey));
  const draft = new TransactionBuilder(new Account(lease.publicKey, account.sequenceNumber()), { fee: "100", networkPassphrase: network.passphrase })
    .setSorobanData(data)
    .addOperation(op)
    .setTimeout(60)
    .build();
  const sim = await network.call("simulateTransaction", () => network.rpc.simulateTransaction(draft));
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`footprint transaction does not simulate: ${rpc.Api.isSimulationError(sim) ? sim.error.split("\n", 1)[0] : "restore needed"}`);
  const tx = rpc.assembleTransaction(draft, sim).build();
  lease.signer.sign(tx);
  const done = await submitAndWait(network, tx, { timeoutMs: 60_000, pollMs: 250 });
  return done.txHash;
}

async function record(db: Db, channel: Channel, kind: "restore" | "extend", txHash: string, entries: number, liveUntilLedger: number | null): Promise<void> {
  await db.insert(mppTtlBumps).values({ channelId: channel.id, kind, txHash, entries, liveUntilLedger });
}
