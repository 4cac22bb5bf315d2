import { xdr } from "@stellar/stellar-sdk";

/**
 * A failure inside contract execution, shaped as the real host's `Error(Type, Code)` so simulation
 * errors read like the network's ("HostError: Error(Auth, InvalidAction)").
 * Contract errors carry the contract's own u32 code ("Error(Contract, #3)").
 */
export type HostErrorType =
  | "Contract"
  | "WasmVm"
  | "Context"
  | "Storage"
  | "Object"
  | "Crypto"
  | "Events"
  | "Budget"
  | "Value"
  | "Auth";

export type HostErrorCode =
  | "ArithDomain"
  | "IndexBounds"
  | "InvalidInput"
  | "MissingValue"
  | "ExistingValue"
  | "ExceededLimit"
  | "InvalidAction"
  | "InternalError"
  | "UnexpectedType"
  | "UnexpectedSize";

/** Why the op failed, which decides the OperationResult code the network reports. */
export type FailureKind = "trapped" | "resourceLimitExceeded" | "entryArchived" | "insufficientRefundableFee";

export class HostError extends Error {
  readonly kind: FailureKind;

  private constructor(
    readonly type: HostErrorType,
    readonly code: HostErrorCode | number,
    readonly detail: string,
    kind: FailureKind,
  ) {
    super(`Error(${type}, ${typeof code === "number" ? `#${code}` : code}): ${detail}`);
    this.name = "HostError";
    this.kind = kind;
  }

  static host(type: Exclude<HostErrorType, "Contract">, code: HostErrorCode, detail: string): HostError {
    return new HostError(type, code, detail, "trapped");
  }

  /** A `#[contracterror]` value returned or panicked with by a contract. */
  static contract(code: number, detail: string): HostError {
    return new HostError("Contract", code, detail, "trapped");
  }

  static resourceLimit(detail: string): HostError {
    return new HostError("Budget", "ExceededLimit", detail, "resourceLimitExceeded");
  }

  static archived(detail: string): HostError {
    return new HostError("Storage", "ExceededLimit", detail, "entryArchived");
  }

  static refundableFee(detail: string): HostError {
    return new HostError("Budget", "ExceededLimit", detail, "insufficientRefundableFee");
  }

  /**
   * soroban-env-host's HostError::is_recoverable: everything but internal host errors and running
   * out of budget or footprint (Storage/Budget ExceededLimit).
   */
  get recoverable(): boolean {
    if (this.type !== "Contract" && this.code === "InternalError") return false;
    return !(this.code === "ExceededLimit" && (this.type === "Storage" || this.type === "Budget"));
  }

  /** `Error(Type, Code)` as the RPC prints it, without the detail. */
  get shortName(): string {
    return `Error(${this.type}, ${typeof this.code === "number" ? `#${this.code}` : this.code})`;
  }

  toScError(): xdr.ScError {
    if (typeof this.code === "number") return xdr.ScError.sceContract(this.code);
    const code = xdr.ScErrorCode[`scec${this.code}` as const]();
    switch (this.type) {
      case "WasmVm":
        return xdr.ScError.sceWasmVm(code);
      case "Context":
        return xdr.ScError.sceContext(code);
      case "Storage":
        return xdr.ScError.sceStorage(code);
      case "Object":
        return xdr.ScError.sceObject(code);
      case "Crypto":
        return xdr.ScError.sceCrypto(code);
      case "Events":
        return xdr.ScError.sceEvents(code);
      case "Budget":
        return xdr.ScError.sceBudget(code);
      case "Value":
        return xdr.ScError.sceValue(code);
      case "Auth":
        return xdr.ScError.sceAuth(code);
      case "Contract":
        throw new Error("unreachable: contract errors carry numeric codes");
    }
  }
}
