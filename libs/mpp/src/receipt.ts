import { Receipt as MppxReceipt } from "mppx";
import { METHOD_NAME } from "./constants.js";

/** Receipts of the stellar method: `{method: "stellar", reference, status: "success", timestamp, externalId?}`. */

export interface StellarReceipt {
  readonly method: typeof METHOD_NAME;
  readonly reference: string;
  readonly status: "success";
  readonly timestamp: string;
  readonly externalId?: string;
}

export const Receipt = {
  /** A receipt for `reference` (a tx hash, or a channel voucher's reference), timestamped now unless given. */
  from(input: { reference: string; externalId?: string | undefined; timestamp?: string }): MppxReceipt.Receipt {
    return MppxReceipt.from({
      method: METHOD_NAME,
      reference: input.reference,
      status: "success",
      timestamp: input.timestamp ?? new Date().toISOString(),
      ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
    });
  },
  /** A receipt object from JSON (e.g. a relayer's answer), or undefined when it is not a stellar receipt. */
  parse(value: unknown): MppxReceipt.Receipt | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const r = value as Record<string, unknown>;
    if (r.method !== METHOD_NAME || typeof r.reference !== "string" || r.reference === "" || typeof r.timestamp !== "string") return undefined;
    if (r.status !== undefined && r.status !== "success") return undefined;
    if (r.externalId !== undefined && typeof r.externalId !== "string") return undefined;
    try {
      return Receipt.from({ reference: r.reference, timestamp: r.timestamp, externalId: r.externalId as string | undefined });
    } catch {
      return undefined;
    }
  },
} as const;
