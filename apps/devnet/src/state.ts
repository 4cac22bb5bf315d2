import type { xdr } from "@stellar/stellar-sdk";
import { BoundedCache } from "./bounded-cache";

/**
 * The devnet's ledger: every entry keyed by its LedgerKey XDR (base64), with the live-until ledger
 * that Soroban entries carry (undefined for classic entries, which never expire).
 *
 * `fork()` gives a copy-on-write view: a transaction applies against a fork and is committed only
 * when it succeeds, so a failed transaction leaves nothing behind, as on the real network.
 * Simulation runs against a fork that is simply dropped.
 *
 * Keys and stored entries are values: nothing modifies one in place once it has been built (writers
 * store fresh objects), which is what lets a key's id and an entry's size be worked out only once.
 */
export interface StoredEntry {
  readonly entry: xdr.LedgerEntry;
  readonly liveUntilLedgerSeq?: number;
}

const ids = new WeakMap<xdr.LedgerKey, string>();
const sizes = new WeakMap<xdr.LedgerEntry, number>();
/** Ids of keys built from a name (see namedKey): the same accounts and contracts come back every payment. */
const namedIds = new BoundedCache<string, string>(16_384);

/** The key's XDR in base64, encoded once per key object (a storage access asks for it several times). */
export function keyId(key: xdr.LedgerKey): string {
  let id = ids.get(key);
  if (id === undefined) {
    id = key.toXDR("base64");
    ids.set(key, id);
  }
  return id;
}

/**
 * `build()`, whose id is remembered under `name`; the name must determine the key completely (e.g.
 * the builder and its account id), so a key named again is not encoded again.
 */
export function namedKey(name: string, build: () => xdr.LedgerKey): xdr.LedgerKey {
  const key = build();
  const id = namedIds.get(name);
  if (id === undefined) namedIds.set(name, keyId(key));
  else ids.set(key, id);
  return key;
}

/** The entry's XDR size in bytes, measured once per entry object (what reads, writes and rent are priced on). */
export function entrySize(entry: xdr.LedgerEntry): number {
  let size = sizes.get(entry);
  if (size === undefined) {
    size = entry.toXDR().length;
    sizes.set(entry, size);
  }
  return size;
}

export class LedgerState {
  private readonly own = new Map<string, StoredEntry | null>();
  /** While journaling: each id written since, with the value it had before (null: absent). */
  private journal: Map<string, StoredEntry | null> | undefined;

  constructor(private readonly parent?: LedgerState) {}

  /**
   * Starts recording, for every id first written from now on, the value it had before: a ledger
   * close's undo record, through which a lagging RPC port reads the state of earlier ledgers.
   */
  beginJournal(): void {
    this.journal = new Map();
  }

  /** Stops recording and returns the values written ids had when the journal began. */
  endJournal(): ReadonlyMap<string, StoredEntry | null> {
    const journal = this.journal ?? new Map<string, StoredEntry | null>();
    this.journal = undefined;
    return journal;
  }

  get(key: xdr.LedgerKey): StoredEntry | undefined {
    return this.getById(keyId(key));
  }

  getById(id: string): StoredEntry | undefined {
    const mine = this.own.get(id);
    if (mine === null) return undefined;
    if (mine !== undefined) return mine;
    return this.parent?.getById(id);
  }

  put(key: xdr.LedgerKey, entry: xdr.LedgerEntry, liveUntilLedgerSeq?: number): void {
    this.putById(keyId(key), entry, liveUntilLedgerSeq);
  }

  putById(id: string, entry: xdr.LedgerEntry, liveUntilLedgerSeq?: number): void {
    this.write(id, liveUntilLedgerSeq === undefined ? { entry } : { entry, liveUntilLedgerSeq });
  }

  delete(key: xdr.LedgerKey): void {
    this.write(keyId(key), null);
  }

  fork(): LedgerState {
    return new LedgerState(this);
  }

  /** Writes this fork's changes into its parent. */
  commit(): void {
    if (!this.parent) throw new Error("commit() on the root state");
    for (const [id, value] of this.own) this.parent.write(id, value);
    this.own.clear();
  }

  private write(id: string, value: StoredEntry | null): void {
    if (this.journal && !this.journal.has(id)) this.journal.set(id, this.getById(id) ?? null);
    this.own.set(id, value);
  }

  /** Ids this fork changed (written or deleted), for ledger-close metadata. */
  changedIds(): string[] {
    return [...this.own.keys()];
  }

  /** Every live id, root and forks merged; for scans such as getEvents-free lookups and tests. */
  *entries(): Generator<[string, StoredEntry]> {
    const seen = new Set<string>();
    for (let s: LedgerState | undefined = this; s; s = s.parent) {
      for (const [id, value] of s.own) {
        if (seen.has(id)) continue;
        seen.add(id);
        if (value) yield [id, value];
      }
    }
  }
}
