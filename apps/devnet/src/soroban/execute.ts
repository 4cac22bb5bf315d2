import { xdr } from "@stellar/stellar-sdk";
import { StrKeys } from "../strkeys";
import { AuthManager } from "./auth";
import { resolveContract } from "./contracts/registry";
import { createContract, uploadWasm } from "./deploy";
import { HostError } from "./errors";
import { Fees, type ResourceFee } from "./fees";
import type { ExecuteSorobanOp, ResourceDrift, SorobanOpInput, SorobanOpResult } from "./host";
import { Keys } from "./keys";
import { HostRuntime } from "./runtime";
import { keyId } from "../state";
import { DeclaredFootprint, HostStorage, type StorageUsage } from "./storage";

type Failure = Extract<SorobanOpResult, { ok: false }>;
type OpKind = "invoke" | "extend" | "restore";

export const executeSorobanOp: ExecuteSorobanOp = (input) => {
  const body = input.operation.body();
  switch (body.switch()) {
    case xdr.OperationType.invokeHostFunction():
      return invokeHostFunction(input, body.invokeHostFunctionOp());
    case xdr.OperationType.extendFootprintTtl():
      return extendFootprintTtl(input, body.extendFootprintTtlOp());
    case xdr.OperationType.restoreFootprint():
      return restoreFootprint(input);
    default:
      return {
        ok: false,
        code: xdr.OperationResult.opNotSupported(),
        error: `not a Soroban operation: ${body.switch().name}`,
        diagnosticEvents: [],
      };
  }
};

function invokeHostFunction(input: SorobanOpInput, op: xdr.InvokeHostFunctionOp): SorobanOpResult {
  const declared = input.declared;
  const storage = new HostStorage(input.state, input.ledger, declared ? DeclaredFootprint.of(declared.resources().footprint()) : undefined);
  if (declared) {
    // The network loads the whole footprint before running (protocol 23): an archived entry the
    // footprint marks for restore (read-write, listed in archivedSorobanEntries) comes back with
    // the minimum TTL, its rent charged; any other archived entry fails the op.
    const fp = declared.resources().footprint();
    const marked = new Set(Footprints.archivedIndexes(declared).map((i) => fp.readWrite()[i]).filter((k) => k !== undefined).map(keyId));
    for (const key of [...fp.readOnly(), ...fp.readWrite()]) {
      if (!Keys.isPersistent(key) || !storage.isArchived(key)) continue;
      if (!marked.has(keyId(key))) return failure("invoke", HostError.archived(`the footprint holds an archived ${key.switch().name} entry not marked for restore`));
      storage.restore(key);
    }
  }
  let auth: AuthManager;
  let rt: HostRuntime;
  let returnValue: xdr.ScVal;
  try {
    // Taking the auth entries can already fail (a malformed delegate tree), before any contract runs.
    auth = new AuthManager(input.mode, op.auth(), input.opSource, input.ledger, storage, input.recordAuthV2 ?? false);
    rt = new HostRuntime(input.ledger, storage, auth, resolveContract);
    returnValue = runHostFunction(rt, op.hostFunction());
  } catch (error) {
    return failure("invoke", asHostError(error));
  }

  const usage = storage.usage();
  // The network's events budget counts the return value too (stellar-core InvokeHostFunctionOpFrame).
  const eventBytes = rt.events.reduce((sum, e) => sum + e.toXDR().length, 0) + returnValue.toXDR().length;
  const fee = Fees.of({ ...usage, instructions: rt.instructions, eventBytes });
  const computed = transactionData(usage.footprint, rt.instructions, usage, fee, usage.restoredIndexes);
  const shortfall = declared && checkDeclared(declared, computed, fee);
  if (shortfall) return failure("invoke", shortfall);
  if (input.drift) return failure("invoke", drifted(input.drift, declared));
  return {
    ok: true,
    returnValue,
    auth: auth.entries(),
    events: rt.events,
    diagnosticEvents: rt.events.map((event) => new xdr.DiagnosticEvent({ inSuccessfulContractCall: true, event })),
    transactionData: declared ?? computed,
    minResourceFee: fee.total,
    resourceFee: { nonRefundable: fee.nonRefundable, refundable: fee.refundable, rent: usage.rent },
  };
}

/** The failure an invocation meets when the ledger moved under it after simulation (see SorobanOpInput.drift). */
function drifted(drift: ResourceDrift, declared: xdr.SorobanTransactionData | undefined): HostError {
  if (drift === "entryArchived") return HostError.archived("trying to access an archived contract entry (archived since simulation)");
  const limit = declared?.resources().instructions() ?? 0;
  return HostError.resourceLimit(`the invocation needed more than the declared ${limit} instructions (the state changed since simulation)`);
}

export namespace Footprints {
  /** The read-write indexes a transaction marks for automatic restore (none without ext v1). */
  export function archivedIndexes(data: xdr.SorobanTransactionData): readonly number[] {
    return data.ext().switch() === 1 ? data.ext().resourceExt().archivedSorobanEntries() : [];
  }
}

function runHostFunction(rt: HostRuntime, fn: xdr.HostFunction): xdr.ScVal {
  switch (fn.switch()) {
    case xdr.HostFunctionType.hostFunctionTypeInvokeContract(): {
      const call = fn.invokeContract();
      const contract = StrKeys.fromScAddress(call.contractAddress());
      return rt.callContract(contract, call.functionName().toString(), call.args());
    }
    case xdr.HostFunctionType.hostFunctionTypeCreateContract(): {
      const args = fn.createContract();
      return createContract(rt, {
        preimage: args.contractIdPreimage(),
        executable: args.executable(),
        constructorArgs: [],
        authorizedFunction: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeCreateContractHostFn(args),
      });
    }
    case xdr.HostFunctionType.hostFunctionTypeCreateContractV2(): {
      const args = fn.createContractV2();
      return createContract(rt, {
        preimage: args.contractIdPreimage(),
        executable: args.executable(),
        constructorArgs: args.constructorArgs(),
        authorizedFunction: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeCreateContractV2HostFn(args),
      });
    }
    case xdr.HostFunctionType.hostFunctionTypeUploadContractWasm():
      rt.calls++;
      return uploadWasm(rt, Buffer.from(fn.wasm()));
    default:
      throw HostError.host("Value", "InvalidInput", `unsupported host function ${fn.switch().name}`);
  }
}

/** extendFootprintTtl: every live entry of the read-only footprint lives at least `extendTo` more ledgers. */
function extendFootprintTtl(input: SorobanOpInput, op: xdr.ExtendFootprintTtlOp): SorobanOpResult {
  const footprint = input.declared?.resources().footprint() ?? input.txFootprint;
  const { ledger } = input;
  if (!footprint) return malformed("extend", "extendFootprintTtl needs the transaction's footprint");
  if (footprint.readWrite().length > 0 || !footprint.readOnly().every(Keys.isSoroban)) {
    return malformed("extend", "extendFootprintTtl takes only contract data/code keys, all read-only");
  }
  if (op.extendTo() > ledger.maxEntryTtl - 1) return malformed("extend", `extendTo exceeds the maximum of ${ledger.maxEntryTtl - 1}`);
  const storage = new HostStorage(input.state, ledger, input.declared ? DeclaredFootprint.of(footprint) : undefined);
  const target = ledger.sequence + op.extendTo();
  for (const key of footprint.readOnly()) {
    if (storage.isArchived(key)) continue; // archived entries must be restored, not extended
    storage.extendTtl(key, target);
  }
  return ttlOpResult("extend", input, storage, footprint);
}

/** restoreFootprint: every archived persistent entry of the read-write footprint comes back with the minimum TTL. */
function restoreFootprint(input: SorobanOpInput): SorobanOpResult {
  const footprint = input.declared?.resources().footprint() ?? input.txFootprint;
  if (!footprint) return malformed("restore", "restoreFootprint needs the transaction's footprint");
  if (footprint.readOnly().length > 0 || !footprint.readWrite().every(Keys.isPersistent)) {
    return malformed("restore", "restoreFootprint takes only persistent contract data/code keys, all read-write");
  }
  const storage = new HostStorage(input.state, input.ledger, input.declared ? DeclaredFootprint.of(footprint) : undefined);
  for (const key of footprint.readWrite()) storage.restore(key);
  return ttlOpResult("restore", input, storage, footprint);
}

function ttlOpResult(kind: OpKind, input: SorobanOpInput, storage: HostStorage, footprint: xdr.LedgerFootprint): SorobanOpResult {
  const usage = storage.usage();
  const fee = Fees.of({ ...usage, instructions: 0, eventBytes: 0 });
  const computed = transactionData(footprint, 0, usage, fee);
  const shortfall = input.declared && checkDeclared(input.declared, computed, fee);
  if (shortfall) return failure(kind, shortfall);
  return {
    ok: true,
    auth: [],
    events: [],
    diagnosticEvents: [],
    transactionData: input.declared ?? computed,
    minResourceFee: fee.total,
    resourceFee: { nonRefundable: fee.nonRefundable, refundable: fee.refundable, rent: usage.rent },
  };
}

/**
 * The transaction data simulation returns. Entries restored automatically are marked by their
 * index in the read-write footprint (SorobanTransactionDataExt v1, archivedSorobanEntries), as
 * soroban-simulation marks them; without any the extension stays v0.
 */
function transactionData(
  footprint: xdr.LedgerFootprint,
  instructions: number,
  usage: StorageUsage,
  fee: ResourceFee,
  restoredIndexes: readonly number[] = [],
): xdr.SorobanTransactionData {
  return new xdr.SorobanTransactionData({
    ext:
      restoredIndexes.length > 0
        ? new xdr.SorobanTransactionDataExt(1, new xdr.SorobanResourcesExtV0({ archivedSorobanEntries: [...restoredIndexes] }))
        : new xdr.SorobanTransactionDataExt(0),
    resources: new xdr.SorobanResources({ footprint, instructions, diskReadBytes: usage.diskReadBytes, writeBytes: usage.writeBytes }),
    resourceFee: xdr.Int64.fromString(fee.total.toString()),
  });
}

/** What the network checks after running: the declared limits and fee must cover what was used. */
function checkDeclared(declared: xdr.SorobanTransactionData, used: xdr.SorobanTransactionData, fee: ResourceFee): HostError | undefined {
  const d = declared.resources();
  const u = used.resources();
  if (u.instructions() > d.instructions()) return HostError.resourceLimit(`instructions ${u.instructions()} exceed the declared ${d.instructions()}`);
  if (u.diskReadBytes() > d.diskReadBytes()) return HostError.resourceLimit(`disk read bytes ${u.diskReadBytes()} exceed the declared ${d.diskReadBytes()}`);
  if (u.writeBytes() > d.writeBytes()) return HostError.resourceLimit(`write bytes ${u.writeBytes()} exceed the declared ${d.writeBytes()}`);
  const declaredFee = declared.resourceFee().toBigInt();
  if (declaredFee < fee.nonRefundable) return HostError.resourceLimit(`resource fee ${declaredFee} is below the non-refundable ${fee.nonRefundable}`);
  if (declaredFee < fee.total) return HostError.refundableFee(`resource fee ${declaredFee} leaves too little for rent and events (needs ${fee.total})`);
  return undefined;
}

function asHostError(error: unknown): HostError {
  if (error instanceof HostError) return error;
  // Malformed XDR inside arguments and similar surface as a trap, never as a crash of the devnet.
  const message = error instanceof Error ? error.message : String(error);
  return HostError.host("Value", "InvalidInput", message);
}

function malformed(kind: OpKind, reason: string): Failure {
  const code =
    kind === "invoke"
      ? xdr.OperationResultTr.invokeHostFunction(xdr.InvokeHostFunctionResult.invokeHostFunctionMalformed())
      : kind === "extend"
        ? xdr.OperationResultTr.extendFootprintTtl(xdr.ExtendFootprintTtlResult.extendFootprintTtlMalformed())
        : xdr.OperationResultTr.restoreFootprint(xdr.RestoreFootprintResult.restoreFootprintMalformed());
  return { ok: false, code: xdr.OperationResult.opInner(code), error: reason, diagnosticEvents: [] };
}

function failure(kind: OpKind, error: HostError): Failure {
  return {
    ok: false,
    code: xdr.OperationResult.opInner(resultCode(kind, error)),
    error: `HostError: ${error.shortName}\n\n${error.detail}`,
    diagnosticEvents: [errorEvent(error)],
  };
}

function resultCode(kind: OpKind, error: HostError): xdr.OperationResultTr {
  if (kind === "invoke") {
    const R = xdr.InvokeHostFunctionResult;
    const code =
      error.kind === "entryArchived"
        ? R.invokeHostFunctionEntryArchived()
        : error.kind === "resourceLimitExceeded"
          ? R.invokeHostFunctionResourceLimitExceeded()
          : error.kind === "insufficientRefundableFee"
            ? R.invokeHostFunctionInsufficientRefundableFee()
            : R.invokeHostFunctionTrapped();
    return xdr.OperationResultTr.invokeHostFunction(code);
  }
  if (kind === "extend") {
    const R = xdr.ExtendFootprintTtlResult;
    return xdr.OperationResultTr.extendFootprintTtl(
      error.kind === "insufficientRefundableFee" ? R.extendFootprintTtlInsufficientRefundableFee() : R.extendFootprintTtlResourceLimitExceeded(),
    );
  }
  const R = xdr.RestoreFootprintResult;
  return xdr.OperationResultTr.restoreFootprint(
    error.kind === "insufficientRefundableFee" ? R.restoreFootprintInsufficientRefundableFee() : R.restoreFootprintResourceLimitExceeded(),
  );
}

/** The diagnostic event the host emits when it fails: topics [error, Error(..)], data the reason. */
function errorEvent(error: HostError): xdr.DiagnosticEvent {
  return new xdr.DiagnosticEvent({
    inSuccessfulContractCall: false,
    event: new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      contractId: null,
      type: xdr.ContractEventType.diagnostic(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({
        topics: [xdr.ScVal.scvSymbol("error"), xdr.ScVal.scvError(error.toScError())],
        data: xdr.ScVal.scvString(error.detail),
      })),
    }),
  });
}
