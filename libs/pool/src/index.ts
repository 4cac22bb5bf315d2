export { ChannelLeases, PoolExhaustedError, type LeasedAccount, type LeaseOptions } from "./lease";
export { PoolAdmin, type PoolAdminDeps, type AccountStatus } from "./admin";
