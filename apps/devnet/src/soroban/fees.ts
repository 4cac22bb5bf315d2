import type { xdr } from "@stellar/stellar-sdk";

/**
 * The devnet's resource model. The real network meters CPU instructions in Wasm and prices
 * resources from on-chain config settings; this devnet runs native contracts, so it charges
 * deterministic, documented amounts instead. What matters for callers is preserved: simulation
 * reports exactly what apply will need, and apply fails when the declared resources or fee fall short.
 *
 * Instructions:  OP_BASE + CALL per contract call + STORAGE_ACCESS per distinct key touched
 *                + SIGNATURE per address-credential auth entry verified (also counted when recording,
 *                so a recorded simulation covers the signed transaction).
 * Non-refundable fee = ceil(instructions × 25 / 10 000)
 *                    + 1 000 per footprint entry + 2 000 per read-write entry
 *                    + ceil(diskReadBytes × 100 / 1 024) + ceil(writeBytes × 1 000 / 1 024)
 *                    + ceil((txSize + 300) × 1 000 / 1 024) (history) + ceil(txSize × 200 / 1 024) (bandwidth)
 * Refundable fee     = rent + ceil((contract-event + return-value bytes) × 100 / 1 024)
 * Rent (per entry whose live-until ledger grows, including creation) =
 *                      ceil(entryBytes × ledgersAdded / 100 000) for persistent entries and code,
 *                      ceil(entryBytes × ledgersAdded / 1 000 000) for temporary entries.
 * A transaction's resource fee must cover non-refundable + refundable.
 *
 * As on the network (rs-soroban-env fees.rs, stellar-core TransactionFrame): what the transaction
 * is charged in the end is the non-refundable fee of its *declared* resources and size, plus the
 * refundable fee it consumed; a failed transaction consumes nothing refundable. The host itself
 * prices what it used, without the size, which it cannot see (simulation and the pipeline add it).
 */
export const RESOURCE_FEE_SCHEDULE = {
  instructions: { opBase: 500_000, call: 400_000, storageAccess: 30_000, signature: 300_000 },
  feePer10kInstructions: 25n,
  feePerFootprintEntry: 1_000n,
  feePerReadWriteEntry: 2_000n,
  feePerKbDiskRead: 100n,
  feePerKbWrite: 1_000n,
  feePerKbEvents: 100n,
  feePerKbHistorical: 1_000n,
  feePerKbBandwidth: 200n,
  /** rs-soroban-env's TX_BASE_RESULT_SIZE: the history write is the envelope plus this estimate of its result. */
  txBaseResultSize: 300,
  persistentRentDivisor: 100_000n,
  temporaryRentDivisor: 1_000_000n,
} as const;

export interface ResourceUsage {
  readonly instructions: number;
  readonly footprintEntries: number;
  readonly readWriteEntries: number;
  readonly diskReadBytes: number;
  readonly writeBytes: number;
  readonly eventBytes: number;
  readonly rent: bigint;
  /** The transaction envelope's XDR size (0 where unknown: the host prices without it). */
  readonly txSizeBytes?: number;
}

/** The resources a transaction declares (SorobanResources) plus its size: what the non-refundable fee is priced on. */
export interface DeclaredResources {
  readonly instructions: number;
  readonly footprintEntries: number;
  readonly readWriteEntries: number;
  readonly diskReadBytes: number;
  readonly writeBytes: number;
  readonly txSizeBytes: number;
}

export interface ResourceFee {
  readonly nonRefundable: bigint;
  readonly refundable: bigint;
  readonly total: bigint;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

export namespace Fees {
  export function of(usage: ResourceUsage): ResourceFee {
    const nonRefundable = nonRefundableOf({ ...usage, txSizeBytes: usage.txSizeBytes ?? 0 });
    const refundable = usage.rent + eventsFee(usage.eventBytes);
    return { nonRefundable, refundable, total: nonRefundable + refundable };
  }

  /** The non-refundable fee of these resources (compute, entries, bytes, history and bandwidth). */
  export function nonRefundableOf(r: DeclaredResources): bigint {
    const s = RESOURCE_FEE_SCHEDULE;
    const sizeFee =
      r.txSizeBytes > 0
        ? ceilDiv(BigInt(r.txSizeBytes + s.txBaseResultSize) * s.feePerKbHistorical, 1024n) + ceilDiv(BigInt(r.txSizeBytes) * s.feePerKbBandwidth, 1024n)
        : 0n;
    return (
      ceilDiv(BigInt(r.instructions) * s.feePer10kInstructions, 10_000n) +
      BigInt(r.footprintEntries) * s.feePerFootprintEntry +
      BigInt(r.readWriteEntries) * s.feePerReadWriteEntry +
      ceilDiv(BigInt(r.diskReadBytes) * s.feePerKbDiskRead, 1024n) +
      ceilDiv(BigInt(r.writeBytes) * s.feePerKbWrite, 1024n) +
      sizeFee
    );
  }

  export function eventsFee(eventBytes: number): bigint {
    return ceilDiv(BigInt(eventBytes) * RESOURCE_FEE_SCHEDULE.feePerKbEvents, 1024n);
  }

  /** The resources a transaction declares, as the network prices them before applying it. */
  export function declared(data: xdr.SorobanTransactionData, txSizeBytes: number): DeclaredResources {
    const r = data.resources();
    const fp = r.footprint();
    return {
      instructions: r.instructions(),
      footprintEntries: fp.readOnly().length + fp.readWrite().length,
      readWriteEntries: fp.readWrite().length,
      diskReadBytes: r.diskReadBytes(),
      writeBytes: r.writeBytes(),
      txSizeBytes,
    };
  }

  export function rent(entryBytes: number, ledgersAdded: number, persistent: boolean): bigint {
    if (ledgersAdded <= 0) return 0n;
    const divisor = persistent ? RESOURCE_FEE_SCHEDULE.persistentRentDivisor : RESOURCE_FEE_SCHEDULE.temporaryRentDivisor;
    return ceilDiv(BigInt(entryBytes) * BigInt(ledgersAdded), divisor);
  }
}
