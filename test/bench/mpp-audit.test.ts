import { describe, expect, it } from "vitest";
import { auditPersistence, type SentRecord } from "@quay/bench";

/** The MPP benchmark's restart check: what it calls lost must mean an accepted voucher Postgres does not hold. */

const sent = (address: string, acceptedMax: bigint, unanswered: bigint[] = [], upTo = 10n): SentRecord => ({
  address,
  acceptedMax,
  unanswered: new Set(unanswered),
  signatures: new Map(Array.from({ length: Number(upTo) }, (_, i) => [BigInt(i + 1), `sig${i + 1}`] as const)),
});
const row = (address: string, cumulative: bigint, signature: string | null = `sig${cumulative}`) => ({ address, cumulative: cumulative.toString(), signature });

describe("auditPersistence", () => {
  it("counts a row holding the highest accepted voucher as equal, and one holding an unanswered higher voucher as ahead", () => {
    expect(auditPersistence([sent("A", 5n), sent("B", 5n, [6n])], [row("A", 5n), row("B", 6n)])).toEqual({
      channels: 2,
      equal: 1,
      aheadByUnanswered: 1,
      lost: 0,
      badSignature: 0,
      unexplained: 0,
    });
  });

  it("counts a row below the highest accepted voucher, or a missing row, as lost", () => {
    expect(auditPersistence([sent("A", 5n), sent("B", 3n)], [row("A", 4n)])).toMatchObject({ lost: 2, equal: 0 });
  });

  it("flags a higher amount that was answered (refused) or never sent, and a signature that is not the one sent", () => {
    expect(auditPersistence([sent("A", 5n, [7n])], [row("A", 6n)])).toMatchObject({ unexplained: 1, lost: 0 });
    expect(auditPersistence([sent("A", 5n)], [row("A", 5n, "other")])).toMatchObject({ equal: 1, badSignature: 1 });
  });

  it("a channel that never had a voucher accepted and holds none is equal", () => {
    expect(auditPersistence([sent("A", 0n)], [row("A", 0n, null)])).toMatchObject({ equal: 1, badSignature: 0 });
  });
});
