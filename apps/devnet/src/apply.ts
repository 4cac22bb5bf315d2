import { xdr } from "@stellar/stellar-sdk";
import { Accounts } from "./accounts";
import { Envelopes } from "./envelope";
import type { ParsedTx } from "./envelope";
import { ClassicEvents } from "./events";
import type { DevnetLogger } from "./logger";
import { Meta } from "./meta";
import { ClassicOps } from "./ops/classic";
import { OpResults, Results } from "./results";
import { sha256 } from "./sha256";
import type { ExecuteSorobanOp, LedgerInfo } from "./soroban/host";
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
}

/**
 * Applies one valid transaction as the network does: the fee source pays the fee and the source's
 * sequence number is consumed whatever happens next; the operations run on a fork that is
 * committed only if every one of them succeeds.
 */
export function applyTransaction(tx: ParsedTx, ctx: ApplyContext): AppliedTx {
  const seq = ctx.ledger.sequence;
  const inclusionFeeCharged = minBig(tx.inclusionBid, ctx.baseFee * BigInt(tx.feeOps));
  const upfrontFee = tx.inner.resourceFee + inclusionFeeCharged;

  const feeFork = ctx.state.fork();
  const feeSource = mustLoad(feeFork, tx.feeSource);
  Accounts.setBalance(feeSource, Accounts.balance(feeSource) - upfrontFee);
  Accounts.store(feeFork, feeSource, seq);
  const feeProcessing = Meta.changes(feeFork, ctx.state, seq);
  feeFork.commit();

  const seqFork = ctx.state.fork();
  const source = mustLoad(seqFork, tx.inner.source);
  Accounts.setSeqNum(source, tx.inner.seqNum);
  Accounts.store(seqFork, source, seq);
  const txChangesBefore = Meta.changes(seqFork, ctx.state, seq);
  seqFork.commit();

  const txFork = ctx.state.fork();
  const runs: OpRun[] = [];
  const opChanges: xdr.LedgerEntryChange[][] = [];
  let successful = true;
  for (const op of tx.inner.operations) {
    const opFork = txFork.fork();
    const run = runOperation(op, tx, opFork, ctx);
    runs.push(run);
    opChanges.push(Meta.changes(opFork, txFork, seq));
    if (OpResults.isSuccess(run.result)) opFork.commit();
    else successful = false;
  }
  if (successful) txFork.commit();

  // The network refunds the declared resource fee a successful Soroban op did not need (unused
  // rent and event budget); a failed one keeps the whole declared fee here.
  const needed = runs[0]?.minResourceFee;
  const refund = successful && tx.isSoroban && needed !== undefined && needed < tx.inner.resourceFee ? tx.inner.resourceFee - needed : 0n;
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
  const result = tx.feeBump
    ? Results.feeBump(feeCharged, tx.inner.hash, { code, opResults })
    : Results.plain(feeCharged, { code, opResults });
  const contractEvents = runs.map((r) => (successful ? [...r.events] : []));
  const diagnosticEvents = runs.flatMap((r) => [...r.diagnosticEvents]);
  const transactionEvents = [ClassicEvents.fee(tx.feeSource, upfrontFee, ctx.ledger.networkPassphrase, "before")];
  if (refund > 0n) transactionEvents.push(ClassicEvents.fee(tx.feeSource, -refund, ctx.ledger.networkPassphrase, "after"));
  const returnValue = successful ? runs[0]?.returnValue : undefined;

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
        ? new xdr.SorobanTransactionMetaV2({ ext: new xdr.SorobanTransactionMetaExt(0), returnValue: returnValue ?? null })
        : null,
      events: transactionEvents,
      diagnosticEvents,
    }),
  );
  return { tx, result, meta, feeProcessing, postFeeProcessing, feeCharged, inclusionFeeCharged, successful, contractEvents, transactionEvents, diagnosticEvents };
}

function runOperation(op: xdr.Operation, tx: ParsedTx, state: LedgerState, ctx: ApplyContext): OpRun {
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
    });
  } catch (err) {
    // A host bug must not take the ledger down: the op traps, as a host panic would.
    ctx.logger.error({ err: (err as Error).message, tx: tx.hash }, "soroban host threw");
    return { result: trapped(opType), events: [], diagnosticEvents: [] };
  }
  if (!out.ok) return { result: out.code, events: [], diagnosticEvents: out.diagnosticEvents };
  if (out.minResourceFee > tx.inner.resourceFee) {
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
