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
 * Refundable fee     = rent + ceil(contract-event bytes × 100 / 1 024)
 * Rent (per entry whose live-until ledger grows, including creation) =
 *                      ceil(entryBytes × ledgersAdded / 100 000) for persistent entries and code,
 *                      ceil(entryBytes × ledgersAdded / 1 000 000) for temporary entries.
 * A transaction's resource fee must cover non-refundable + refundable.
 */
export const RESOURCE_FEE_SCHEDULE = {
  instructions: { opBase: 500_000, call: 400_000, storageAccess: 30_000, signature: 300_000 },
  feePer10kInstructions: 25n,
  feePerFootprintEntry: 1_000n,
  feePerReadWriteEntry: 2_000n,
  feePerKbDiskRead: 100n,
  feePerKbWrite: 1_000n,
  feePerKbEvents: 100n,
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
}

export interface ResourceFee {
  readonly nonRefundable: bigint;
  readonly refundable: bigint;
  readonly total: bigint;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

export namespace Fees {
  export function of(usage: ResourceUsage): ResourceFee {
    const s = RESOURCE_FEE_SCHEDULE;
    const nonRefundable =
      ceilDiv(BigInt(usage.instructions) * s.feePer10kInstructions, 10_000n) +
      BigInt(usage.footprintEntries) * s.feePerFootprintEntry +
      BigInt(usage.readWriteEntries) * s.feePerReadWriteEntry +
      ceilDiv(BigInt(usage.diskReadBytes) * s.feePerKbDiskRead, 1024n) +
      ceilDiv(BigInt(usage.writeBytes) * s.feePerKbWrite, 1024n);
    const refundable = usage.rent + ceilDiv(BigInt(usage.eventBytes) * s.feePerKbEvents, 1024n);
    return { nonRefundable, refundable, total: nonRefundable + refundable };
  }

  export function rent(entryBytes: number, ledgersAdded: number, persistent: boolean): bigint {
    if (ledgersAdded <= 0) return 0n;
    const divisor = persistent ? RESOURCE_FEE_SCHEDULE.persistentRentDivisor : RESOURCE_FEE_SCHEDULE.temporaryRentDivisor;
    return ceilDiv(BigInt(entryBytes) * BigInt(ledgersAdded), divisor);
  }
}
