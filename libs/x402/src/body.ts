import { PaymentPayloadV2Schema, PaymentRequirementsV2Schema } from "@x402/core/schemas";
import type { PaymentPayloadV2, PaymentRequirementsV2 } from "@x402/core/schemas";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";

/**
 * The edge of verify: an unknown request body becomes typed `paymentPayload` + `paymentRequirements`
 * (validated with @x402/core's own v2 schemas), or a Rejection. The version is looked at before the
 * schema so a v1 payload gets `invalid_x402_version`, as from the library, not a schema error.
 */

export const SUPPORTED_X402_VERSION = 2;

/** Base64 of the largest Soroban transaction the network accepts (132 KiB) has fewer characters than this. */
export const MAX_TRANSACTION_CHARS = 180_000;

const AMOUNT = /^[1-9][0-9]*$/;
/** i128's upper bound: an amount beyond it cannot be a token transfer. */
const MAX_AMOUNT = (1n << 127n) - 1n;

export interface VerifyRequest {
  readonly paymentPayload: PaymentPayloadV2;
  readonly paymentRequirements: PaymentRequirementsV2;
  /** `requirements.amount` in base units. */
  readonly amount: bigint;
}

export const RequestBody = {
  parse(body: unknown): VerifyRequest {
    if (!isRecord(body)) throw new Rejection(InvalidReason.invalidPayload, "the request body is not a JSON object");
    const { paymentPayload, paymentRequirements } = body;
    if (!isRecord(paymentPayload)) throw new Rejection(InvalidReason.invalidPayload, "paymentPayload is missing or not an object");
    if (paymentPayload.x402Version !== SUPPORTED_X402_VERSION) {
      throw new Rejection(InvalidReason.invalidX402Version, `x402Version must be ${SUPPORTED_X402_VERSION}`);
    }
    const payload = PaymentPayloadV2Schema.safeParse(paymentPayload);
    if (!payload.success) throw new Rejection(InvalidReason.invalidPayload, `paymentPayload: ${firstIssue(payload.error)}`);
    const requirements = PaymentRequirementsV2Schema.safeParse(paymentRequirements);
    if (!requirements.success) {
      throw new Rejection(InvalidReason.invalidPaymentRequirements, `paymentRequirements: ${firstIssue(requirements.error)}`);
    }
    if (!AMOUNT.test(requirements.data.amount) || BigInt(requirements.data.amount) > MAX_AMOUNT) {
      throw new Rejection(InvalidReason.invalidPaymentRequirements, "paymentRequirements.amount must be a positive whole number of base units");
    }
    return {
      paymentPayload: payload.data,
      paymentRequirements: requirements.data,
      amount: BigInt(requirements.data.amount),
    };
  },

  /** The base64 envelope from `payload.transaction`, or a Rejection (the library's `malformed`). */
  transactionXdr(payload: PaymentPayloadV2): string {
    const transaction = payload.payload.transaction;
    if (typeof transaction !== "string" || transaction.length === 0) {
      throw new Rejection(InvalidReason.malformed, "payload.transaction must be a base64 transaction envelope");
    }
    if (transaction.length > MAX_TRANSACTION_CHARS) {
      throw new Rejection(InvalidReason.malformed, "payload.transaction is larger than any valid transaction");
    }
    return transaction;
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function firstIssue(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const path = issue.path.map(String).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
