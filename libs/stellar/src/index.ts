export * from "./network";
export { Tx, resultCodes, type RebuildInput } from "./tx";
export { submitAndWait, SubmissionError } from "./submit";
export { Signer } from "./signer";
export { Submission, FeeBumpBidError, type SignedInner, type SignedFeeBump } from "./submission";
