import type { ParsedTx } from "./envelope";

export interface QueuedTx {
  readonly tx: ParsedTx;
  /** Arrival order, the tie-break between equal fee rates. */
  readonly arrival: number;
}

/** The factor by which a fee bump must outbid a pending transaction to replace it (stellar-core). */
export const REPLACE_BY_FEE_MULTIPLIER = 10n;

/**
 * Pending transactions, at most one per source account (the account whose sequence number the
 * transaction consumes), as stellar-core's queue holds them since protocol 19.
 */
export class TxQueue {
  private readonly bySource = new Map<string, QueuedTx>();
  private readonly byHash = new Map<string, QueuedTx>();
  private arrivals = 0;

  get size(): number {
    return this.byHash.size;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  pendingFor(source: string): QueuedTx | undefined {
    return this.bySource.get(source);
  }

  /** Adds `tx`, replacing whatever its source had pending. */
  put(tx: ParsedTx): void {
    const previous = this.bySource.get(tx.inner.source);
    if (previous) this.byHash.delete(previous.tx.hash);
    const queued = { tx, arrival: this.arrivals++ };
    this.bySource.set(tx.inner.source, queued);
    this.byHash.set(tx.hash, queued);
  }

  remove(hash: string): void {
    const queued = this.byHash.get(hash);
    if (!queued) return;
    this.byHash.delete(hash);
    if (this.bySource.get(queued.tx.inner.source) === queued) this.bySource.delete(queued.tx.inner.source);
  }

  /** Highest inclusion fee per operation first; arrival order among equals. */
  byFeeRate(): QueuedTx[] {
    return [...this.byHash.values()].sort((a, b) => Fees.compareRate(b.tx, a.tx) || a.arrival - b.arrival);
  }
}

export namespace Fees {
  /** Sign of rate(a) - rate(b), where rate = inclusion bid per fee operation (exact, no division). */
  export function compareRate(a: ParsedTx, b: ParsedTx): number {
    const lhs = a.inclusionBid * BigInt(b.feeOps);
    const rhs = b.inclusionBid * BigInt(a.feeOps);
    return lhs > rhs ? 1 : lhs < rhs ? -1 : 0;
  }

  export function ratePerOp(tx: ParsedTx): bigint {
    return tx.inclusionBid / BigInt(tx.feeOps);
  }

  /** The lowest full fee a replacement of `pending` must bid (10x its rate, for the replacement's ops). */
  export function minReplacementFee(pending: ParsedTx, replacement: ParsedTx): bigint {
    const perOp = pending.inclusionBid * REPLACE_BY_FEE_MULTIPLIER;
    const needed = ceilDiv(perOp * BigInt(replacement.feeOps), BigInt(pending.feeOps));
    return needed + replacement.inner.resourceFee;
  }

  export function canReplace(pending: ParsedTx, replacement: ParsedTx): boolean {
    return replacement.inclusionBid * BigInt(pending.feeOps) >= REPLACE_BY_FEE_MULTIPLIER * pending.inclusionBid * BigInt(replacement.feeOps);
  }

  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
}
