/**
 * The OZ Channels API's error codes and the HTTP status each one answers with, as OZ's plugin
 * sends them (`shared/reference/oz-channels-api.md` §5): the x402 facilitator plugin reads the
 * status (it retries only a non-2xx POOL_CAPACITY), ChannelsClient users branch on the code.
 * CONTRACT_NOT_ALLOWED is Quay's own: OZ has no allow-list.
 */
export const CHANNELS_ERROR_STATUS = {
  INVALID_PARAMS: 400,
  INVALID_UNSIGNED_XDR: 400,
  INVALID_ENVELOPE_TYPE: 400,
  TIMEBOUNDS_EXPIRED: 400,
  TIMEBOUNDS_TOO_FAR: 400,
  FEE_MISMATCH: 400,
  AUTH_EXPIRY_TOO_SHORT: 400,
  SIMULATION_FAILED: 400,
  SIMULATION_SIGNED_AUTH_VALIDATION_FAILED: 400,
  ONCHAIN_FAILED: 400,
  UNSUPPORTED_NETWORK: 400,
  CONFIG_MISSING: 400,
  INVALID_ACTION: 400,
  INVALID_PAYLOAD: 400,
  UNAUTHORIZED: 401,
  MANAGEMENT_DISABLED: 403,
  CONTRACT_NOT_ALLOWED: 403,
  TRANSACTION_NOT_FOUND: 404,
  FEE_LIMIT_EXCEEDED: 429,
  SIMULATION_NETWORK_ERROR: 502,
  POOL_CAPACITY: 503,
  NO_CHANNELS_CONFIGURED: 503,
  WAIT_TIMEOUT: 504,
} as const;

export type ChannelsErrorCode = keyof typeof CHANNELS_ERROR_STATUS;

/** Every refusal of the Channels API: its code decides the status; `details` is what OZ puts in `data.details`. */
export class ChannelsApiError extends Error {
  override readonly name = "ChannelsApiError";
  readonly status: number;
  constructor(
    readonly code: ChannelsErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.status = CHANNELS_ERROR_STATUS[code];
  }
}
