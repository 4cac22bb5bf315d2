import { xdr } from "@stellar/stellar-sdk";

/** Transaction-level result codes a plain (non fee-bump) transaction can end with. */
export type TxCode =
  | "txSuccess"
  | "txFailed"
  | "txTooEarly"
  | "txTooLate"
  | "txMissingOperation"
  | "txBadSeq"
  | "txBadAuth"
  | "txInsufficientBalance"
  | "txNoAccount"
  | "txInsufficientFee"
  | "txBadAuthExtra"
  | "txInternalError"
  | "txNotSupported"
  | "txMalformed"
  | "txSorobanInvalid"
  /** CAP-77 (protocol 26): the transaction touches a ledger key the validators froze. */
  | "txFrozenKeyAccessed";

/** Why a transaction is not valid: its code, and the per-op results when an operation is to blame. */
export interface TxFailure {
  readonly code: TxCode;
  readonly opResults?: readonly xdr.OperationResult[];
}

export type OuterFailure =
  | { readonly kind: "outer"; readonly failure: TxFailure }
  /** A fee bump whose inner transaction is invalid: txFEE_BUMP_INNER_FAILED wrapping the inner code. */
  | { readonly kind: "inner"; readonly failure: TxFailure };

export namespace Results {
  export function plain(feeCharged: bigint, failure: TxFailure | { code: "txSuccess"; opResults: readonly xdr.OperationResult[] }): xdr.TransactionResult {
    return new xdr.TransactionResult({
      feeCharged: int64(feeCharged),
      result: outerResult(failure.code, failure.opResults ?? []),
      ext: new xdr.TransactionResultExt(0),
    });
  }

  /** A fee bump's result: inner success/failure wrapped with the inner hash (inner feeCharged is 0: the fee source pays). */
  export function feeBump(
    feeCharged: bigint,
    innerHash: Buffer,
    inner: { code: TxCode; opResults?: readonly xdr.OperationResult[] },
  ): xdr.TransactionResult {
    const pair = new xdr.InnerTransactionResultPair({
      transactionHash: innerHash,
      result: new xdr.InnerTransactionResult({
        feeCharged: int64(0n),
        result: innerResult(inner.code, inner.opResults ?? []),
        ext: new xdr.InnerTransactionResultExt(0),
      }),
    });
    return new xdr.TransactionResult({
      feeCharged: int64(feeCharged),
      result:
        inner.code === "txSuccess"
          ? xdr.TransactionResultResult.txFeeBumpInnerSuccess(pair)
          : xdr.TransactionResultResult.txFeeBumpInnerFailed(pair),
      ext: new xdr.TransactionResultExt(0),
    });
  }

  /** The result sendTransaction returns for a rejected envelope. */
  export function rejection(feeCharged: bigint, failure: OuterFailure, innerHash?: Buffer): xdr.TransactionResult {
    if (failure.kind === "inner" && innerHash) return feeBump(feeCharged, innerHash, failure.failure);
    return plain(feeCharged, failure.failure);
  }

  export function codeName(result: xdr.TransactionResult): string {
    return result.result().switch().name;
  }

  export function isSuccess(result: xdr.TransactionResult): boolean {
    const name = codeName(result);
    return name === "txSuccess" || name === "txFeeBumpInnerSuccess";
  }

  function outerResult(code: TxCode, ops: readonly xdr.OperationResult[]): xdr.TransactionResultResult {
    const R = xdr.TransactionResultResult;
    switch (code) {
      case "txSuccess":
        return R.txSuccess([...ops]);
      case "txFailed":
        return R.txFailed([...ops]);
      default:
        return R[code]();
    }
  }

  function innerResult(code: TxCode, ops: readonly xdr.OperationResult[]): xdr.InnerTransactionResultResult {
    const R = xdr.InnerTransactionResultResult;
    switch (code) {
      case "txSuccess":
        return R.txSuccess([...ops]);
      case "txFailed":
        return R.txFailed([...ops]);
      default:
        return R[code]();
    }
  }
}

/** Operation results, one builder per outcome the devnet produces. */
export namespace OpResults {
  const Tr = xdr.OperationResultTr;
  const inner = (tr: xdr.OperationResultTr): xdr.OperationResult => xdr.OperationResult.opInner(tr);

  export const noAccount = (): xdr.OperationResult => xdr.OperationResult.opNoAccount();
  export const badAuth = (): xdr.OperationResult => xdr.OperationResult.opBadAuth();
  export const notSupported = (): xdr.OperationResult => xdr.OperationResult.opNotSupported();

  export type CreateAccountCode = "createAccountSuccess" | "createAccountMalformed" | "createAccountUnderfunded" | "createAccountLowReserve" | "createAccountAlreadyExist";
  export const createAccount = (code: CreateAccountCode): xdr.OperationResult => inner(Tr.createAccount(xdr.CreateAccountResult[code]()));

  export type PaymentCode =
    | "paymentSuccess"
    | "paymentMalformed"
    | "paymentUnderfunded"
    | "paymentSrcNoTrust"
    | "paymentSrcNotAuthorized"
    | "paymentNoDestination"
    | "paymentNoTrust"
    | "paymentNotAuthorized"
    | "paymentLineFull";
  export const payment = (code: PaymentCode): xdr.OperationResult => inner(Tr.payment(xdr.PaymentResult[code]()));

  export type ChangeTrustCode =
    | "changeTrustSuccess"
    | "changeTrustMalformed"
    | "changeTrustNoIssuer"
    | "changeTrustInvalidLimit"
    | "changeTrustLowReserve"
    | "changeTrustSelfNotAllowed";
  export const changeTrust = (code: ChangeTrustCode): xdr.OperationResult => inner(Tr.changeTrust(xdr.ChangeTrustResult[code]()));

  export type BumpSequenceCode = "bumpSequenceSuccess" | "bumpSequenceBadSeq";
  export const bumpSequence = (code: BumpSequenceCode): xdr.OperationResult => inner(Tr.bumpSequence(xdr.BumpSequenceResult[code]()));

  export const invokeSuccess = (successHash: Buffer): xdr.OperationResult =>
    inner(Tr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionSuccess(successHash)));
  export const extendSuccess = (): xdr.OperationResult =>
    inner(Tr.extendFootprintTtl(xdr.ExtendFootprintTtlResult.extendFootprintTtlSuccess()));
  export const restoreSuccess = (): xdr.OperationResult =>
    inner(Tr.restoreFootprint(xdr.RestoreFootprintResult.restoreFootprintSuccess()));

  /** The "insufficient refundable fee" code for whichever Soroban op ran. */
  export function insufficientRefundableFee(opType: string): xdr.OperationResult {
    if (opType === "extendFootprintTtl")
      return inner(Tr.extendFootprintTtl(xdr.ExtendFootprintTtlResult.extendFootprintTtlInsufficientRefundableFee()));
    if (opType === "restoreFootprint")
      return inner(Tr.restoreFootprint(xdr.RestoreFootprintResult.restoreFootprintInsufficientRefundableFee()));
    return inner(Tr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionInsufficientRefundableFee()));
  }

  export function isSuccess(result: xdr.OperationResult): boolean {
    if (result.switch() !== xdr.OperationResultCode.opInner()) return false;
    return result.tr().value().switch().name.endsWith("Success");
  }
}

export function int64(value: bigint): xdr.Int64 {
  return xdr.Int64.fromString(value.toString());
}
