import type { EventRecord, History, LedgerRecord, TxRecord } from "./history";
import { LedgerState } from "./state";
import type { StoredEntry } from "./state";

/**
 * What one RPC port sees of the chain. A port in sync sees the node; a lagging one (the fault
 * switch's `ports` lag, as an RPC whose ingestion fell behind) answers as of N ledgers ago: an
 * older latestLedger, transactions and events of newer ledgers not yet there, and the ledger state
 * (accounts, contract data) of that older ledger.
 */
export interface ChainView {
  /** Ledgers behind the node (0: in sync). */
  readonly lag: number;
  latest(): LedgerRecord;
  oldest(): LedgerRecord;
  /** Up to `limit` ledgers from `sequence` on, none after latest(). */
  ledgersFrom(sequence: number, limit: number): LedgerRecord[];
  /** A transaction of a ledger up to latest(). */
  tx(hashHex: string): TxRecord | undefined;
  /** Events with id > afterId in ledgers up to latest(), in order. */
  eventsAfter(afterId: string): readonly EventRecord[];
  /** The ledger state as of latest() (read it through forks; never write it). */
  readonly state: LedgerState;
  /** The ledger that would close next, as this view sees it. */
  nextLedger(): { sequence: number; closeTime: bigint };
}

/** The values ids had before one closed ledger wrote them (see LedgerState.beginJournal). */
export interface UndoRecord {
  readonly sequence: number;
  readonly before: ReadonlyMap<string, StoredEntry | null>;
}

export namespace ChainViews {
  /** The most ledgers a port may lag: the undo records the node keeps. */
  export const MAX_LAG = 100;

  export function current(history: History, state: LedgerState): ChainView {
    return {
      lag: 0,
      latest: () => history.latest(),
      oldest: () => history.oldest(),
      ledgersFrom: (sequence, limit) => history.ledgersFrom(sequence, limit),
      tx: (hash) => history.tx(hash),
      eventsAfter: (afterId) => history.eventsAfter(afterId),
      state,
      nextLedger: () => nextAfter(history.latest()),
    };
  }

  /**
   * The chain `lag` ledgers ago (no earlier than the oldest retained ledger), its state rebuilt
   * from the node's state and the undo records of the ledgers since (`undo` in ledger order).
   */
  export function lagging(history: History, state: LedgerState, undo: readonly UndoRecord[], lag: number): ChainView {
    const now = history.latest().sequence;
    const target = history.ledger(Math.max(now - lag, history.oldest().sequence)) ?? history.oldest();
    const seq = target.sequence;
    const past = new PastState(state, undo.filter((u) => u.sequence > seq).map((u) => u.before));
    return {
      lag: now - seq,
      latest: () => target,
      oldest: () => history.oldest(),
      ledgersFrom: (sequence, limit) => history.ledgersFrom(sequence, Math.max(0, Math.min(limit, seq - sequence + 1))),
      tx: (hash) => {
        const record = history.tx(hash);
        return record && record.ledger <= seq ? record : undefined;
      },
      eventsAfter: (afterId) => {
        const events = history.eventsAfter(afterId);
        const end = events.findIndex((e) => e.ledger > seq);
        return end < 0 ? events : events.slice(0, end);
      },
      state: past,
      nextLedger: () => nextAfter(target),
    };
  }

  /** The ledger after `latest`: the next sequence, closing now (never before `latest`). */
  export function nextAfter(latest: LedgerRecord): { sequence: number; closeTime: bigint } {
    const now = BigInt(Math.floor(Date.now() / 1000));
    return { sequence: latest.sequence + 1, closeTime: now > latest.closeTime ? now : latest.closeTime };
  }
}

/** The node's state as it was before the ledgers whose undo records are given, oldest first. */
class PastState extends LedgerState {
  constructor(
    private readonly current: LedgerState,
    private readonly undoOldestFirst: readonly ReadonlyMap<string, StoredEntry | null>[],
  ) {
    super();
  }

  override getById(id: string): StoredEntry | undefined {
    // The oldest ledger that wrote the id recorded its value before all of them (null: absent).
    for (const before of this.undoOldestFirst) if (before.has(id)) return before.get(id) ?? undefined;
    return this.current.getById(id);
  }
}
