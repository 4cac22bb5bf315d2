import { rpc, xdr } from "@stellar/stellar-sdk";
import { CHANNEL_EVENT_NAMES, ChannelEvents, type ParsedChannelEvent } from "@quay/mpp";
import { and, eq, inArray, sql } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import type { StellarNetwork } from "@quay/stellar";
import { Closes, type CloseQueue } from "./closes";
import { ChannelLedger } from "./ledger";

const { mppChannels, mppChannelEvents, mppEventCursors } = schema;

export { CHANNEL_EVENT_NAMES, type ChannelEventName, type ParsedChannelEvent } from "@quay/mpp";

export interface WatcherDeps {
  readonly db: Db;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  readonly closeQueue: CloseQueue;
  readonly logger: Logger;
  /** Events per getEvents page. */
  readonly pageSize?: number;
  /** Where a network's stream starts the first time: this many ledgers before the latest. */
  readonly lookbackLedgers?: number;
  readonly metrics?: Pick<Metrics, "mppDisputes">;
}


/**
 * The worker's repeatable `mpp-events` job: follows getEvents for the channel contract's real
 * events, from a cursor kept in Postgres and advanced only after a page is applied, so a restart
 * resumes where the last run stopped and nothing is missed (events are recorded under their
 * unique id, so a page applied twice changes nothing). A `close` whose effective ledger is still
 * ahead is the funder's close_start: Quay answers with its own close, with the highest voucher.
 */
export const EventWatcher = {
  async poll(deps: WatcherDeps, network: StellarNetwork): Promise<{ events: number; disputes: number }> {
    const pageSize = deps.pageSize ?? 200;
    const [cursorRow] = await deps.db.select().from(mppEventCursors).where(eq(mppEventCursors.network, network.id));
    let cursor = cursorRow?.cursor ?? undefined;
    let startLedger: number | undefined;
    if (!cursor) startLedger = Math.max(1, (await network.latestLedger()) - (deps.lookbackLedgers ?? 1_000));
    let seen = 0;
    let disputes = 0;
    for (;;) {
      let page: rpc.Api.GetEventsResponse;
      try {
        page = await fetchPage(network, cursor, startLedger, pageSize);
      } catch (error) {
        if (!cursor || !outsideRetention(error)) throw error;
        // The stored cursor is older than the RPC keeps (Quay was away longer than its retention):
        // events were missed. The ledger still holds every channel's state: a close under way is
        // answered from it, and the stream starts again at the oldest ledger the RPC has.
        deps.logger.warn({ network: network.id }, "event cursor outside the RPC's retention: channels reconciled from the ledger");
        disputes += await reconcileFromLedger(deps, network);
        cursor = undefined;
        startLedger = (await network.getHealth()).oldestLedger;
        continue;
      }
      const parsed = page.events.map(ChannelEvents.parse).filter((e): e is ParsedChannelEvent => e !== undefined);
      seen += parsed.length;
      disputes += await apply(deps, network, parsed);
      await deps.db
        .insert(mppEventCursors)
        .values({ network: network.id, cursor: page.cursor, lastLedger: page.latestLedger })
        .onConflictDoUpdate({ target: mppEventCursors.network, set: { cursor: page.cursor, lastLedger: page.latestLedger, updatedAt: sql`now()` } });
      cursor = page.cursor;
      startLedger = undefined;
      if (page.events.length < pageSize) return { events: seen, disputes };
    }
  },
};

/** stellar-rpc's answer to a getEvents start (cursor or startLedger) outside its retention window (JSON-RPC -32600). */
function outsideRetention(error: unknown): boolean {
  return error instanceof Error && /startLedger|ledger range|retention/i.test(error.message);
}

/**
 * Every open channel of the network read from the ledger: one whose funder started a close
 * (`CloseEffectiveAtLedger` set, not yet reached) gets Quay's close, with the highest voucher,
 * exactly as if its `close` event had been seen. Returns how many closes it started.
 */
async function reconcileFromLedger(deps: WatcherDeps, network: StellarNetwork): Promise<number> {
  const open = await deps.db
    .select()
    .from(mppChannels)
    .where(and(eq(mppChannels.network, network.id), inArray(mppChannels.state, ["open", "closing"])));
  let disputes = 0;
  for (const channel of open) {
    const onChain = await ChannelLedger.read(network, channel.address).catch(() => undefined);
    if (!onChain || onChain.closeEffectiveAtLedger === null) continue;
    const event = { ledger: onChain.latestLedger, effectiveAtLedger: onChain.closeEffectiveAtLedger };
    disputes += await answerClose(deps, network, channel, event);
  }
  return disputes;
}

async function fetchPage(network: StellarNetwork, cursor: string | undefined, startLedger: number | undefined, limit: number): Promise<rpc.Api.GetEventsResponse> {
  const filters: rpc.Api.EventFilter[] = [
    { type: "contract", topics: CHANNEL_EVENT_NAMES.map((name) => [xdr.ScVal.scvSymbol(name).toXDR("base64")]) },
  ];
  const request = cursor ? { cursor, filters, limit } : { startLedger: startLedger!, filters, limit };
  try {
    return await network.getEvents(request);
  } catch (error) {
    // A first start outside the RPC's retention window: begin at the latest ledger instead.
    if (!cursor && error instanceof Error && /startLedger|ledger range/i.test(error.message)) {
      const latest = await network.latestLedger({ maxAgeMs: 0 });
      return network.getEvents({ startLedger: latest, filters, limit });
    }
    throw error;
  }
}


/** Records the events of registered channels and reacts to closes; returns how many disputes it answered. */
async function apply(deps: WatcherDeps, network: StellarNetwork, events: readonly ParsedChannelEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const addresses = [...new Set(events.map((e) => e.channel))];
  const channels = await deps.db
    .select()
    .from(mppChannels)
    .where(and(eq(mppChannels.network, network.id), inArray(mppChannels.address, addresses)));
  const byAddress = new Map(channels.map((c) => [c.address, c]));
  let disputes = 0;
  for (const event of events) {
    const channel = byAddress.get(event.channel);
    if (!channel) continue;
    await deps.db
      .insert(mppChannelEvents)
      .values({ id: event.id, channelId: channel.id, ledger: event.ledger, txHash: event.txHash, kind: event.name, amount: event.amount, effectiveAtLedger: event.effectiveAtLedger })
      .onConflictDoNothing({ target: mppChannelEvents.id });
    if (event.name !== "close" || event.effectiveAtLedger === null) continue;
    disputes += await answerClose(deps, network, channel, { ledger: event.ledger, effectiveAtLedger: event.effectiveAtLedger });
  }
  return disputes;
}

/** A close seen (in an event or in the ledger): recorded, and a funder's close_start answered with Quay's close. 1 when answered. */
async function answerClose(
  deps: WatcherDeps,
  network: StellarNetwork,
  channel: typeof mppChannels.$inferSelect,
  event: { readonly ledger: number; readonly effectiveAtLedger: number },
): Promise<number> {
  await deps.db.update(mppChannels).set({ closeEffectiveAtLedger: event.effectiveAtLedger, updatedAt: sql`now()` }).where(eq(mppChannels.id, channel.id));
  if (event.effectiveAtLedger <= event.ledger) return 0;
  // The funder's close_start: close now with the highest voucher, before the refund opens.
  const close = await Closes.request(deps.db, channel.id, "dispute");
  if (close && (close.status === "requested" || close.status === "submitting")) {
    await Closes.enqueue(deps.closeQueue, channel.id);
    deps.metrics?.mppDisputes.inc({ network: network.id, outcome: "answered" });
    return 1;
  }
  if (!close) {
    deps.metrics?.mppDisputes.inc({ network: network.id, outcome: "missed" });
    deps.logger.warn({ channel: channel.address, effectiveAtLedger: event.effectiveAtLedger }, "funder started a close; Quay cannot close this channel by itself (no recipient key, or no voucher)");
  }
  return 0;
}
