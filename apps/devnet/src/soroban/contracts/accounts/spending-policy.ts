import { xdr } from "@stellar/stellar-sdk";
import { AuthContexts } from "../../auth-context";
import { HostError } from "../../errors";
import type { ContractEnv, NativeContract } from "../../runtime";
import { ScVals } from "../../scval";
import { arity, missingFunction } from "../dispatch";
import { NativeWasm } from "../native-wasm";
import { CheckAuthArgs } from "./signatures";

/**
 * A contract account with one ed25519 signer and a rolling spending limit per token.
 *
 * Modelled on OpenZeppelin stellar-contracts' `spending_limit` policy
 * (packages/accounts/src/policies/spending_limit.rs): `SpendingLimitData { spending_limit: i128,
 * period_ledgers: u32, spending_history: Vec<SpendingEntry { amount: i128, ledger_sequence: u32 }> }`
 * in persistent storage; a `transfer` context's amount (its third argument) counts against the
 * sum of the entries newer than `current ledger − period_ledgers`; over the limit is
 * `SpendingLimitExceeded` (2221); the new entry is appended and entries older than the window
 * dropped, and an event is published. Here the policy lives in the account itself and runs in its
 * own `__check_auth`, as stellar/soroban-examples' account enforces its per-token limits, so the
 * check reads and writes the account's storage and emits the account's event — all of it part of
 * the payment's footprint, fee and events (visible only to an enforcing simulation).
 *
 * Only token calls spending from this account (`transfer`/`burn` with `from` = the account, or
 * `approve`) count; a token without a configured limit, and calls on other contracts, pass with
 * the signature alone.
 *
 *   __constructor(signer: BytesN<32>, token: Address, spending_limit: i128, period_ledgers: u32)
 *   __check_auth(signature_payload, signature: BytesN<64>, auth_contexts)
 *   event: topics ["spend", token: Address], data { amount: i128, total_spent_in_period: i128 }
 */
export const SPENDING_POLICY = NativeWasm.standingFor(
  "OpenZeppelin stellar-contracts spending_limit policy inside an ed25519 account's __check_auth",
);

/** OpenZeppelin's `SpendingLimitError` codes. */
export const SpendingPolicyError = {
  SpendingLimitExceeded: 2221,
  InvalidLimitOrPeriod: 2222,
  NotAllowed: 2223,
} as const;

const Key = {
  signer: ScVals.enumKey("Signer"),
  limit: (token: string): xdr.ScVal => ScVals.vec([ScVals.symbol("SpendingLimit"), ScVals.address(token)]),
} as const;

const SPENDING_FNS = new Set(["transfer", "burn", "approve"]);

interface SpendingEntry {
  readonly amount: bigint;
  readonly ledgerSequence: number;
}

export const spendingPolicyAccount: NativeContract = {
  hasConstructor: true,
  invoke(env, fn, args) {
    switch (fn) {
      case "__constructor": {
        arity(fn, args, 4);
        const signer = ScVals.toBytes(args[0], "signer", 32);
        const token = ScVals.toAddress(args[1], "token");
        const limit = ScVals.toI128(args[2], "spending_limit");
        const period = ScVals.toU32(args[3], "period_ledgers");
        if (limit <= 0n || period === 0) throw HostError.contract(SpendingPolicyError.InvalidLimitOrPeriod, "spending_limit and period_ledgers must be positive");
        env.instanceSet(Key.signer, ScVals.bytes(signer));
        env.persistentSet(Key.limit(token), limitData(limit, period, []));
        return ScVals.unit();
      }
      case "__check_auth": {
        const { payload, signature, contexts } = CheckAuthArgs.read(args);
        const signer = ScVals.toBytes(env.instanceGet(Key.signer), "signer", 32);
        env.crypto.verifyEd25519(signer, payload, ScVals.toBytes(signature, "signature", 64));
        for (const context of AuthContexts.read(contexts)) {
          if (context.kind !== "contract" || !SPENDING_FNS.has(context.fnName)) continue;
          // approve(from, spender, amount, expiration) spends from `from` too; transfer/burn from their first argument.
          if (ScVals.toAddress(context.args[0], "from") !== env.self) continue;
          const amountArg = context.fnName === "burn" ? context.args[1] : context.args[2];
          spend(env, context.contract, ScVals.toI128(amountArg, "amount"));
        }
        return ScVals.unit();
      }
      default:
        throw missingFunction(fn);
    }
  },
};

function spend(env: ContractEnv, token: string, amount: bigint): void {
  const stored = env.persistentGet(Key.limit(token));
  if (!stored) return; // no limit on this token
  if (amount < 0n) throw HostError.contract(SpendingPolicyError.NotAllowed, "negative amount");
  const limit = ScVals.toI128(ScVals.field(stored, "spending_limit"), "spending_limit");
  const period = ScVals.toU32(ScVals.field(stored, "period_ledgers"), "period_ledgers");
  const history = readHistory(ScVals.field(stored, "spending_history"));
  const current = env.ledger.sequence;
  const cutoff = Math.max(current - period, 0);
  const spent = history.filter((e) => e.ledgerSequence > cutoff).reduce((sum, e) => sum + e.amount, 0n);
  if (spent + amount > limit) {
    throw HostError.contract(SpendingPolicyError.SpendingLimitExceeded, `${spent} already spent of ${limit} in the last ${period} ledgers; ${amount} more is over`);
  }
  const kept = [...history, { amount, ledgerSequence: current }];
  // OpenZeppelin drops leading entries older than the cutoff (an entry at the cutoff stays, uncounted).
  while (kept.length > 0 && kept[0]!.ledgerSequence < cutoff) kept.shift();
  env.persistentSet(Key.limit(token), limitData(limit, period, kept));
  env.emit([ScVals.symbol("spend"), ScVals.address(token)], ScVals.struct({ amount: ScVals.i128(amount), total_spent_in_period: ScVals.i128(spent + amount) }));
}

function limitData(limit: bigint, period: number, history: readonly SpendingEntry[]): xdr.ScVal {
  return ScVals.struct({
    period_ledgers: ScVals.u32(period),
    spending_history: ScVals.vec(history.map((e) => ScVals.struct({ amount: ScVals.i128(e.amount), ledger_sequence: ScVals.u32(e.ledgerSequence) }))),
    spending_limit: ScVals.i128(limit),
  });
}

function readHistory(val: xdr.ScVal | undefined): SpendingEntry[] {
  if (!val || val.switch() !== xdr.ScValType.scvVec()) throw HostError.host("Value", "UnexpectedType", "spending_history: expected Vec<SpendingEntry>");
  return (val.vec() ?? []).map((e) => ({
    amount: ScVals.toI128(ScVals.field(e, "amount"), "amount"),
    ledgerSequence: ScVals.toU32(ScVals.field(e, "ledger_sequence"), "ledger_sequence"),
  }));
}
