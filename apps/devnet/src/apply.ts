import { xdr } from "@stellar/stellar-sdk";
import { Accounts } from "./accounts";
import { Envelopes } from "./envelope";
import type { ParsedTx } from "./envelope";
import { ClassicEvents } from "./events";
import type { DevnetLogger } from "./logger";
import { Meta } from "./meta";
import { ClassicOps } from "./ops/classic";
import { int64, OpResults, Results } from "./results";
import type { OuterFailure } from "./results";
import { sha256 } from "./sha256";
import { Fees } from "./soroban/fees";
import type { ExecuteSorobanOp, LedgerInfo, ResourceDrift } from "./soroban/host";
import type { LedgerState } from "./state";

export interface ApplyContext {
  /** The ledger's working state; the transaction's effects are committed into it. */
  readonly state: LedgerState;
  readonly ledger: LedgerInfo;
  readonly baseReserve: bigint;
  /** Inclusion fee per operation this ledger charges (the minimum, or the surge price). */
  readonly baseFee: bigint;
  readonly soroban: ExecuteSorobanOp | undefined;
  readonly logger: DevnetLogger;
  /** NetworkRules.networkResourceFees: charge the declared non-refundable fee, refund all refundable fee on failure. */
  readonly networkResourceFees: boolean;
  /** The fault switch's resource drift: consulted (and used up) by each invocation applied. */
  readonly takeDrift?: () => ResourceDrift | undefined;
}

export interface AppliedTx {
  readonly tx: ParsedTx;
  readonly result: xdr.TransactionResult;
  readonly meta: xdr.TransactionMeta;
  readonly feeProcessing: readonly xdr.LedgerEntryChange[];
  /** The refund of unused Soroban resource fee, applied after the transaction (protocol 23). */
  readonly postFeeProcessing: readonly xdr.LedgerEntryChange[];
  /** Final fee: what was taken up front minus any refund. */
  readonly feeCharged: bigint;
  /** Inclusion part of feeCharged (what getFeeStats reports). */
  readonly inclusionFeeCharged: bigint;
  readonly successful: boolean;
  /** Contract events per operation (empty lists when the transaction failed). */
  readonly contractEvents: readonly (readonly xdr.ContractEvent[])[];
  readonly transactionEvents: readonly xdr.TransactionEvent[];
  readonly diagnosticEvents: readonly xdr.DiagnosticEvent[];
}

interface OpRun {
  readonly result: xdr.OperationResult;
  readonly events: readonly xdr.ContractEvent[];
  readonly diagnosticEvents: readonly xdr.DiagnosticEvent[];
  readonly returnValue?: xdr.ScVal;
  /** Resource fee the host says the op actually needed (Soroban ops only). */
  readonly minResourceFee?: bigint;
  /** Refundable fee the op consumed: rent, events and return value (Soroban ops only). */
  readonly refundable?: bigint;
  readonly rent?: bigint;
}

/**
 * Applies one transaction as the network does: the fee source pays the fee and the source's
 * sequence number is consumed whatever happens next; the operations run on a fork that is
 * committed only if every one of them succeeds.
 *
 * `invalid` is a transaction an earlier one of the same ledger made invalid (stellar-core's apply
 * re-checks validity): it is still charged, runs no operation and ends with that code; its
 * sequence number is consumed only if the check failed after the sequence check (bad auth,
 * balance, operations), as core's kInvalidUpdateSeqNum.
 *
 * A Soroban transaction's fee, by the network's rules (stellar-core TransactionFrame,
 * RefundableFeeTracker): its declared resource fee is taken up front; afterwards it is refunded
 * all but the non-refundable fee of its declared resources and size and the refundable fee it
 * consumed (rent, events and return value), which is nothing when it failed.
 */
export function applyTransaction(tx: ParsedTx, ctx: ApplyContext, invalid?: OuterFailure): AppliedTx {
  const seq = ctx.ledger.sequence;
  const inclusionFeeCharged = minBig(tx.inclusionBid, ctx.baseFee * BigInt(tx.feeOps));

  const feeFork = ctx.state.fork();
  const feeSource = Accounts.load(feeFork, tx.feeSource);
  // Core takes what the fee source has when it holds less than the fee (only possible for an invalid one).
  const upfrontFee = minBig(tx.inner.resourceFee + inclusionFeeCharged, feeSource ? Accounts.balance(feeSource) : 0n);
  if (feeSource) {
    Accounts.setBalance(feeSource, Accounts.balance(feeSource) - upfrontFee);
    Accounts.store(feeFork, feeSource, seq);
  }
  const feeProcessing = Meta.changes(feeFork, ctx.state, seq);
  feeFork.commit();

  const seqFork = ctx.state.fork();
  const source = Accounts.load(seqFork, tx.inner.source);
  if (source && (!invalid || consumesSequence(tx, invalid))) {
    Accounts.setSeqNum(source, tx.inner.seqNum);
    Accounts.store(seqFork, source, seq);
  }
  const txChangesBefore = Meta.changes(seqFork, ctx.state, seq);
  seqFork.commit();

  // The refundable fee the network would give back at most: the declared fee less the
  // non-refundable fee of the declared resources and size.
  const data = tx.inner.sorobanData;
  const maxRefundable =
    data && ctx.networkResourceFees ? maxBig(0n, tx.inner.resourceFee - Fees.nonRefundableOf(Fees.declared(data, tx.inner.sizeBytes))) : 0n;

  const txFork = ctx.state.fork();
  const runs: OpRun[] = [];
  const opChanges: xdr.LedgerEntryChange[][] = [];
  let successful = invalid === undefined;
  if (!invalid) {
    for (const op of tx.inner.operations) {
      const opFork = txFork.fork();
      const run = runOperation(op, tx, opFork, ctx, maxRefundable);
      runs.push(run);
      opChanges.push(Meta.changes(opFork, txFork, seq));
      if (OpResults.isSuccess(run.result)) opFork.commit();
      else successful = false;
    }
  }
  if (successful) txFork.commit();

  const used = successful ? runs[0] : undefined;
  const refundableCharged = tx.isSoroban && successful ? (used?.refundable ?? 0n) : 0n;
  let refund = 0n;
  if (tx.isSoroban && ctx.networkResourceFees) refund = maxRefundable - refundableCharged;
  else if (tx.isSoroban && used?.minResourceFee !== undefined && used.minResourceFee < tx.inner.resourceFee) {
    // Relaxed rule: refund what a successful op did not use; a failed one keeps the whole declared fee.
    refund = tx.inner.resourceFee - used.minResourceFee;
  }
  refund = minBig(maxBig(refund, 0n), upfrontFee);
  const feeCharged = upfrontFee - refund;
  let postFeeProcessing: xdr.LedgerEntryChange[] = [];
  if (refund > 0n) {
    const refundFork = ctx.state.fork();
    const payer = mustLoad(refundFork, tx.feeSource);
    Accounts.setBalance(payer, Accounts.balance(payer) + refund);
    Accounts.store(refundFork, payer, seq);
    postFeeProcessing = Meta.changes(refundFork, ctx.state, seq);
    refundFork.commit();
  }

  const opResults = runs.map((r) => r.result);
  const code = successful ? "txSuccess" : "txFailed";
  const result = invalid
    ? Results.rejection(feeCharged, invalid, tx.inner.hash)
    : tx.feeBump
      ? Results.feeBump(feeCharged, tx.inner.hash, { code, opResults })
      : Results.plain(feeCharged, { code, opResults });
  const contractEvents = runs.map((r) => (successful ? [...r.events] : []));
  const diagnosticEvents = runs.flatMap((r) => [...r.diagnosticEvents]);
  const transactionEvents = [ClassicEvents.fee(tx.feeSource, upfrontFee, ctx.ledger.networkPassphrase, "before")];
  if (refund > 0n) transactionEvents.push(ClassicEvents.fee(tx.feeSource, -refund, ctx.ledger.networkPassphrase, "after"));
  const returnValue = successful ? runs[0]?.returnValue : undefined;
  const resourceCharged = maxBig(0n, feeCharged - inclusionFeeCharged);

  const meta = new xdr.TransactionMeta(
    4,
    new xdr.TransactionMetaV4({
      ext: new xdr.ExtensionPoint(0),
      txChangesBefore,
      operations: successful
        ? runs.map(
            (r, i) => new xdr.OperationMetaV2({ ext: new xdr.ExtensionPoint(0), changes: opChanges[i] ?? [], events: [...r.events] }),
          )
        : [],
      txChangesAfter: [],
      sorobanMeta: tx.isSoroban
        ? new xdr.SorobanTransactionMetaV2({
            // The fees charged, as stellar-core reports them and stellar-rpc's fee stats read them.
            ext: new xdr.SorobanTransactionMetaExt(
              1,
              new xdr.SorobanTransactionMetaExtV1({
                ext: new xdr.ExtensionPoint(0),
                totalNonRefundableResourceFeeCharged: int64(resourceCharged - minBig(refundableCharged, resourceCharged)),
                totalRefundableResourceFeeCharged: int64(minBig(refundableCharged, resourceCharged)),
                rentFeeCharged: int64(successful ? (used?.rent ?? 0n) : 0n),
              }),
            ),
            returnValue: returnValue ?? null,
          })
        : null,
      events: transactionEvents,
      diagnosticEvents,
    }),
  );
  return { tx, result, meta, feeProcessing, postFeeProcessing, feeCharged, inclusionFeeCharged, successful, contractEvents, transactionEvents, diagnosticEvents };
}

/**
 * Whether a transaction invalid at apply still consumes its sequence number: stellar-core
 * processes it when validation got past the sequence check (kInvalidUpdateSeqNum and later). A
 * fee bump refused for its outer envelope never gets to its inner transaction.
 */
function consumesSequence(tx: ParsedTx, invalid: OuterFailure): boolean {
  if (tx.feeBump && invalid.kind === "outer") return false;
  return invalid.failure.code === "txFailed" || AFTER_SEQUENCE_CHECK.has(invalid.failure.code);
}

const AFTER_SEQUENCE_CHECK: ReadonlySet<string> = new Set(["txBadAuth", "txBadAuthExtra", "txInsufficientBalance"]);

function runOperation(op: xdr.Operation, tx: ParsedTx, state: LedgerState, ctx: ApplyContext, maxRefundable: bigint): OpRun {
  const opType = Envelopes.operationType(op);
  const opSource = Envelopes.opSource(op, tx.inner.source);
  if (!Envelopes.isSorobanOp(op)) {
    const outcome = ClassicOps.apply(op, {
      state,
      opSource,
      ledgerSeq: ctx.ledger.sequence,
      baseReserve: ctx.baseReserve,
      networkPassphrase: ctx.ledger.networkPassphrase,
    });
    return { ...outcome, diagnosticEvents: [] };
  }
  if (!ctx.soroban) return { result: OpResults.notSupported(), events: [], diagnosticEvents: [] };
  const drift = opType === "invokeHostFunction" ? ctx.takeDrift?.() : undefined;
  let out;
  try {
    out = ctx.soroban({
      state,
      ledger: ctx.ledger,
      txSource: tx.inner.source,
      opSource,
      operation: op,
      mode: "enforcing",
      ...(tx.inner.sorobanData
        ? { declared: tx.inner.sorobanData, txFootprint: tx.inner.sorobanData.resources().footprint() }
        : {}),
      ...(drift ? { drift } : {}),
    });
  } catch (err) {
    // A host bug must not take the ledger down: the op traps, as a host panic would.
    ctx.logger.error({ err: (err as Error).message, tx: tx.hash }, "soroban host threw");
    return { result: trapped(opType), events: [], diagnosticEvents: [] };
  }
  if (!out.ok) return { result: out.code, events: [], diagnosticEvents: out.diagnosticEvents };
  // What the op consumed must fit what its transaction may pay: the refundable part of the
  // declared fee (network rules), or the whole declared fee (relaxed).
  const refundable = out.resourceFee?.refundable ?? 0n;
  if (ctx.networkResourceFees ? refundable > maxRefundable : out.minResourceFee > tx.inner.resourceFee) {
    return { result: OpResults.insufficientRefundableFee(opType), events: [], diagnosticEvents: out.diagnosticEvents };
  }
  const returnValue = out.returnValue ?? xdr.ScVal.scvVoid();
  const result =
    opType === "invokeHostFunction"
      ? OpResults.invokeSuccess(sha256(new xdr.InvokeHostFunctionSuccessPreImage({ returnValue, events: out.events }).toXDR()))
      : opType === "extendFootprintTtl"
        ? OpResults.extendSuccess()
        : OpResults.restoreSuccess();
  return {
    result,
    events: out.events,
    diagnosticEvents: out.diagnosticEvents,
    minResourceFee: out.minResourceFee,
    refundable,
    rent: out.resourceFee?.rent ?? 0n,
    ...(opType === "invokeHostFunction" ? { returnValue } : {}),
  };
}

function trapped(opType: string): xdr.OperationResult {
  const Tr = xdr.OperationResultTr;
  if (opType === "invokeHostFunction") {
    return xdr.OperationResult.opInner(Tr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionTrapped()));
  }
  if (opType === "extendFootprintTtl") {
    return xdr.OperationResult.opInner(Tr.extendFootprintTtl(xdr.ExtendFootprintTtlResult.extendFootprintTtlMalformed()));
  }
  return xdr.OperationResult.opInner(Tr.restoreFootprint(xdr.RestoreFootprintResult.restoreFootprintMalformed()));
}

function mustLoad(state: LedgerState, accountId: string): xdr.AccountEntry {
  const account = Accounts.load(state, accountId);
  // Validation ran just before applying, so a missing account here is a devnet bug.
  if (!account) throw new Error(`account ${accountId} vanished between validation and apply`);
  return account;
}

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
