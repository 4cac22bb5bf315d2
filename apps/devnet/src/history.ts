import { xdr } from "@stellar/stellar-sdk";
import type { AppliedTx } from "./apply";
import { int64 } from "./results";
import { sha256 } from "./sha256";
import { StrKeys } from "./strkeys";

/** A transaction as it landed: its ledger, position and everything it produced. */
export interface TxRecord {
  readonly hash: string;
  readonly ledger: number;
  readonly closeTime: bigint;
  /** 1-based position in the ledger, as the RPC reports applicationOrder. */
  readonly applicationOrder: number;
  readonly applied: AppliedTx;
}

export interface LedgerRecord {
  readonly sequence: number;
  readonly closeTime: bigint;
  readonly hash: Buffer;
  readonly header: xdr.LedgerHeader;
  /** Inclusion fee per op charged in this ledger (classic / Soroban lanes). */
  readonly baseFee: { readonly classic: bigint; readonly soroban: bigint };
  readonly txs: readonly TxRecord[];
}

/** A contract event as getEvents serves it. */
export interface EventRecord {
  readonly id: string;
  readonly ledger: number;
  readonly closeTime: bigint;
  readonly txIndex: number;
  readonly opIndex: number;
  readonly txHash: string;
  readonly type: "contract" | "system";
  readonly contractId: string;
  readonly topics: readonly string[];
  readonly value: string;
  readonly inSuccessfulContractCall: boolean;
}

/** Total order ids (stellar's TOID): ledger << 32 | tx order << 12 | op index. */
export namespace Toid {
  export function of(ledger: number, txOrder: number, opIndex: number): bigint {
    return (BigInt(ledger) << 32n) | (BigInt(txOrder) << 12n) | BigInt(opIndex);
  }
  export function eventId(ledger: number, txOrder: number, opIndex: number, eventIndex: number): string {
    return `${of(ledger, txOrder, opIndex).toString().padStart(19, "0")}-${eventIndex.toString().padStart(10, "0")}`;
  }
  export function ledgerOf(toid: bigint): number {
    return Number(toid >> 32n);
  }
  /**
   * The last possible event id of `ledger`: stellar-rpc's MaxCursor with that ledger (transaction
   * and operation masks of the TOID, event index u32 max), the cursor of a page that is not full.
   */
  export function lastEventId(ledger: number): string {
    const toid = (BigInt(ledger) << 32n) | (TX_MASK << 12n) | OP_MASK;
    return `${toid.toString().padStart(19, "0")}-${U32_MAX.toString()}`;
  }
  const TX_MASK = (1n << 20n) - 1n;
  const OP_MASK = (1n << 12n) - 1n;
  const U32_MAX = 4_294_967_295n;
}

/**
 * The ledgers, transactions and events the RPC can still answer for (a retention window, like a
 * real RPC node), oldest first.
 */
export class History {
  private readonly ledgers: LedgerRecord[] = [];
  private readonly txs = new Map<string, TxRecord>();
  private readonly events: EventRecord[] = [];

  constructor(private readonly retentionLedgers: number) {}

  append(record: LedgerRecord): void {
    this.ledgers.push(record);
    for (const tx of record.txs) {
      this.txs.set(tx.hash, tx);
      this.events.push(...eventsOf(tx));
    }
    this.prune();
  }

  latest(): LedgerRecord {
    const last = this.ledgers[this.ledgers.length - 1];
    if (!last) throw new Error("history has no ledgers");
    return last;
  }

  oldest(): LedgerRecord {
    const first = this.ledgers[0];
    if (!first) throw new Error("history has no ledgers");
    return first;
  }

  ledger(sequence: number): LedgerRecord | undefined {
    const index = sequence - this.oldest().sequence;
    return this.ledgers[index];
  }

  ledgersFrom(sequence: number, limit: number): LedgerRecord[] {
    const start = Math.max(0, sequence - this.oldest().sequence);
    return this.ledgers.slice(start, start + limit);
  }

  tx(hashHex: string): TxRecord | undefined {
    return this.txs.get(hashHex);
  }

  /** Events with id > afterId (or in ledgers >= startLedger), in order. */
  eventsAfter(afterId: string): readonly EventRecord[] {
    // Ids are fixed width, so string order is id order.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.events[mid]?.id ?? "") <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }

  private prune(): void {
    const excess = this.ledgers.length - this.retentionLedgers;
    if (excess <= 0) return;
    const removed = this.ledgers.splice(0, excess);
    for (const ledger of removed) for (const tx of ledger.txs) this.txs.delete(tx.hash);
    // Events are in ledger order: the pruned ones lead (a filter would walk a whole window of events every close).
    const oldest = this.oldest().sequence;
    let pruned = 0;
    while (pruned < this.events.length && (this.events[pruned]?.ledger ?? oldest) < oldest) pruned++;
    if (pruned > 0) this.events.splice(0, pruned);
  }
}

function eventsOf(tx: TxRecord): EventRecord[] {
  const out: EventRecord[] = [];
  tx.applied.contractEvents.forEach((opEvents, opIndex) => {
    opEvents.forEach((event, eventIndex) => {
      const body = event.body().v0();
      const contractId = event.contractId();
      out.push({
        id: Toid.eventId(tx.ledger, tx.applicationOrder, opIndex, eventIndex),
        ledger: tx.ledger,
        closeTime: tx.closeTime,
        txIndex: tx.applicationOrder,
        opIndex,
        txHash: tx.hash,
        type: event.type() === xdr.ContractEventType.system() ? "system" : "contract",
        contractId: contractId ? StrKeys.encodeContract(contractId as unknown as Buffer) : "",
        topics: body.topics().map((t) => t.toXDR("base64")),
        value: body.data().toXDR("base64"),
        inSuccessfulContractCall: true,
      });
    });
  });
  return out;
}

/** Ledger headers and close metadata, shaped as a real network's so getLedgers can serve them. */
export namespace Headers {
  export const TOTAL_COINS = 1_000_000_000_000_000_000n; // 100 billion XLM, in stroops

  export function make(input: {
    protocolVersion: number;
    sequence: number;
    closeTime: bigint;
    previousHash: Buffer;
    txHashes: readonly string[];
    results: readonly xdr.TransactionResult[];
    baseFee: bigint;
    baseReserve: bigint;
    maxTxSetSize: number;
    feePool: bigint;
  }): { header: xdr.LedgerHeader; hash: Buffer } {
    const txSetHash = sha256(Buffer.concat(input.txHashes.map((h) => Buffer.from(h, "hex"))));
    const resultsHash = sha256(Buffer.concat(input.results.map((r) => r.toXDR())));
    const header = new xdr.LedgerHeader({
      ledgerVersion: input.protocolVersion,
      previousLedgerHash: input.previousHash,
      scpValue: new xdr.StellarValue({
        txSetHash,
        closeTime: xdr.Uint64.fromString(input.closeTime.toString()),
        upgrades: [],
        ext: xdr.StellarValueExt.stellarValueBasic(),
      }),
      txSetResultHash: resultsHash,
      bucketListHash: sha256(Buffer.concat([input.previousHash, txSetHash, resultsHash])),
      ledgerSeq: input.sequence,
      totalCoins: int64(TOTAL_COINS),
      feePool: int64(input.feePool),
      inflationSeq: 0,
      idPool: xdr.Uint64.fromString("0"),
      // A surge price above uint32 cannot be represented in the header; clamp rather than fail the close.
      baseFee: Number(input.baseFee > 4_294_967_295n ? 4_294_967_295n : input.baseFee),
      baseReserve: Number(input.baseReserve),
      maxTxSetSize: input.maxTxSetSize,
      skipList: [Buffer.alloc(32), Buffer.alloc(32), Buffer.alloc(32), Buffer.alloc(32)],
      ext: new xdr.LedgerHeaderExt(0),
    });
    return { header, hash: sha256(header.toXDR()) };
  }

  export function historyEntry(record: LedgerRecord): xdr.LedgerHeaderHistoryEntry {
    return new xdr.LedgerHeaderHistoryEntry({ hash: record.hash, header: record.header, ext: new xdr.LedgerHeaderHistoryEntryExt(0) });
  }

  const closeMetaCache = new WeakMap<LedgerRecord, string>();

  /** Base64 LedgerCloseMeta of a closed ledger, built once (getLatestLedger asks for it often). */
  export function closeMetaXdr(record: LedgerRecord): string {
    let cached = closeMetaCache.get(record);
    if (cached === undefined) {
      cached = closeMeta(record).toXDR("base64");
      closeMetaCache.set(record, cached);
    }
    return cached;
  }

  export function closeMeta(record: LedgerRecord): xdr.LedgerCloseMeta {
    const lane = (soroban: boolean, baseFee: bigint): xdr.TransactionPhase => {
      const txes = record.txs.filter((t) => t.applied.tx.isSoroban === soroban).map((t) => t.applied.tx.envelope);
      const components = txes.length
        ? [
            xdr.TxSetComponent.txsetCompTxsMaybeDiscountedFee(
              new xdr.TxSetComponentTxsMaybeDiscountedFee({ baseFee: int64(baseFee), txes }),
            ),
          ]
        : [];
      return new xdr.TransactionPhase(0, components);
    };
    const txSet = new xdr.GeneralizedTransactionSet(
      1,
      new xdr.TransactionSetV1({
        previousLedgerHash: record.header.previousLedgerHash(),
        phases: [lane(false, record.baseFee.classic), lane(true, record.baseFee.soroban)],
      }),
    );
    const txProcessing = record.txs.map(
      (t) =>
        new xdr.TransactionResultMetaV1({
          ext: new xdr.ExtensionPoint(0),
          result: new xdr.TransactionResultPair({ transactionHash: Buffer.from(t.hash, "hex"), result: t.applied.result }),
          feeProcessing: [...t.applied.feeProcessing],
          txApplyProcessing: t.applied.meta,
          postTxApplyFeeProcessing: [...t.applied.postFeeProcessing],
        }),
    );
    return new xdr.LedgerCloseMeta(
      2,
      new xdr.LedgerCloseMetaV2({
        ext: new xdr.LedgerCloseMetaExt(0),
        ledgerHeader: historyEntry(record),
        txSet,
        txProcessing,
        upgradesProcessing: [],
        scpInfo: [],
        totalByteSizeOfLiveSorobanState: xdr.Uint64.fromString("0"),
        evictedKeys: [],
      }),
    );
  }
}
