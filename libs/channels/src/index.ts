/**
 * @quay/channels: Quay's MPP settlement relayer. Sponsored charges (validate, broadcast) settled
 * by the x402 engine, one-way channels (register, vouchers, closes), and the worker's jobs that
 * close channels, keep their ledger entries alive and follow their events.
 */
export { ChannelError, ChannelsError, ChargeRefusal } from "./errors";
export { Charges, ChargeBodySchema, MalformedChargeBody, type ChargeBody, type ChargeDeps, type ChargeNetwork, type Caller, type ValidatedCharge } from "./charge";
export {
  Channels,
  CloseRequestSchema,
  PolicySchema,
  RegisterSchema,
  VoucherRefusal,
  VoucherSchema,
  type ChannelView,
  type CloseOutcome,
  type ChannelsDeps,
} from "./channels";
export { Closes, Closer, type Channel, type Close, type CloseQueue, type CloseTrigger, type CloserDeps } from "./closes";
export { ChannelLedger, type ChannelEntry, type ChannelOnChain } from "./ledger";
export { VoucherSignature } from "./voucher-signature";
export { TtlSweep, ttlBumpSettled, type SweepDeps, type SweepReport } from "./ttl";
export { EventWatcher, CHANNEL_EVENT_NAMES, type ChannelEventName, type ParsedChannelEvent, type WatcherDeps } from "./events";
