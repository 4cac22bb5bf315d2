export * from "./network";
export { Tx, resultCodes, type RebuildInput } from "./tx";
export { submitAndWait, SubmissionError } from "./submit";
export { Signer } from "./signer";
export { Envelopes, FeeBumpBidError, type SignedInner, type SignedFeeBump } from "./envelopes";
export { AuthEntry, type CredentialsKind } from "./auth-entry";
export { strKeyOf, strKeyOfScVal, baseAccountOf, isOneOf } from "./addresses";
export {
  TransferCheck,
  type ExpectedEvents,
  type ExpectedTransfer,
  type TransferCall,
  type TransferCheckFailure,
  type TransferCheckInput,
  type TransferCheckResult,
  type TransferRefusal,
} from "./transfer-check";
export { ResultCodes, type Verdict } from "./result-codes";
export { Fees, MIN_INCLUSION_FEE, DEFAULT_RESOURCE_PAD_PERCENT } from "./fees";
