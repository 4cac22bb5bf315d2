import { xdr } from "@stellar/stellar-sdk";
import { Accounts } from "./accounts";
import { Envelopes } from "./envelope";
import type { InnerTx, ParsedTx } from "./envelope";
import { ClassicOps } from "./ops/classic";
import { Protocol } from "./protocol";
import { OpResults } from "./results";
import type { OuterFailure, TxFailure } from "./results";
import { SignatureChecker } from "./signatures";
import { Fees } from "./soroban/fees";
import { Keys } from "./soroban/keys";
import { keyId, type LedgerState } from "./state";

export interface ValidationContext {
  readonly state: LedgerState;
  /** The ledger the transaction would be applied in. */
  readonly ledgerSeq: number;
  /** The close time that ledger would get (unix seconds); minTime must not lie after it. */
  readonly closeTime: bigint;
  /**
   * maxTime must not lie before this (default closeTime). Admission asks for more: the last close
   * plus stellar-core's upper-bound close-time offset, so that the transaction is still valid
   * when its ledger closes.
   */
  readonly maxTimeFloor?: bigint;
  /**
   * Whether a declared resource fee below what the declared resources need is txSOROBAN_INVALID,
   * and whether that need includes the transaction's size (as the network's fees do; the relaxed
   * fee rule leaves the size unpriced).
   */
  readonly resourceFeeCheck: { readonly priceSize: boolean } | undefined;
  readonly baseReserve: bigint;
  readonly minInclusionFee: bigint;
  /** False when the Soroban host is not loaded: Soroban operations are then opNOT_SUPPORTED. */
  readonly sorobanEnabled: boolean;
  readonly protocolVersion: number;
  /** Ids of the frozen ledger keys (CAP-77); they count from protocol 26. */
  readonly frozenKeys: ReadonlySet<string>;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly failure: OuterFailure };

/**
 * The network's validity check for a transaction before it may enter the queue or be applied
 * (stellar-core's checkValid): structure, time and ledger bounds, fees, source, sequence,
 * signatures, balance for the fee, then each operation's source, signature and well-formedness.
 */
export namespace Validation {
  export function check(tx: ParsedTx, ctx: ValidationContext): Verdict {
    // The envelope must parse with the XDR of the ledger's protocol; core judges a fee bump's
    // inner envelope as part of the outer one.
    if (!Protocol.operationsParseAt(tx.inner.operations, ctx.protocolVersion)) return outer("txMalformed");
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
    if (isFrozen(ctx, Accounts.key(fb.feeSource))) return outer("txFrozenKeyAccessed");
    const innerFailure = checkInner(tx.inner, ctx, { chargesFee: false });
    if (innerFailure) return { ok: false, failure: { kind: "inner", failure: innerFailure } };
    if (!checker.allUsed()) return outer("txBadAuthExtra");
    return { ok: true };
  }

  /** The threshold level an operation needs from its source account. */
  export function thresholdOf(opType: string): "low" | "medium" {
    return opType === "extendFootprintTtl" || opType === "restoreFootprint" || opType === "bumpSequence" ? "low" : "medium";
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
  if (!sorobanMemoValid(tx)) return { code: "txSorobanInvalid" };
  if (tx.sorobanData && !archivedEntriesValid(tx.sorobanData)) return { code: "txSorobanInvalid" };
  // Since protocol 23 a fee bump's inner transaction may declare a resource fee above its own fee
  // (stellar-core: validateResourceFee = chargeFee); the outer fee pays for it.
  if (opts.chargesFee && tx.sorobanData && tx.resourceFee > tx.fee) return { code: "txSorobanInvalid" };
  // stellar-core's checkValid: "sorobanData.resourceFee is lower than the actual Soroban resource
  // fee", the non-refundable fee of the declared resources and size (events count 0 before apply).
  const feeCheck = ctx.resourceFeeCheck;
  if (tx.sorobanData && feeCheck && tx.resourceFee < Fees.nonRefundableOf(Fees.declared(tx.sorobanData, feeCheck.priceSize ? tx.sizeBytes : 0))) {
    return { code: "txSorobanInvalid" };
  }
  // The devnet keeps no sequence-age bookkeeping (AccountEntryExtensionV3), so it refuses these
  // preconditions outright rather than judge them wrongly.
  if (tx.minSeqAge !== 0n || tx.minSeqLedgerGap !== 0) return { code: "txNotSupported" };

  if (tx.timeBounds) {
    if (tx.timeBounds.min > ctx.closeTime) return { code: "txTooEarly" };
    if (tx.timeBounds.max !== 0n && tx.timeBounds.max < (ctx.maxTimeFloor ?? ctx.closeTime)) return { code: "txTooLate" };
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
  if (accessesFrozenKey(tx, ctx)) return { code: "txFrozenKeyAccessed" };
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

/**
 * stellar-core's validateSorobanMemo: a Soroban invocation carries no memo and no muxed source,
 * neither on the transaction nor on its operation (CAP-67; refused at send under every protocol
 * the devnet speaks: by the queue before 25, by checkValid from 25).
 */
function sorobanMemoValid(tx: InnerTx): boolean {
  const op = tx.operations[0];
  if (!tx.sorobanData || tx.operations.length !== 1 || !op || Envelopes.operationType(op) !== "invokeHostFunction") return true;
  return !tx.hasMemo && !tx.sourceIsMuxed && !Envelopes.opSourceIsMuxed(op);
}

/**
 * The automatic-restore marks (SorobanResourcesExtV0.archivedSorobanEntries): strictly increasing
 * indexes into the read-write footprint, each naming a persistent entry (core's checkSorobanResources).
 */
function archivedEntriesValid(data: xdr.SorobanTransactionData): boolean {
  if (data.ext().switch() !== 1) return true;
  const readWrite = data.resources().footprint().readWrite();
  let last = -1;
  for (const index of data.ext().resourceExt().archivedSorobanEntries()) {
    if (index <= last || index >= readWrite.length) return false;
    last = index;
    if (!Keys.isPersistent(readWrite[index]!)) return false;
  }
  return true;
}

function isFrozen(ctx: ValidationContext, key: xdr.LedgerKey): boolean {
  return ctx.frozenKeys.size > 0 && Protocol.hasFrozenKeys(ctx.protocolVersion) && ctx.frozenKeys.has(keyId(key));
}

/** TransactionFrame::accessesFrozenKey: the source, the Soroban footprint, and each operation's own source. */
function accessesFrozenKey(tx: InnerTx, ctx: ValidationContext): boolean {
  if (ctx.frozenKeys.size === 0 || !Protocol.hasFrozenKeys(ctx.protocolVersion)) return false;
  const footprint = tx.sorobanData?.resources().footprint();
  const keys = [
    Accounts.key(tx.source),
    ...(footprint ? [...footprint.readOnly(), ...footprint.readWrite()] : []),
    ...tx.operations.filter((op) => op.sourceAccount()).map((op) => Accounts.key(Envelopes.opSource(op, tx.source))),
  ];
  return keys.some((key) => isFrozen(ctx, key));
}
