import { xdr } from "@stellar/stellar-sdk";

/**
 * The devnet's ledger: every entry keyed by its LedgerKey XDR (base64), with the live-until ledger
 * that Soroban entries carry (undefined for classic entries, which never expire).
 *
 * `fork()` gives a copy-on-write view: a transaction applies against a fork and is committed only
 * when it succeeds, so a failed transaction leaves nothing behind, as on the real network.
 * Simulation runs against a fork that is simply dropped.
 */
export interface StoredEntry {
  readonly entry: xdr.LedgerEntry;
  readonly liveUntilLedgerSeq?: number;
}

export function keyId(key: xdr.LedgerKey): string {
  return key.toXDR("base64");
}

export class LedgerState {
  private readonly own = new Map<string, StoredEntry | null>();

  constructor(private readonly parent?: LedgerState) {}

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
    this.own.set(keyId(key), liveUntilLedgerSeq === undefined ? { entry } : { entry, liveUntilLedgerSeq });
  }

  delete(key: xdr.LedgerKey): void {
    this.own.set(keyId(key), null);
  }

  fork(): LedgerState {
    return new LedgerState(this);
  }

  /** Writes this fork's changes into its parent. */
  commit(): void {
    if (!this.parent) throw new Error("commit() on the root state");
    for (const [id, value] of this.own) this.parent.own.set(id, value);
    this.own.clear();
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
