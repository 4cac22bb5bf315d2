export { SettlementEngine, SettleReasons, type EngineDeps, type EngineOptions, type SettlementNetwork } from "./engine";
export { Records, PAYMENT_FINAL_CHANNEL, isFinal, type Payment, type Attempt, type NewAttempt, type FinalOutcome } from "./records";
export { FeeOracle, bidCeiling, MIN_INCLUSION_FEE } from "./fees";
export { Intake, OutcomeWaiter, settleBackoffMs, SETTLE_JOB_ATTEMPTS, type NewPayment, type SettleQueue } from "./intake";
export { ReusableSimulation } from "./reuse";
