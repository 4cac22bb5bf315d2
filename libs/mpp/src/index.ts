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
  type NetworkId,
} from "./constants";
export { Units, AmountError } from "./units";
export { MPP_ERROR_CODES, MppErrors, StellarMppConfigError, StellarMppError, isMppErrorCode, type MppErrorCode } from "./errors";
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
} from "./methods";
export { Did, DidError, type StellarDid } from "./did";
export { Commitment, CommitmentError, COMMITMENT_BYTES_LENGTH, type CommitmentInput, type CommitmentKey } from "./commitment";
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
} from "./charge-check";
export { Receipt, type StellarReceipt } from "./receipt";
export { StoreKeys } from "./store-keys";
export { Rpc, type PollOptions } from "./rpc";
export {
  RelayerClient,
  RelayWire,
  type RelayChannelState,
  type RelayConfig,
  type RelayCredentialBody,
  type RelayVoucherInput,
} from "./relay-client";
export { Stellar } from "./stellar";
export type { ChargeServerParameters, LocalChargeParameters, RelayChargeParameters } from "./server/charge";
export type { ChannelServerParameters, LocalChannelParameters, RelayChannelParameters } from "./server/channel";
export type { ChargeClientParameters } from "./client/charge";
export type { ChannelClientParameters } from "./client/channel";
