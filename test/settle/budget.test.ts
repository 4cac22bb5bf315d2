import { describe, expect, it } from "vitest";
import { ApiKeys } from "@quay/keys";
import { newPayment, post, settlementSuite, type SettleAnswer } from "./payments";

/** The most one payment's fee bump may cost here. */
const MAX_FEE = 100_000n;
/** What each payment reserves of a budget: it may land twice (once more after a failure on drifted state). */
const RESERVED = 2n * MAX_FEE;

/**
 * A key's fee budget is a hard cap: a payment reserves the most it may cost when it is accepted
 * (atomically, in Postgres), settles the fee the ledger charged and releases the rest; a payment
 * that does not fit is refused with 429 before anything is recorded or submitted.
 */
describe("fee budgets", () => {
  const suite = settlementSuite({ poolSize: 3, env: { STELLAR_TESTNET_MAX_FEE_STROOPS: MAX_FEE.toString() } });

  async function keyWithBudget(budget: bigint) {
    const created = await ApiKeys.create(suite.quay.db, { tenant: `budget-${budget}-${Date.now()}`, networks: ["stellar:testnet"], feeBudgetStroops: budget });
    return created;
  }

  async function keyRow(id: string) {
    const { rows } = await suite.quay.pool.query<{ spent: string; reserved: string }>(
      "select fee_spent_stroops::text as spent, fee_reserved_stroops::text as reserved from api_keys where id = $1",
      [id],
    );
    return { spent: BigInt(rows[0]!.spent), reserved: BigInt(rows[0]!.reserved) };
  }

  it("refuses a payment a 1-stroop budget cannot hold, at /verify and /settle, before anything is recorded", async () => {
    const { quay, payTo } = suite;
    const key = await keyWithBudget(1n);
    const { body } = await newPayment(quay, payTo);
    const verified = await post<Record<string, unknown>>(quay.apiUrl, "/verify", body, key.key);
    expect(verified.status).toBe(429);
    expect(verified.body).toMatchObject({ isValid: false, invalidReason: "fee_budget_exhausted" });
    const settled = await post<SettleAnswer>(quay.apiUrl, "/settle", body, key.key);
    expect(settled.status).toBe(429);
    expect(settled.body).toMatchObject({ success: false, errorReason: "fee_budget_exhausted", transaction: "", network: "stellar:testnet" });
    expect(settled.body.errorMessage).toContain(RESERVED.toString());
    const { rows } = await quay.pool.query("select count(*)::int as n from submissions where api_key_id = $1", [key.id]);
    expect(rows[0].n).toBe(0);
    expect(await keyRow(key.id)).toEqual({ spent: 0n, reserved: 0n });
  });

  it("20 concurrent settles on a budget of 3 payments: at most 3 recorded, fees charged within the budget, the others refused before submission", async () => {
    const { quay, payTo } = suite;
    const budget = 3n * RESERVED;
    const key = await keyWithBudget(budget);
    const bodies = await Promise.all(Array.from({ length: 20 }, () => newPayment(quay, payTo)));
    const answers = await Promise.all(bodies.map(({ body }) => post<SettleAnswer>(quay.apiUrl, "/settle", body, key.key)));

    const refused = answers.filter((a) => a.status === 429);
    const accepted = answers.filter((a) => a.status === 200);
    expect(refused.length + accepted.length).toBe(20);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThanOrEqual(3);
    for (const a of refused) expect(a.body).toMatchObject({ success: false, errorReason: "fee_budget_exhausted", transaction: "" });
    for (const a of accepted) expect(a.body).toMatchObject({ success: true });

    // Only the accepted payments exist; every refused payer has no row, no attempt, no transfer.
    const { rows } = await quay.pool.query<{ payer: string; fee: string }>(
      "select payer, fee_charged_stroops::text as fee from submissions where api_key_id = $1",
      [key.id],
    );
    expect(rows).toHaveLength(accepted.length);
    const charged = rows.reduce((sum, r) => sum + BigInt(r.fee), 0n);
    expect(charged).toBeGreaterThan(0n);
    expect(charged).toBeLessThanOrEqual(budget);
    expect(await keyRow(key.id)).toEqual({ spent: charged, reserved: 0n });
  });
});
