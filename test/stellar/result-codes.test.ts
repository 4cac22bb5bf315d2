import { describe, expect, it } from "vitest";
import { xdr } from "@stellar/stellar-sdk";
import { ResultCodes } from "@quay/stellar";

/** A TransactionResult as the RPC sends it (base64), with `code` as its raw int32 result code. */
function rawResult(feeCharged: bigint, code: number, inner?: { code: number; fee: bigint }): string {
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(feeCharged, 0);
  head.writeInt32BE(code, 8);
  const parts = [head];
  if (inner) {
    const pair = Buffer.alloc(32 + 8 + 4 + 4 + 4); // hash, inner fee, inner code, inner results (empty), inner ext
    pair.writeBigInt64BE(inner.fee, 32);
    pair.writeInt32BE(inner.code, 40);
    parts.push(pair);
  }
  parts.push(Buffer.alloc(4)); // ext v0 (and, for a plain result, an empty results array is read no further)
  return Buffer.concat(parts).toString("base64");
}

describe("ResultCodes", () => {
  it("reads what the SDK names, as the SDK names it, with the fee charged", () => {
    const refused = new xdr.TransactionResult({ feeCharged: new xdr.Int64(321), result: xdr.TransactionResultResult.txBadSeq(), ext: new xdr.TransactionResultExt(0) });
    expect(ResultCodes.decode(refused.toXDR("base64"))).toEqual({ outer: "txBadSeq", feeCharged: 321n });
    expect(ResultCodes.verdict(ResultCodes.decode(refused.toXDR("base64")))).toBe("rebuild");
  });

  it("reads -18 (txFrozenKeyAccessed, protocol 26) as a final refusal, and a fee bump's inner code", () => {
    expect(ResultCodes.decode(rawResult(0n, -18))).toEqual({ outer: "txFrozenKeyAccessed", feeCharged: 0n });
    expect(ResultCodes.verdict(ResultCodes.decode(rawResult(0n, -18)))).toBe("final");
    const bump = ResultCodes.decode(rawResult(400n, -13, { code: -5, fee: 0n }));
    expect(bump).toEqual({ outer: "txFeeBumpInnerFailed", inner: "txBadSeq", feeCharged: 400n });
    expect(ResultCodes.deciding(bump)).toBe("txBadSeq");
    expect(ResultCodes.verdict(bump)).toBe("rebuild");
  });

  it("reads a code newer than the SDK without throwing, as a final refusal that names it", () => {
    const codes = ResultCodes.decode(rawResult(100n, -42));
    expect(codes).toEqual({ outer: "tx_code_-42", feeCharged: 100n });
    expect(ResultCodes.verdict(codes)).toBe("final");
    expect(ResultCodes.decode(rawResult(100n, -13, { code: -77, fee: 0n }))).toMatchObject({ inner: "tx_code_-77" });
  });

  it("judges every code as the README's table does", () => {
    const verdict = (code: number) => ResultCodes.verdict(ResultCodes.decode(rawResult(0n, code)));
    expect([-9].map(verdict)).toEqual(["rebid"]); // txInsufficientFee
    expect([-5, -3, -15, -8].map(verdict)).toEqual(["rebuild", "rebuild", "rebuild", "rebuild"]); // badSeq, tooLate, minSeqAgeOrGap, noAccount
    expect(verdict(-17)).toBe("resimulate"); // txSorobanInvalid
    expect([-11, -7, -2].map(verdict)).toEqual(["wait", "wait", "wait"]); // internalError, insufficientBalance, tooEarly
    expect([-1, -4, -6, -10, -12, -14, -16, -18].map(verdict)).toEqual(Array(8).fill("final"));
  });
});
