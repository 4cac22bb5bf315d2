import { customType } from "drizzle-orm/pg-core";

/**
 * A token amount in base units (7 decimals). Soroban amounts are i128, wider than int8, so they
 * are stored as numeric(39,0) and read back as bigint: never a float anywhere on the way.
 */
export const amount = customType<{ data: bigint; driverData: string }>({
  dataType: () => "numeric(39, 0)",
  toDriver: (value) => value.toString(),
  fromDriver: (value) => BigInt(value),
});
