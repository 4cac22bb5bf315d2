import { xdr } from "@stellar/stellar-sdk";
import { entrySize, keyId, type LedgerState, type StoredEntry } from "../state";
import { HostError } from "./errors";
import { Fees, RESOURCE_FEE_SCHEDULE } from "./fees";
import type { LedgerInfo } from "./host";
import { Keys } from "./keys";

/** The footprint a transaction declared, as key ids, for enforcement when applying. */
export interface DeclaredFootprint {
  readonly readOnly: ReadonlySet<string>;
  readonly readWrite: ReadonlySet<string>;
}

export namespace DeclaredFootprint {
  export function of(footprint: xdr.LedgerFootprint): DeclaredFootprint {
    return {
      readOnly: new Set(footprint.readOnly().map(keyId)),
      readWrite: new Set(footprint.readWrite().map(keyId)),
    };
  }
}

export interface StorageUsage {
  readonly footprint: xdr.LedgerFootprint;
  readonly footprintEntries: number;
  readonly readWriteEntries: number;
  readonly storageAccesses: number;
  readonly diskReadBytes: number;
  readonly writeBytes: number;
  readonly rent: bigint;
  /** Indexes into footprint.readWrite of the archived entries this op restored (ascending). */
  readonly restoredIndexes: readonly number[];
}

/**
 * The host's view of the ledger during one operation: every access goes through here so the
 * footprint is recorded (simulation) or enforced (apply), expired temporary entries read as absent,
 * archived persistent entries are restored automatically (protocol 23, CAP-66) where that is
 * allowed, and bytes and rent are counted for the resource fee.
 */
export class HostStorage {
  private current: LedgerState;
  private readonly nested: LedgerState[] = [];
  private readonly readOnlyKeys = new Map<string, xdr.LedgerKey>();
  private readonly readWriteKeys = new Map<string, xdr.LedgerKey>();
  private readonly readSizes = new Map<string, number>();
  /** Live-until ledger of each touched Soroban entry before this op (undefined: did not exist). */
  private readonly ttlBaseline = new Map<string, { key: xdr.LedgerKey; liveUntil: number | undefined }>();
  /** Archived persistent entries this op brought back, to be marked in the footprint for restore. */
  private readonly restored = new Set<string>();

  constructor(
    state: LedgerState,
    private readonly ledger: LedgerInfo,
    private readonly declared: DeclaredFootprint | undefined,
  ) {
    this.current = state;
  }

  get enforcing(): boolean {
    return this.declared !== undefined;
  }

  /** Reads an entry (recording it in the read-only footprint unless it is already read-write). */
  get(key: xdr.LedgerKey): xdr.LedgerEntry | undefined {
    const id = keyId(key);
    this.access(id, key, "read");
    return this.live(id, key)?.entry;
  }

  /** Reads an entry with its live-until ledger. */
  getStored(key: xdr.LedgerKey): StoredEntry | undefined {
    const id = keyId(key);
    this.access(id, key, "read");
    return this.live(id, key);
  }

  /**
   * Writes an entry. Soroban entries keep their current live-until ledger unless `liveUntil` is
   * given; a new Soroban entry must be given one.
   */
  put(key: xdr.LedgerKey, entry: xdr.LedgerEntry, liveUntil?: number): void {
    const id = keyId(key);
    this.access(id, key, "write");
    let ttl = liveUntil;
    if (Keys.isSoroban(key) && ttl === undefined) {
      ttl = this.live(id, key)?.liveUntilLedgerSeq;
      if (ttl === undefined) throw HostError.host("Storage", "InternalError", "new contract entry written without a TTL");
    }
    const stamped = new xdr.LedgerEntry({ lastModifiedLedgerSeq: this.ledger.sequence, data: entry.data(), ext: entry.ext() });
    this.current.putById(id, stamped, ttl);
  }

  delete(key: xdr.LedgerKey): void {
    const id = keyId(key);
    this.access(id, key, "write");
    this.current.delete(key);
  }

  /** Raises a live entry's live-until ledger to `liveUntil` (never lowers it); TTL changes need no write access. */
  extendTtl(key: xdr.LedgerKey, liveUntil: number): boolean {
    const id = keyId(key);
    this.access(id, key, "read");
    const stored = this.live(id, key);
    if (!stored || stored.liveUntilLedgerSeq === undefined || stored.liveUntilLedgerSeq >= liveUntil) return false;
    this.current.putById(id, stored.entry, liveUntil);
    return true;
  }

  /**
   * Brings an archived persistent entry back with a fresh minimum TTL (restoreFootprint, or an
   * invocation restoring what its footprint marks); live or missing entries are left alone. The
   * entry is then written (read-write), and its new TTL is rent.
   */
  restore(key: xdr.LedgerKey): boolean {
    const id = keyId(key);
    this.access(id, key, "write");
    const stored = this.current.getById(id);
    if (!stored || stored.liveUntilLedgerSeq === undefined || stored.liveUntilLedgerSeq >= this.ledger.sequence) return false;
    this.current.putById(id, stored.entry, this.ledger.sequence + this.ledger.minPersistentTtl - 1);
    this.restored.add(id);
    return true;
  }

  /** Whether a persistent entry exists but is archived (without recording an access). */
  isArchived(key: xdr.LedgerKey): boolean {
    const stored = this.current.get(key);
    return (
      stored !== undefined &&
      Keys.isPersistent(key) &&
      stored.liveUntilLedgerSeq !== undefined &&
      stored.liveUntilLedgerSeq < this.ledger.sequence
    );
  }

  /** Starts a nested change set for a `try_call`: its writes are dropped if the call fails. */
  beginNested(): void {
    this.nested.push(this.current);
    this.current = this.current.fork();
  }

  endNested(keep: boolean): void {
    const parent = this.nested.pop();
    if (!parent) throw new Error("endNested without beginNested");
    if (keep) this.current.commit();
    this.current = parent;
  }

  usage(): StorageUsage {
    const readWrite = [...this.readWriteKeys.entries()];
    const footprint = new xdr.LedgerFootprint({
      readOnly: [...this.readOnlyKeys.values()],
      readWrite: readWrite.map(([, key]) => key),
    });
    const restoredIndexes = readWrite.flatMap(([id], index) => (this.restored.has(id) ? [index] : []));
    let writeBytes = 0;
    for (const id of this.readWriteKeys.keys()) {
      const stored = this.current.getById(id);
      if (stored) writeBytes += entrySize(stored.entry);
    }
    let diskReadBytes = 0;
    for (const size of this.readSizes.values()) diskReadBytes += size;
    let rent = 0n;
    for (const [id, { key, liveUntil: before }] of this.ttlBaseline) {
      const after = this.current.getById(id);
      if (!after || after.liveUntilLedgerSeq === undefined) continue;
      const from = Math.max(before ?? this.ledger.sequence - 1, this.ledger.sequence - 1);
      rent += Fees.rent(entrySize(after.entry), after.liveUntilLedgerSeq - from, Keys.isPersistent(key));
    }
    return {
      footprint,
      footprintEntries: this.declared
        ? this.declared.readOnly.size + this.declared.readWrite.size
        : this.readOnlyKeys.size + this.readWriteKeys.size,
      readWriteEntries: this.declared ? this.declared.readWrite.size : this.readWriteKeys.size,
      storageAccesses: this.readSizes.size,
      diskReadBytes,
      writeBytes,
      rent,
      restoredIndexes,
    };
  }

  /** Instructions charged for storage, per distinct key touched. */
  get accessInstructions(): number {
    return this.readSizes.size * RESOURCE_FEE_SCHEDULE.instructions.storageAccess;
  }

  private access(id: string, key: xdr.LedgerKey, mode: "read" | "write"): void {
    if (this.declared) {
      const allowed = mode === "read" ? this.declared.readOnly.has(id) || this.declared.readWrite.has(id) : this.declared.readWrite.has(id);
      if (!allowed) {
        throw HostError.host(
          "Storage",
          "ExceededLimit",
          mode === "read"
            ? `trying to access a ${key.switch().name} entry outside of the footprint`
            : `trying to write a ${key.switch().name} entry outside of the read-write footprint`,
        );
      }
    }
    if (mode === "write") {
      this.readOnlyKeys.delete(id);
      this.readWriteKeys.set(id, key);
    } else if (!this.readWriteKeys.has(id)) {
      this.readOnlyKeys.set(id, key);
    }
    if (!this.readSizes.has(id)) {
      const stored = this.current.getById(id);
      this.readSizes.set(id, stored ? entrySize(stored.entry) : 0);
      if (Keys.isSoroban(key)) {
        const live = stored && !(Keys.isTemporary(key) && (stored.liveUntilLedgerSeq ?? 0) < this.ledger.sequence);
        this.ttlBaseline.set(id, { key, liveUntil: live ? stored?.liveUntilLedgerSeq : undefined });
      }
    }
  }

  private live(id: string, key: xdr.LedgerKey): StoredEntry | undefined {
    const stored = this.current.getById(id);
    if (!stored || stored.liveUntilLedgerSeq === undefined || stored.liveUntilLedgerSeq >= this.ledger.sequence) return stored;
    if (Keys.isTemporary(key)) return undefined;
    // Applying, the entries the footprint marks for restore were restored before the run; any
    // other archived entry fails the op.
    if (this.declared) throw HostError.archived(`trying to access an archived ${key.switch().name} entry`);
    // Simulating, the entry is restored as the invocation would restore it (it lands in the
    // read-write footprint, marked, with its rent), as stellar-rpc's auto-restoring simulation does.
    this.restore(key);
    return this.current.getById(id);
  }
}
