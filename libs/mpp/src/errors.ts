import { Errors } from "mppx";

/**
 * Failure codes: mppx's relay vocabulary (what `mppx` maps a relayer's `error.code` from), so one
 * code travels unchanged from a check in this library, through Quay's relayer API, to the 402 an
 * MPP server answers.
 */
export const MPP_ERROR_CODES = [
  "already_used",
  "broadcast_failed",
  "expired",
  "invalid_payment",
  "insufficient_funds",
  "policy_denied",
  "simulation_failed",
  "temporarily_unavailable",
  "unsupported",
  "unknown",
] as const;
export type MppErrorCode = (typeof MPP_ERROR_CODES)[number];

export function isMppErrorCode(value: unknown): value is MppErrorCode {
  return typeof value === "string" && (MPP_ERROR_CODES as readonly string[]).includes(value);
}

/** The one base class of every error this library throws on purpose. */
export class QuayMppError extends Error {
  override readonly name: string = "QuayMppError";
}

/**
 * A refused payment: `code` is the coarse mppx code, `reason` the precise check that failed
 * (e.g. "wrong_amount"), `message` safe to show (never a key, seed or signature).
 */
export class StellarMppError extends QuayMppError {
  override readonly name = "StellarMppError";
  constructor(
    readonly code: MppErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Bad configuration of a server or client method (a programming error, raised at construction). */
export class StellarMppConfigError extends QuayMppError {
  override readonly name = "StellarMppConfigError";
}

export const MppErrors = {
  /** The mppx PaymentError a server hook throws for a refusal, so the 402 carries `details: {code, reason}`. */
  toPaymentError(error: { code: MppErrorCode; reason?: string; message: string }): Errors.PaymentError {
    if (error.code === "expired") return new Errors.PaymentExpiredError({});
    const details: Record<string, unknown> = { code: error.code };
    if (error.reason !== undefined) details.reason = error.reason;
    if (error.code === "temporarily_unavailable") details.retry = "same_credential";
    return new Errors.VerificationFailedError({ reason: error.message, details });
  },
  /** Any error thrown while verifying, as the PaymentError mppx expects (unknown errors stay opaque). */
  fromUnknown(error: unknown): Errors.PaymentError {
    if (error instanceof Errors.PaymentError) return error;
    if (error instanceof StellarMppError) return MppErrors.toPaymentError(error);
    return new Errors.VerificationFailedError({ reason: "payment could not be verified", details: { code: "unknown" } });
  },
} as const;
