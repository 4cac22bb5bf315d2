/**
 * The helpers raw SQL uses to stay tied to schema.ts: enum values as literals (only the enum's own),
 * and a unique violation told apart by its index's name, through drizzle's wrapping.
 */
import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { columnName, enumLiteral, isUniqueViolation, schema } from "@quay/db";

const dialect = new PgDialect();

describe("enumLiteral", () => {
  it("renders a value of the enum as a literal, and refuses any other", () => {
    expect(dialect.sqlToQuery(enumLiteral(schema.attemptStatus, "built"))).toEqual({ sql: "'built'", params: [] });
    // What a caller past the type checker could pass.
    expect(() => enumLiteral(schema.attemptStatus, "built'; drop table x; --" as "built")).toThrow(/not a value of attempt_status/);
  });
});

describe("columnName", () => {
  it("is the bare column name, without its table", () => {
    expect(dialect.sqlToQuery(columnName(schema.submissions.updatedAt)).sql).toBe('"updated_at"');
  });
});

describe("isUniqueViolation", () => {
  const wrapped = (constraint: string) => Object.assign(new Error("Failed query: insert …"), { cause: Object.assign(new Error("duplicate key"), { code: "23505", constraint }) });

  it("recognises the named index's violation through drizzle's wrapper, and only that index's", () => {
    expect(isUniqueViolation(wrapped("mpp_charges_inner_tx"), schema.mppCharges, "mpp_charges_inner_tx")).toBe(true);
    expect(isUniqueViolation(wrapped("mpp_charges_challenge"), schema.mppCharges, "mpp_charges_inner_tx")).toBe(false);
    expect(isUniqueViolation(new Error("connection reset"), schema.mppCharges, "mpp_charges_inner_tx")).toBe(false);
  });

  it("fails on an index the table does not have", () => {
    expect(() => isUniqueViolation(wrapped("x"), schema.mppCharges, "mpp_charges_nonexistent")).toThrow(/has no unique index/);
  });
});
