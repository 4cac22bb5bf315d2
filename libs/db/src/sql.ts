import { sql, type SQL } from "drizzle-orm";
import { getTableConfig, type AnyPgColumn, type PgEnum, type PgTable } from "drizzle-orm/pg-core";

/**
 * For the few statements drizzle cannot build (a data-modifying CTE, an ON CONFLICT on a partial
 * index): they still name the schema's columns and enum values, so a rename fails to compile
 * instead of failing in production.
 */

/** A column's bare name, where SQL takes no table qualifier: SET targets, an INSERT's column list, a conflict target. */
export function columnName(column: AnyPgColumn): SQL {
  return sql`${sql.identifier(column.name)}`;
}

/**
 * One value of a schema enum as an SQL literal. A literal, not a parameter, where the planner must
 * see the value: a predicate matched against a partial unique index (ON CONFLICT … WHERE).
 */
export function enumLiteral<T extends [string, ...string[]]>(pgEnum: PgEnum<T>, value: T[number]): SQL {
  // Enum values are identifiers chosen in schema.ts; checked anyway, as this bypasses parameters.
  if (!pgEnum.enumValues.includes(value) || !/^[a-z_]+$/.test(value)) throw new Error(`${value} is not a value of ${pgEnum.enumName}`);
  return sql.raw(`'${value}'`);
}

/**
 * Whether `error` (or what it wraps: drizzle puts the driver's error in `cause`) is Postgres'
 * unique violation of this unique index of `table`: a caller that expects one conflict does not
 * mistake another for it. An index the table does not have is a programming error.
 */
export function isUniqueViolation(error: unknown, table: PgTable, index: string): boolean {
  const unique = getTableConfig(table).indexes.some((i) => i.config.unique && i.config.name === index);
  if (!unique) throw new Error(`${getTableConfig(table).name} has no unique index ${index}`);
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint } = e as { code?: unknown; constraint?: unknown };
    if (code === UNIQUE_VIOLATION) return constraint === index;
  }
  return false;
}

/** Postgres' SQLSTATE for a unique violation. */
const UNIQUE_VIOLATION = "23505";
