import { xdr } from "@stellar/stellar-sdk";

/**
 * A TransactionResult's codes, read without trusting that this SDK knows them: the network adds
 * codes with new protocols (-18 `txFrozenKeyAccessed` came with protocol 26), and a code the SDK
 * cannot name must still be read, not make the reader throw. Codes are named as the XDR names them
 * (`txBadSeq`), or `tx_code_<n>` when this SDK has no name for `n`.
 */
export interface ResultCodes {
  readonly outer: string;
  /** The inner transaction's code, for a fee bump. */
  readonly inner?: string;
  /** For a transaction that failed in its operation: the first operation's result (e.g. `invokeHostFunctionResourceLimitExceeded`). */
  readonly operation?: string;
  readonly feeCharged: bigint;
}

/**
 * An invocation that failed on state that changed between simulation and apply (resources used
 * beyond what was declared, an entry archived since, a refundable fee short of what apply needed):
 * simulated afresh, the same call may succeed. Its auth nonce was not consumed (the failure rolled
 * it back).
 */
const DRIFT_FAILURES: ReadonlySet<string> = new Set([
  "invokeHostFunctionResourceLimitExceeded",
  "invokeHostFunctionEntryArchived",
  "invokeHostFunctionInsufficientRefundableFee",
]);

/** TransactionResult: int64 feeCharged, then the int32 code; a fee bump's inner pair is a 32-byte hash, an int64 fee, then the inner code. */
const OUTER_CODE_OFFSET = 8;
const INNER_CODE_OFFSET = OUTER_CODE_OFFSET + 4 + 32 + 8;
const FEE_BUMP_INNER_SUCCESS = 1;
const FEE_BUMP_INNER_FAILED = -13;

/** The first operation's result code of a failed transaction, when this SDK can read the result. */
function operationCode(resultXdr: string): string | undefined {
  try {
    let result = xdr.TransactionResult.fromXDR(resultXdr, "base64").result();
    const switched = result.switch().name;
    const inner = switched === "txFeeBumpInnerFailed" || switched === "txFeeBumpInnerSuccess" ? result.innerResultPair().result().result() : undefined;
    const results = (inner ?? result).results();
    const first = results[0];
    if (!first || first.switch().name !== "opInner") return first?.switch().name;
    const tr = first.tr();
    return tr.switch().name === "invokeHostFunction" ? tr.invokeHostFunctionResult().switch().name : tr.switch().name;
  } catch {
    return undefined;
  }
}

/** js-xdr enums look members up by value; the typings leave it out. */
const byValue = xdr.TransactionResultCode as unknown as { fromValue(value: number): { readonly name: string } };

function nameOf(code: number): string {
  try {
    return byValue.fromValue(code).name;
  } catch {
    return `tx_code_${code}`;
  }
}

/**
 * What a refusal or a failure means for a transaction Quay submits on someone's behalf; every code
 * the network can answer is here (stellar-core's TransactionResultCode, protocol 28). The default,
 * for a code newer than this table, is `final`.
 *
 * - `rebid`: the bid is below what the network asks now (the same inner transaction, a higher fee bump).
 * - `rebuild`: this inner transaction can never land (its sequence or time bounds): build a new one.
 * - `resimulate`: its declared resources were refused: simulate afresh and build a new one.
 * - `wait`: nothing is wrong with it; the network cannot take it now (an internal error, the fee
 *   source short of XLM while its earlier fees are pending, too early): send it again later.
 * - `final`: it, and any rebuild of the same payment, can never succeed.
 */
export type Verdict = "rebid" | "rebuild" | "resimulate" | "wait" | "final";

const VERDICTS: Readonly<Record<string, Verdict>> = {
  txInsufficientFee: "rebid",
  txBadSeq: "rebuild",
  txTooLate: "rebuild",
  txBadMinSeqAgeOrGap: "rebuild",
  // The channel account is missing (an operator removed it): another build, on another lease.
  txNoAccount: "rebuild",
  txSorobanInvalid: "resimulate",
  txInternalError: "wait",
  txInsufficientBalance: "wait",
  txTooEarly: "wait",
  // Can never succeed as signed: a malformed or unauthorised transaction, a refused operation, a frozen ledger key (CAP-77).
  txFailed: "final",
  txMissingOperation: "final",
  txBadAuth: "final",
  txBadAuthExtra: "final",
  txNotSupported: "final",
  txBadSponsorship: "final",
  txMalformed: "final",
  txFrozenKeyAccessed: "final",
};

export const ResultCodes = {
  /** The codes of a base64 TransactionResult (`errorResultXdr`, `resultXdr`). */
  decode(resultXdr: string): ResultCodes {
    const bytes = Buffer.from(resultXdr, "base64");
    if (bytes.length < OUTER_CODE_OFFSET + 4) return { outer: "tx_result_unreadable", feeCharged: 0n };
    const feeCharged = bytes.readBigInt64BE(0);
    const outerCode = bytes.readInt32BE(OUTER_CODE_OFFSET);
    const feeBump = outerCode === FEE_BUMP_INNER_SUCCESS || outerCode === FEE_BUMP_INNER_FAILED;
    const inner = feeBump && bytes.length >= INNER_CODE_OFFSET + 4 ? nameOf(bytes.readInt32BE(INNER_CODE_OFFSET)) : undefined;
    const operation = (inner ?? nameOf(outerCode)) === "txFailed" ? operationCode(resultXdr) : undefined;
    return { outer: nameOf(outerCode), ...(inner ? { inner } : {}), ...(operation ? { operation } : {}), feeCharged };
  },

  /** Whether a transaction that landed FAILED failed on state drift: worth one fresh simulation and one more try. */
  driftFailure(codes: ResultCodes): boolean {
    return codes.operation !== undefined && DRIFT_FAILURES.has(codes.operation);
  },

  /** The code that decides: the inner transaction's for a fee bump whose inner transaction failed. */
  deciding(codes: ResultCodes): string {
    return codes.inner ?? codes.outer;
  },

  /** What a refused `sendTransaction` (status ERROR) means; see `Verdict`. */
  verdict(codes: ResultCodes): Verdict {
    return VERDICTS[ResultCodes.deciding(codes)] ?? "final";
  },
};
