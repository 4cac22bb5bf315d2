import { xdr } from "@stellar/stellar-sdk";
import { verifyEd25519 } from "../../ed25519";
import { HostError } from "../errors";
import type { ContractEnv, NativeContract } from "../runtime";
import { ScVals } from "../scval";
import { arity, missingFunction } from "./dispatch";
import { commitmentBytes } from "./commitment";

/**
 * The Wasm a funder uploads to deploy a one-way payment channel on this devnet, and its hash, the
 * code hash that selects `oneWayChannelContract`: defined in @quay/wasm, which deployers (the demo,
 * tests) share with the devnet.
 */
export { CHANNEL_WASM, CHANNEL_WASM_HASH } from "@quay/wasm";

/** The contract's `#[contracterror] enum Error`. */
export const ChannelError = {
  NegativeAmount: 1,
  NotClosed: 2,
  RefundWaitingPeriodNotElapsed: 3,
  AlreadyClosed: 4,
} as const;

/** `#[contracttype] enum DataKey`, all in instance storage. */
const DataKey = {
  Token: ScVals.enumKey("Token"),
  From: ScVals.enumKey("From"),
  CommitmentKey: ScVals.enumKey("CommitmentKey"),
  To: ScVals.enumKey("To"),
  RefundWaitingPeriod: ScVals.enumKey("RefundWaitingPeriod"),
  WithdrawnAmount: ScVals.enumKey("WithdrawnAmount"),
  CloseEffectiveAtLedger: ScVals.enumKey("CloseEffectiveAtLedger"),
} as const;

const U32_MAX = 0xffff_ffff;

/**
 * stellar-experimental/one-way-channel (contracts/channel/src/lib.rs at 4b2fce5), natively:
 * same functions, checks in the same order, same storage, events (`#[contractevent]`: one topic
 * with the snake_case name, data a map of the fields) and error codes.
 */
export const oneWayChannelContract: NativeContract = {
  hasConstructor: true,
  invoke(env, fn, args) {
    switch (fn) {
      case "__constructor": {
        arity(fn, args, 6);
        const token = ScVals.toAddress(args[0], "token");
        const from = ScVals.toAddress(args[1], "from");
        const commitmentKey = ScVals.toBytes(args[2], "commitment_key", 32);
        const to = ScVals.toAddress(args[3], "to");
        const amount = ScVals.toI128(args[4], "amount");
        const refundWaitingPeriod = ScVals.toU32(args[5], "refund_waiting_period");
        assertNonNegative(amount);
        env.instanceSet(DataKey.Token, ScVals.address(token));
        env.instanceSet(DataKey.From, ScVals.address(from));
        env.instanceSet(DataKey.CommitmentKey, ScVals.bytes(commitmentKey));
        env.instanceSet(DataKey.To, ScVals.address(to));
        env.instanceSet(DataKey.RefundWaitingPeriod, ScVals.u32(refundWaitingPeriod));
        topUp(env, amount);
        env.emit(
          [ScVals.symbol("open")],
          ScVals.struct({
            from: ScVals.address(from),
            commitment_key: ScVals.bytes(commitmentKey),
            to: ScVals.address(to),
            token: ScVals.address(token),
            amount: ScVals.i128(amount),
            refund_waiting_period: ScVals.u32(refundWaitingPeriod),
          }),
        );
        return ScVals.unit();
      }
      case "top_up":
        arity(fn, args, 1);
        topUp(env, ScVals.toI128(args[0], "amount"));
        return ScVals.unit();
      case "token":
        arity(fn, args, 0);
        return required(env, DataKey.Token);
      case "from":
        arity(fn, args, 0);
        return required(env, DataKey.From);
      case "to":
        arity(fn, args, 0);
        return required(env, DataKey.To);
      case "refund_waiting_period":
        arity(fn, args, 0);
        return required(env, DataKey.RefundWaitingPeriod);
      case "balance":
        arity(fn, args, 0);
        return ScVals.i128(balance(env));
      case "deposited":
        arity(fn, args, 0);
        return ScVals.i128(balance(env) + withdrawn(env));
      case "withdrawn":
        arity(fn, args, 0);
        return ScVals.i128(withdrawn(env));
      case "prepare_commitment": {
        arity(fn, args, 1);
        const amount = ScVals.toI128(args[0], "amount");
        assertNonNegative(amount);
        return ScVals.bytes(commitmentBytes(env.ledger.networkId, env.self, amount));
      }
      case "settle":
      case "close": {
        arity(fn, args, 2);
        const amount = ScVals.toI128(args[0], "amount");
        const sig = ScVals.toBytes(args[1], "sig", 64);
        assertNonNegative(amount);
        const to = addressAt(env, DataKey.To);
        env.requireAuth(to);
        verifyCommitment(env, amount, sig);
        const payout = amount - withdrawn(env);
        if (payout > 0n) {
          env.instanceSet(DataKey.WithdrawnAmount, ScVals.i128(amount));
          transfer(env, env.self, to, payout);
          env.emit([ScVals.symbol("withdraw")], ScVals.struct({ to: ScVals.address(to), amount: ScVals.i128(payout) }));
        }
        if (fn === "close") closeAndRefund(env);
        return ScVals.unit();
      }
      case "close_start": {
        arity(fn, args, 0);
        const effective = closeEffectiveAtLedger(env);
        if (effective !== undefined && env.ledger.sequence >= effective) {
          throw HostError.contract(ChannelError.AlreadyClosed, "the channel is already closed");
        }
        env.requireAuth(addressAt(env, DataKey.From));
        const waiting = ScVals.toU32(required(env, DataKey.RefundWaitingPeriod), "refund_waiting_period");
        const effectiveAt = Math.min(env.ledger.sequence + waiting, U32_MAX);
        env.instanceSet(DataKey.CloseEffectiveAtLedger, ScVals.u32(effectiveAt));
        env.emit([ScVals.symbol("close")], ScVals.struct({ effective_at_ledger: ScVals.u32(effectiveAt) }));
        return ScVals.unit();
      }
      case "refund": {
        arity(fn, args, 0);
        const effective = closeEffectiveAtLedger(env);
        if (effective === undefined) throw HostError.contract(ChannelError.NotClosed, "the channel is not closed");
        if (env.ledger.sequence < effective) {
          throw HostError.contract(ChannelError.RefundWaitingPeriodNotElapsed, `refund is possible from ledger ${effective}`);
        }
        const from = addressAt(env, DataKey.From);
        env.requireAuth(from);
        const remaining = balance(env);
        if (remaining > 0n) {
          transfer(env, env.self, from, remaining);
          env.emit([ScVals.symbol("refund")], ScVals.struct({ from: ScVals.address(from), amount: ScVals.i128(remaining) }));
        }
        return ScVals.unit();
      }
      default:
        throw missingFunction(fn);
    }
  },
};

function topUp(env: ContractEnv, amount: bigint): void {
  assertNonNegative(amount);
  if (amount > 0n) {
    const from = addressAt(env, DataKey.From);
    env.requireAuth(from);
    transfer(env, from, env.self, amount);
  }
}

/** Marks the channel closed now (unless already effective), then tries to refund the funder. */
function closeAndRefund(env: ContractEnv): void {
  const now = env.ledger.sequence;
  const effective = closeEffectiveAtLedger(env);
  if (!(effective !== undefined && effective <= now)) {
    env.instanceSet(DataKey.CloseEffectiveAtLedger, ScVals.u32(now));
    env.emit([ScVals.symbol("close")], ScVals.struct({ effective_at_ledger: ScVals.u32(now) }));
  }
  const from = addressAt(env, DataKey.From);
  const remaining = balance(env);
  if (remaining > 0n) {
    const token = addressAt(env, DataKey.Token);
    const attempt = env.tryCall(token, "transfer", [ScVals.address(env.self), ScVals.address(from), ScVals.i128(remaining)]);
    if (attempt.ok) env.emit([ScVals.symbol("refund")], ScVals.struct({ from: ScVals.address(from), amount: ScVals.i128(remaining) }));
  }
}

function verifyCommitment(env: ContractEnv, amount: bigint, sig: Buffer): void {
  const key = ScVals.toBytes(required(env, DataKey.CommitmentKey), "commitment_key", 32);
  const payload = commitmentBytes(env.ledger.networkId, env.self, amount);
  if (!verifyEd25519(key, payload, sig)) {
    throw HostError.host("Crypto", "InvalidInput", "failed ED25519 verification");
  }
}

function transfer(env: ContractEnv, from: string, to: string, amount: bigint): void {
  env.call(addressAt(env, DataKey.Token), "transfer", [ScVals.address(from), ScVals.address(to), ScVals.i128(amount)]);
}

function balance(env: ContractEnv): bigint {
  return ScVals.toI128(env.call(addressAt(env, DataKey.Token), "balance", [ScVals.address(env.self)]), "balance");
}

function withdrawn(env: ContractEnv): bigint {
  const val = env.instanceGet(DataKey.WithdrawnAmount);
  return val ? ScVals.toI128(val, "WithdrawnAmount") : 0n;
}

function closeEffectiveAtLedger(env: ContractEnv): number | undefined {
  const val = env.instanceGet(DataKey.CloseEffectiveAtLedger);
  return val ? ScVals.toU32(val, "CloseEffectiveAtLedger") : undefined;
}

function required(env: ContractEnv, key: xdr.ScVal): xdr.ScVal {
  const val = env.instanceGet(key);
  // `.unwrap()` on a missing instance value traps the Wasm.
  if (!val) throw HostError.host("WasmVm", "InvalidAction", "unwrap on a missing instance storage value");
  return val;
}

function addressAt(env: ContractEnv, key: xdr.ScVal): string {
  return ScVals.toAddress(required(env, key), "address");
}

function assertNonNegative(amount: bigint): void {
  if (amount < 0n) throw HostError.contract(ChannelError.NegativeAmount, "amount must not be negative");
}

