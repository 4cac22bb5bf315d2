import { InvalidReason } from "./reasons";
import { Verify } from "./verify";
import { identify } from "./identify";

export { InvalidReason, ALL_INVALID_REASONS } from "./reasons";
export { MIN_REMAINING_LEDGERS, EXPIRATION_TOLERANCE_LEDGERS } from "./auth";
export { SUPPORTED_X402_VERSION } from "./body";
export type { PaymentIdentity } from "./identify";
export type { NetworkVerifyContext, VerifierContext, VerifiedPayment, VerifyOutcome, VerifyResponseBody } from "./verify";

/** Quay's x402 facilitator logic for Stellar's `exact` scheme. */
export const X402 = {
  /** Verifies a raw `{paymentPayload, paymentRequirements}` body; never throws. */
  verify: Verify.verify,
  /** The wire body (x402 v2 VerifyResponse) for an outcome: no bigint, no XDR objects, no internal error. */
  toVerifyResponse: Verify.toVerifyResponse,
  /** The payment identity a settle body names, without verifying it. */
  identify,
  InvalidReason,
} as const;
