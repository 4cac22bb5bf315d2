export { ChannelLeases, PoolExhaustedError, type LeasedAccount, type LeaseOptions } from "./lease";
export { PoolCensus, type PoolCounts } from "./census";
export { PoolAdmin, type PoolAdminDeps, type AccountStatus } from "./admin";
