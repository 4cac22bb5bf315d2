export { PREFIX, createMetrics, type Metrics, type StateReader } from "./metrics";
export { MetricsEndpoint, type MetricsAnswer } from "./endpoint";
export { SystemState, type SystemStateDeps, type StateSources, type StateNetwork, type CountedQueue, type LedgerState, type PoolCounts, type Balances } from "./system";
export { Readiness, type ReadinessReport, type ReadinessComponent, type ReadinessDeps } from "./readiness";
