import { rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import { and, eq, inArray, sql } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import type { StellarNetwork } from "@quay/stellar";
import { Closes, type CloseQueue } from "./closes";

const { mppChannels, mppChannelEvents, mppEventCursors } = schema;

/** The one-way channel contract's events (`#[contractevent]`: one topic, the data a map). */
export const CHANNEL_EVENT_NAMES = ["open", "close", "withdraw", "refund"] as const;
export type ChannelEventName = (typeof CHANNEL_EVENT_NAMES)[number];

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

export interface ParsedChannelEvent {
  readonly id: string;
  readonly channel: string;
  readonly ledger: number;
  readonly txHash: string;
  readonly name: ChannelEventName;
  readonly amount: bigint | null;
  readonly effectiveAtLedger: number | null;
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
      const page = await fetchPage(network, cursor, startLedger, pageSize);
      const parsed = page.events.map(parse).filter((e): e is ParsedChannelEvent => e !== undefined);
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

async function fetchPage(network: StellarNetwork, cursor: string | undefined, startLedger: number | undefined, limit: number): Promise<rpc.Api.GetEventsResponse> {
  const filters: rpc.Api.EventFilter[] = [
    { type: "contract", topics: CHANNEL_EVENT_NAMES.map((name) => [xdr.ScVal.scvSymbol(name).toXDR("base64")]) },
  ];
  const request = cursor ? { cursor, filters, limit } : { startLedger: startLedger!, filters, limit };
  try {
    return await network.call("getEvents", () => network.rpc.getEvents(request));
  } catch (error) {
    // A first start outside the RPC's retention window: begin at the latest ledger instead.
    if (!cursor && error instanceof Error && /startLedger|ledger range/i.test(error.message)) {
      const latest = await network.call("getLatestLedger", () => network.rpc.getLatestLedger());
      return network.call("getEvents", () => network.rpc.getEvents({ startLedger: latest.sequence, filters, limit }));
    }
    throw error;
  }
}

function parse(event: rpc.Api.EventResponse): ParsedChannelEvent | undefined {
  const [topic, ...rest] = event.topic;
  if (!topic || rest.length > 0 || topic.switch() !== xdr.ScValType.scvSymbol()) return undefined;
  const name = topic.sym().toString() as ChannelEventName;
  if (!CHANNEL_EVENT_NAMES.includes(name) || !event.contractId) return undefined;
  let data: Record<string, unknown>;
  try {
    data = scValToNative(event.value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null) return undefined;
  return {
    id: event.id,
    channel: event.contractId.contractId(),
    ledger: event.ledger,
    txHash: event.txHash,
    name,
    amount: typeof data.amount === "bigint" ? data.amount : null,
    effectiveAtLedger: typeof data.effective_at_ledger === "number" ? data.effective_at_ledger : null,
  };
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
      .onConflictDoNothing();
    if (event.name !== "close" || event.effectiveAtLedger === null) continue;
    await deps.db
      .update(mppChannels)
      .set({ closeEffectiveAtLedger: event.effectiveAtLedger, updatedAt: sql`now()` })
      .where(eq(mppChannels.id, channel.id));
    if (event.effectiveAtLedger > event.ledger) {
      // The funder's close_start: close now with the highest voucher, before the refund opens.
      const close = await Closes.request(deps.db, channel.id, "dispute");
      if (close && (close.status === "requested" || close.status === "submitting")) {
        await Closes.enqueue(deps.closeQueue, channel.id);
        deps.metrics?.mppDisputes.inc({ network: network.id, outcome: "answered" });
        disputes++;
      } else if (!close) {
        deps.metrics?.mppDisputes.inc({ network: network.id, outcome: "missed" });
        deps.logger.warn({ channel: channel.address, effectiveAtLedger: event.effectiveAtLedger }, "funder started a close; Quay cannot close this channel by itself (no recipient key, or no voucher)");
      }
    }
  }
  return disputes;
}
