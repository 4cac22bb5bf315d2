/**
 * @quay/mpp: the Stellar payment method for mppx (server and client; `charge` and `channel`),
 * wire-compatible with stellar/stellar-mpp-sdk, plus the pure checks Quay's relayer shares.
 */
export {
  ALL_ZEROS,
  COMMITMENT_DOMAIN,
  DEFAULT_DECIMALS,
  DEFAULT_LEDGER_CLOSE_SECONDS,
  DEFAULT_MAX_FEE_BUMP_STROOPS,
  DEFAULT_MAX_XDR_LENGTH,
  DEFAULT_RPC_URL,
  METHOD_NAME,
  NETWORK_PASSPHRASE,
  Network,
  STELLAR_PUBNET,
  STELLAR_TESTNET,
  USDC_SAC_MAINNET,
  USDC_SAC_TESTNET,
  XLM_SAC_MAINNET,
  XLM_SAC_TESTNET,
  type NetworkId,
} from "./constants.js";
export { Units, AmountError } from "./units.js";
export { MPP_ERROR_CODES, MppErrors, QuayMppError, StellarMppConfigError, StellarMppError, isMppErrorCode, type MppErrorCode } from "./errors.js";
export { ChannelInstance, getChannelState, type ChannelInstanceFields, type ChannelState, type GetChannelStateParameters } from "./channel-state.js";
export {
  ChannelPayloadSchema,
  ChannelRequestSchema,
  ChargePayloadSchema,
  ChargeRequestSchema,
  Methods,
  type ChannelCredential,
  type ChannelPayload,
  type ChannelRequest,
  type ChargeCredential,
  type ChargePayload,
  type ChargeRequest,
} from "./methods.js";
export { Did, DidError, type StellarDid } from "./did.js";
export { Commitment, CommitmentError, COMMITMENT_BYTES_LENGTH, type CommitmentInput, type CommitmentKey } from "./commitment.js";
export {
  ChargeCheck,
  type ChargeRejectReason,
  type CheckFailure,
  type CheckResult,
  type CheckedTransfer,
  type ExpectedTransfer,
  type SignedHashInput,
  type SimulationInput,
  type StructureInput,
} from "./charge-check.js";
export { Receipt, type StellarReceipt } from "./receipt.js";
export { StoreKeys } from "./store-keys.js";
export { Rpc, type PollOptions } from "./rpc.js";
export {
  RelayerClient,
  RelayWire,
  type RelayChannelState,
  type RelayConfig,
  type RelayCredentialBody,
  type RelayVoucherInput,
} from "./relay-client.js";
export { Stellar } from "./stellar.js";
export type { ChargeServerParameters, LocalChargeParameters, RelayChargeParameters } from "./server/charge.js";
export type { ChannelServerParameters, LocalChannelParameters, RelayChannelParameters } from "./server/channel.js";
export type { ChargeClientParameters } from "./client/charge.js";
export type { ChannelClientParameters } from "./client/channel.js";
export { CHANNEL_EVENT_NAMES, ChannelEvents, watchChannel, type ChannelEvent, type ChannelEventName, type ParsedChannelEvent, type WatchChannelParameters } from "./channel-events.js";
export { Quay, type QuayFeePayer } from "./quay.js";
export { CloseAuth } from "./close-auth.js";
