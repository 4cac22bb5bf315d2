export { SettlementEngine, SettleReasons, type EngineDeps, type EngineOptions, type SettlementNetwork } from "./engine";
export { Records, SUBMISSION_FINAL_CHANNEL, isFinal, type Submission, type Attempt, type NewAttempt, type FinalOutcome, type FeeBidSpread } from "./records";
export { FeeOracle, worstCaseFee, MAX_LANDINGS_PER_SUBMISSION } from "./fees";
export { Intake, OutcomeWaiter, settleBackoffMs, SETTLE_JOB_ATTEMPTS, type Acceptance, type AcceptOptions, type NewSubmission, type SettleQueue, type SubmissionKind, type SubmissionMode } from "./intake";
export { SettlementError, FeeBudgetExceeded, LinkRefused } from "./errors";
export { ReusableSimulation } from "./reuse";
