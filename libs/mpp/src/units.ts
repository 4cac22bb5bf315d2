import { QuayMppError } from "./errors.js";
/** Human amounts ("0.01") to token base units ("100000") and back, exactly (bigint, no floats). */

export class AmountError extends QuayMppError {
  override readonly name = "AmountError";
}

const HUMAN = /^\d+(\.\d+)?$/;

export const Units = {
  toBaseUnits(amount: string, decimals: number): string {
    if (!HUMAN.test(amount)) throw new AmountError(`amount must be a non-negative decimal number, got "${amount}"`);
    const [whole = "0", fraction = ""] = amount.split(".");
    if (fraction.length > decimals) {
      throw new AmountError(`amount "${amount}" has more than ${decimals} decimal places`);
    }
    return (BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0")).toString();
  },
  fromBaseUnits(baseUnits: string | bigint, decimals: number): string {
    const value = BigInt(baseUnits);
    const negative = value < 0n;
    const abs = negative ? -value : value;
    if (decimals === 0) return `${negative ? "-" : ""}${abs}`;
    const divisor = 10n ** BigInt(decimals);
    return `${negative ? "-" : ""}${abs / divisor}.${(abs % divisor).toString().padStart(decimals, "0")}`;
  },
  /** A positive base-unit integer string without leading zeros ("0" and "007" are refused). */
  isPositiveInteger(value: string): boolean {
    return /^[1-9]\d*$/.test(value);
  },
} as const;
