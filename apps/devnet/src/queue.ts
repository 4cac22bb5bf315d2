import type { ParsedTx } from "./envelope";

export interface QueuedTx {
  readonly tx: ParsedTx;
  /** Arrival order, the tie-break between equal fee rates. */
  readonly arrival: number;
  /** Ledgers closed since its source's transaction entered the queue (a replacement keeps the age). */
  age: number;
}

/** The factor by which a fee bump must outbid a pending transaction to replace it (stellar-core). */
export const REPLACE_BY_FEE_MULTIPLIER = 10n;

/** stellar-core keeps classic and Soroban transactions in two queues, each with its own limits and fee accounting. */
export type Lane = "classic" | "soroban";

export const laneOf = (tx: ParsedTx): Lane => (tx.isSoroban ? "soroban" : "classic");

/** What the queue's size limit says about a newcomer (stellar-core's TxQueueLimiter::canAddTx). */
export type Fit =
  | { readonly ok: true; readonly evict: readonly QueuedTx[] }
  /** Refused for its fee: ERROR txINSUFFICIENT_FEE carrying the full fee it would need. */
  | { readonly ok: false; readonly minFee: bigint }
  /** Refused without a fee that would help: TRY_AGAIN_LATER. */
  | { readonly ok: false; readonly minFee: undefined };

/**
 * Pending transactions, at most one per source account (the account whose sequence number the
 * transaction consumes), as stellar-core's queue holds them since protocol 19; plus what the queue
 * remembers between ledgers: each transaction's age, the fees each fee source has pending, and the
 * banned hashes.
 *
 * Bans mirror core's deque of per-ledger sets: a hash banned while `shifts` = s is forgotten at the
 * shift that makes it s + depth. An applied transaction is banned before its ledger's shift, a
 * dropped one after it, so the first answers TRY_AGAIN_LATER for depth - 1 ledgers, the second for depth.
 */
export class TxQueue {
  private readonly bySource = new Map<string, QueuedTx>();
  private readonly byHash = new Map<string, QueuedTx>();
  private readonly feeTotals = new Map<string, bigint>();
  private readonly bans = new Map<string, number>();
  /** Per lane, the best bid evicted since the last shift: newcomers must beat it (core's mLaneEvictedInclusionFee). */
  private readonly evictedBid = new Map<Lane, ParsedTx>();
  private arrivals = 0;
  private shifts = 0;

  get size(): number {
    return this.byHash.size;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  get(hash: string): QueuedTx | undefined {
    return this.byHash.get(hash);
  }

  pendingFor(source: string): QueuedTx | undefined {
    return this.bySource.get(source);
  }

  /** Full fees (outer fee for fee bumps) of the transactions `feeSource` pays for in `lane`. */
  pendingFees(lane: Lane, feeSource: string): bigint {
    return this.feeTotals.get(`${lane} ${feeSource}`) ?? 0n;
  }

  /** Adds `tx`, replacing whatever its source had pending (the replacement keeps its age). */
  put(tx: ParsedTx): void {
    const previous = this.bySource.get(tx.inner.source);
    if (previous) this.drop(previous);
    const queued: QueuedTx = { tx, arrival: this.arrivals++, age: previous?.age ?? 0 };
    this.bySource.set(tx.inner.source, queued);
    this.byHash.set(tx.hash, queued);
    this.addFee(tx, tx.feeBid);
  }

  remove(hash: string): void {
    const queued = this.byHash.get(hash);
    if (queued) this.drop(queued);
  }

  /** Highest inclusion fee per operation first; arrival order among equals. */
  byFeeRate(): QueuedTx[] {
    return [...this.byHash.values()].sort((a, b) => Fees.compareRate(b.tx, a.tx) || a.arrival - b.arrival);
  }

  /** Bans `hash` (and drops it if queued) for `depth` ledgers; depth 0 bans nothing. */
  ban(hash: string, depth: number): void {
    this.remove(hash);
    if (depth > 0) this.bans.set(hash, this.shifts);
  }

  isBanned(hash: string, depth: number): boolean {
    const at = this.bans.get(hash);
    return at !== undefined && this.shifts < at + depth;
  }

  /**
   * After a ledger closed (core's removeApplied): the applied transaction's source no longer has a
   * pending one with its sequence number or an older one, and the applied hash is banned.
   */
  removeApplied(tx: ParsedTx, banDepth: number): void {
    const pending = this.bySource.get(tx.inner.source);
    if (pending && pending.tx.inner.seqNum <= tx.inner.seqNum) this.drop(pending);
    if (banDepth > 0) this.bans.set(tx.hash, this.shifts);
  }

  /**
   * One ledger later (core's shift): every pending transaction ages; one that reached `timeout`
   * ledgers is dropped and banned. Returns the dropped ones.
   */
  shift(timeout: number, banDepth: number): ParsedTx[] {
    this.shifts++;
    this.evictedBid.clear();
    for (const [hash, at] of this.bans) if (this.shifts >= at + banDepth) this.bans.delete(hash);
    const dropped: ParsedTx[] = [];
    for (const queued of [...this.byHash.values()]) {
      queued.age++;
      if (timeout > 0 && queued.age >= timeout) {
        dropped.push(queued.tx);
        this.ban(queued.tx.hash, banDepth);
      }
    }
    return dropped;
  }

  /**
   * Whether `tx` fits a lane holding at most `capacity` transactions (0: unbounded), evicting
   * strictly cheaper ones from other sources if need be; `replacing` is the pending transaction it
   * would replace, whose place it takes.
   */
  fit(tx: ParsedTx, replacing: ParsedTx | undefined, capacity: number): Fit {
    if (capacity <= 0) return { ok: true, evict: [] };
    const lane = laneOf(tx);
    const evicted = this.evictedBid.get(lane);
    if (evicted && Fees.compareRate(evicted, tx) >= 0) return { ok: false, minFee: Fees.betterFee(tx, evicted) };
    const inLane = [...this.byHash.values()].filter((q) => laneOf(q.tx) === lane && q.tx !== replacing);
    let excess = inLane.length + 1 - capacity;
    if (excess <= 0) return { ok: true, evict: [] };
    // Cheapest first; among equals the latest arrival goes first.
    const cheapest = inLane.sort((a, b) => Fees.compareRate(a.tx, b.tx) || b.arrival - a.arrival);
    const evict: QueuedTx[] = [];
    for (const candidate of cheapest) {
      if (excess <= 0) break;
      if (Fees.compareRate(candidate.tx, tx) >= 0) return { ok: false, minFee: Fees.betterFee(tx, candidate.tx) };
      if (candidate.tx.inner.source === tx.inner.source) return { ok: false, minFee: undefined };
      evict.push(candidate);
      excess--;
    }
    return { ok: true, evict };
  }

  /** Evicts to make room (after `fit`): each evicted transaction is banned, and later newcomers must beat it. */
  evict(evicted: readonly QueuedTx[], banDepth: number): void {
    for (const queued of evicted) {
      this.evictedBid.set(laneOf(queued.tx), queued.tx);
      this.ban(queued.tx.hash, banDepth);
    }
  }

  private drop(queued: QueuedTx): void {
    this.byHash.delete(queued.tx.hash);
    if (this.bySource.get(queued.tx.inner.source) === queued) this.bySource.delete(queued.tx.inner.source);
    this.addFee(queued.tx, -queued.tx.feeBid);
  }

  private addFee(tx: ParsedTx, delta: bigint): void {
    const key = `${laneOf(tx)} ${tx.feeSource}`;
    const total = (this.feeTotals.get(key) ?? 0n) + delta;
    if (total === 0n) this.feeTotals.delete(key);
    else this.feeTotals.set(key, total);
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

  /**
   * The full fee `tx` must bid to beat `other`'s rate (core's computeBetterFee: one stroop above
   * the rate scaled to tx's operations, plus tx's resource fee).
   */
  export function betterFee(tx: ParsedTx, other: ParsedTx): bigint {
    return (other.inclusionBid * BigInt(tx.feeOps)) / BigInt(other.feeOps) + 1n + tx.inner.resourceFee;
  }

  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
}
