import type { xdr } from "@stellar/stellar-sdk";
import { Accounts } from "./accounts";
import { Envelopes } from "./envelope";
import type { InnerTx, ParsedTx } from "./envelope";
import { ClassicOps } from "./ops/classic";
import { OpResults } from "./results";
import type { OuterFailure, TxFailure } from "./results";
import { SignatureChecker } from "./signatures";
import type { LedgerState } from "./state";

export interface ValidationContext {
  readonly state: LedgerState;
  /** The ledger the transaction would be applied in. */
  readonly ledgerSeq: number;
  /** The close time that ledger would get (unix seconds). */
  readonly closeTime: bigint;
  readonly baseReserve: bigint;
  readonly minInclusionFee: bigint;
  /** False when the Soroban host is not loaded: Soroban operations are then opNOT_SUPPORTED. */
  readonly sorobanEnabled: boolean;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly failure: OuterFailure };

/**
 * The network's validity check for a transaction before it may enter the queue or be applied
 * (stellar-core's checkValid): structure, time and ledger bounds, fees, source, sequence,
 * signatures, balance for the fee, then each operation's source, signature and well-formedness.
 */
export namespace Validation {
  export function check(tx: ParsedTx, ctx: ValidationContext): Verdict {
    if (!tx.feeBump) {
      const failure = checkInner(tx.inner, ctx, { chargesFee: true });
      return failure ? { ok: false, failure: { kind: "outer", failure } } : { ok: true };
    }
    const fb = tx.feeBump;
    const innerOps = BigInt(tx.inner.operations.length);
    const minFee = (innerOps + 1n) * ctx.minInclusionFee + tx.inner.resourceFee;
    const innerInclusion = tx.inner.fee - tx.inner.resourceFee;
    // The outer bid must cover the minimum and bid at least the inner's rate per operation.
    if (fb.fee < minFee || tx.inclusionBid * innerOps < innerInclusion * (innerOps + 1n)) {
      return outer("txInsufficientFee");
    }
    const feeSource = Accounts.peek(ctx.state, fb.feeSource);
    if (!feeSource) return outer("txNoAccount");
    const checker = new SignatureChecker(fb.hash, fb.signatures);
    const t = Accounts.thresholds(feeSource);
    if (!checker.checkAccount(fb.feeSource, t.master, t.low)) return outer("txBadAuth");
    if (Accounts.available(feeSource, ctx.baseReserve) < fb.fee) return outer("txInsufficientBalance");
    const innerFailure = checkInner(tx.inner, ctx, { chargesFee: false });
    if (innerFailure) return { ok: false, failure: { kind: "inner", failure: innerFailure } };
    if (!checker.allUsed()) return outer("txBadAuthExtra");
    return { ok: true };
  }

  /** The threshold level an operation needs from its source account. */
  export function thresholdOf(opType: string): "low" | "medium" {
    return opType === "extendFootprintTtl" || opType === "restoreFootprint" ? "low" : "medium";
  }
}

function outer(code: TxFailure["code"]): Verdict {
  return { ok: false, failure: { kind: "outer", failure: { code } } };
}

function checkInner(tx: InnerTx, ctx: ValidationContext, opts: { chargesFee: boolean }): TxFailure | undefined {
  const ops = tx.operations;
  if (ops.length === 0) return { code: "txMissingOperation" };
  const sorobanOps = ops.filter(Envelopes.isSorobanOp).length;
  if (sorobanOps > 0 && (ops.length !== 1 || !tx.sorobanData)) return { code: "txMalformed" };
  if (sorobanOps === 0 && tx.sorobanData) return { code: "txMalformed" };
  if (tx.sorobanData && tx.resourceFee > tx.fee) return { code: "txSorobanInvalid" };
  // The devnet keeps no sequence-age bookkeeping (AccountEntryExtensionV3), so it refuses these
  // preconditions outright rather than judge them wrongly.
  if (tx.minSeqAge !== 0n || tx.minSeqLedgerGap !== 0) return { code: "txNotSupported" };

  if (tx.timeBounds) {
    if (tx.timeBounds.min > ctx.closeTime) return { code: "txTooEarly" };
    if (tx.timeBounds.max !== 0n && tx.timeBounds.max < ctx.closeTime) return { code: "txTooLate" };
  }
  if (tx.ledgerBounds) {
    if (tx.ledgerBounds.min > ctx.ledgerSeq) return { code: "txTooEarly" };
    if (tx.ledgerBounds.max !== 0 && tx.ledgerBounds.max <= ctx.ledgerSeq) return { code: "txTooLate" };
  }
  if (opts.chargesFee && tx.fee < tx.resourceFee + BigInt(ops.length) * ctx.minInclusionFee) {
    return { code: "txInsufficientFee" };
  }

  const source = Accounts.peek(ctx.state, tx.source);
  if (!source) return { code: "txNoAccount" };
  const current = Accounts.seqNum(source);
  const seqOk =
    tx.minSeqNum !== undefined ? current >= tx.minSeqNum && current < tx.seqNum : tx.seqNum === current + 1n;
  if (!seqOk) return { code: "txBadSeq" };

  const checker = new SignatureChecker(tx.hash, tx.signatures);
  const t = Accounts.thresholds(source);
  if (!checker.checkAccount(tx.source, t.master, t.low)) return { code: "txBadAuth" };
  if (!tx.extraSigners.every((k) => checker.checkSignerKey(k))) return { code: "txBadAuth" };
  if (opts.chargesFee && Accounts.available(source, ctx.baseReserve) < tx.fee) return { code: "txInsufficientBalance" };

  const opResults: xdr.OperationResult[] = [];
  let opFailed = false;
  for (const op of ops) {
    const result = checkOperation(op, tx.source, ctx, checker);
    if (result) opFailed = true;
    opResults.push(result ?? ClassicOps.placeholderSuccess(Envelopes.operationType(op)));
  }
  if (opFailed) return { code: "txFailed", opResults };
  if (!checker.allUsed()) return { code: "txBadAuthExtra" };
  return undefined;
}

function checkOperation(op: xdr.Operation, txSource: string, ctx: ValidationContext, checker: SignatureChecker): xdr.OperationResult | undefined {
  const opType = Envelopes.operationType(op);
  const opSource = Envelopes.opSource(op, txSource);
  const account = Accounts.peek(ctx.state, opSource);
  if (!account) return OpResults.noAccount();
  const t = Accounts.thresholds(account);
  const needed = Validation.thresholdOf(opType) === "low" ? t.low : t.medium;
  if (!checker.checkAccount(opSource, t.master, needed)) return OpResults.badAuth();
  if (Envelopes.isSorobanOp(op)) return ctx.sorobanEnabled ? undefined : OpResults.notSupported();
  return ClassicOps.checkWellFormed(op, opSource);
}
