import { rpc, scValToNative, StrKey, xdr } from "@stellar/stellar-sdk";
import { DEFAULT_RPC_URL, Network, STELLAR_TESTNET } from "./constants.js";
import type { NetworkId } from "./constants.js";
import { StellarMppConfigError } from "./errors.js";
import { Rpc } from "./rpc.js";

/**
 * The one-way channel contract's events as it emits them (`#[contractevent]`: one topic, the
 * struct's name; the data a map): `open`, `close` ({effective_at_ledger}: a funder's close_start
 * when ahead of its ledger), `withdraw` ({amount, to}) and `refund` ({amount, from}). There is no
 * `close_start` or `top_up` event (what @stellar/mpp 0.7's watcher expects).
 */
export const CHANNEL_EVENT_NAMES = ["open", "close", "withdraw", "refund"] as const;
export type ChannelEventName = (typeof CHANNEL_EVENT_NAMES)[number];

export interface ParsedChannelEvent {
  readonly id: string;
  readonly channel: string;
  readonly ledger: number;
  readonly txHash: string;
  readonly name: ChannelEventName;
  readonly amount: bigint | null;
  readonly effectiveAtLedger: number | null;
}

/** What `watchChannel` hands `onEvent`: @stellar/mpp's `{type, data}` with the contract's own names and fields. */
export interface ChannelEvent {
  readonly type: ChannelEventName;
  readonly data: { readonly amount?: bigint; readonly effectiveAtLedger?: number; readonly [field: string]: unknown };
  readonly ledger: number;
  readonly txHash: string;
  readonly id: string;
}

export interface WatchChannelParameters {
  readonly channel: string;
  readonly network?: NetworkId;
  readonly rpcUrl?: string;
  readonly server?: rpc.Server;
  readonly onEvent: (event: ChannelEvent) => void;
  readonly onError?: (error: unknown) => void;
  /** Default 5000. */
  readonly intervalMs?: number;
  /** Where to start; default the latest ledger. */
  readonly startLedger?: number;
}

export const ChannelEvents = {
  /** A contract event as the channel contract emits it, or undefined for anything else. */
  parse(event: rpc.Api.EventResponse): ParsedChannelEvent | undefined {
    const [topic, ...rest] = event.topic;
    if (!topic || rest.length > 0 || topic.switch() !== xdr.ScValType.scvSymbol()) return undefined;
    const name = topic.sym().toString() as ChannelEventName;
    if (!CHANNEL_EVENT_NAMES.includes(name) || !event.contractId) return undefined;
    const data = ChannelEvents.data(event.value);
    if (!data) return undefined;
    return {
      id: event.id,
      channel: event.contractId.contractId(),
      ledger: event.ledger,
      txHash: event.txHash,
      name,
      amount: typeof data.amount === "bigint" ? data.amount : null,
      effectiveAtLedger: typeof data.effective_at_ledger === "number" ? data.effective_at_ledger : null,
    };
  },

  /** The event's map data as native values (addresses as strkeys, i128 as bigint). */
  data(value: xdr.ScVal): Record<string, unknown> | undefined {
    try {
      const data = scValToNative(value) as unknown;
      return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  },
} as const;

/**
 * Polls getEvents for the channel's events and hands each to `onEvent` once, in order. Returns a
 * function that stops it. Errors (an RPC outage) go to `onError`; the next poll resumes from the
 * last cursor.
 */
export function watchChannel(parameters: WatchChannelParameters): () => void {
  const network = parameters.network ?? STELLAR_TESTNET;
  if (!Network.isId(network)) throw new StellarMppConfigError(`unknown network ${String(network)}`);
  if (!StrKey.isValidContract(parameters.channel)) throw new StellarMppConfigError("channel must be a C… contract address");
  const server = parameters.server ?? Rpc.server(parameters.rpcUrl ?? DEFAULT_RPC_URL[network]);
  const filters: rpc.Api.EventFilter[] = [{ type: "contract", contractIds: [parameters.channel] }];
  let cursor: string | undefined;
  let startLedger = parameters.startLedger;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const poll = async () => {
    try {
      startLedger ??= (await Rpc.call("getLatestLedger", () => server.getLatestLedger())).sequence;
      for (;;) {
        const page = await Rpc.call("getEvents", () =>
          server.getEvents(cursor ? { cursor, filters, limit: 100 } : { startLedger: startLedger!, filters, limit: 100 }),
        );
        for (const raw of page.events) {
          const parsed = ChannelEvents.parse(raw);
          if (!parsed || stopped) continue;
          const data = ChannelEvents.data(raw.value) ?? {};
          parameters.onEvent({
            type: parsed.name,
            data: { ...data, ...(parsed.amount !== null ? { amount: parsed.amount } : {}), ...(parsed.effectiveAtLedger !== null ? { effectiveAtLedger: parsed.effectiveAtLedger } : {}) },
            ledger: parsed.ledger,
            txHash: parsed.txHash,
            id: parsed.id,
          });
        }
        cursor = page.cursor;
        if (page.events.length < 100) break;
      }
    } catch (error) {
      parameters.onError?.(error);
    }
    if (!stopped) timer = setTimeout(() => void poll(), parameters.intervalMs ?? 5_000);
  };
  void poll();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
