import { xdr } from "@stellar/stellar-sdk";
import { Accounts } from "./accounts";
import { sha256 } from "./sha256";
import type { LedgerState, StoredEntry } from "./state";

/**
 * Ledger-entry changes as TransactionMeta reports them, read off a fork before it is committed:
 * every changed entry gets lastModifiedLedgerSeq = this ledger, and Soroban entries whose
 * live-until ledger moved also report their TTL entry.
 */
export namespace Meta {
  /** Stamps lastModifiedLedgerSeq on everything `fork` wrote, then lists the changes against its parent. */
  export function changes(fork: LedgerState, parent: LedgerState, ledgerSeq: number): xdr.LedgerEntryChange[] {
    const out: xdr.LedgerEntryChange[] = [];
    for (const id of fork.changedIds()) {
      // Only removals and TTL changes name the key itself: decode it only for them.
      let key: xdr.LedgerKey | undefined;
      const keyOf = (): xdr.LedgerKey => (key ??= xdr.LedgerKey.fromXDR(id, "base64"));
      const before = parent.getById(id);
      let after = fork.getById(id);
      // Writers mostly stamp this ledger already; an entry re-stored as it was (a TTL change) is not.
      if (after && after.entry.lastModifiedLedgerSeq() !== ledgerSeq) {
        const stamped = Accounts.clone(after.entry);
        stamped.lastModifiedLedgerSeq(ledgerSeq);
        fork.putById(id, stamped, after.liveUntilLedgerSeq);
        after = fork.getById(id);
      }
      out.push(...entryChanges(keyOf, before, after));
      out.push(...ttlChanges(keyOf, before, after, ledgerSeq));
    }
    return out;
  }

  export function ttlKey(key: xdr.LedgerKey): xdr.LedgerKey {
    return xdr.LedgerKey.ttl(new xdr.LedgerKeyTtl({ keyHash: sha256(key.toXDR()) }));
  }

  export function ttlEntry(key: xdr.LedgerKey, liveUntilLedgerSeq: number, lastModified: number): xdr.LedgerEntry {
    return new xdr.LedgerEntry({
      lastModifiedLedgerSeq: lastModified,
      data: xdr.LedgerEntryData.ttl(new xdr.TtlEntry({ keyHash: sha256(key.toXDR()), liveUntilLedgerSeq })),
      ext: new xdr.LedgerEntryExt(0),
    });
  }
}

function entryChanges(key: () => xdr.LedgerKey, before: StoredEntry | undefined, after: StoredEntry | undefined): xdr.LedgerEntryChange[] {
  const C = xdr.LedgerEntryChange;
  if (before && after) return [C.ledgerEntryState(before.entry), C.ledgerEntryUpdated(after.entry)];
  if (after) return [C.ledgerEntryCreated(after.entry)];
  if (before) return [C.ledgerEntryState(before.entry), C.ledgerEntryRemoved(key())];
  return [];
}

function ttlChanges(key: () => xdr.LedgerKey, before: StoredEntry | undefined, after: StoredEntry | undefined, ledgerSeq: number): xdr.LedgerEntryChange[] {
  const C = xdr.LedgerEntryChange;
  const b = before?.liveUntilLedgerSeq;
  const a = after?.liveUntilLedgerSeq;
  if (b === a) return [];
  const k = key();
  const bEntry = b !== undefined ? Meta.ttlEntry(k, b, before?.entry.lastModifiedLedgerSeq() ?? ledgerSeq) : undefined;
  if (a !== undefined && bEntry) return [C.ledgerEntryState(bEntry), C.ledgerEntryUpdated(Meta.ttlEntry(k, a, ledgerSeq))];
  if (a !== undefined) return [C.ledgerEntryCreated(Meta.ttlEntry(k, a, ledgerSeq))];
  if (bEntry) return [C.ledgerEntryState(bEntry), C.ledgerEntryRemoved(Meta.ttlKey(k))];
  return [];
}
