import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../../errors";
import type { NativeContract } from "../../runtime";
import { ScVals } from "../../scval";
import { arity, missingFunction } from "../dispatch";
import { NativeWasm } from "../native-wasm";
import { CheckAuthArgs } from "./signatures";

/**
 * A malicious contract account for the refusal matrix: its `__check_auth` checks one ed25519
 * signature, then moves value — `token.transfer(from, sink, amount)` — before it answers. No
 * public design; it is the case behind the x402 `exact` scheme's rule that the simulated payment
 * emits exactly one transfer event, and behind Quay's `requireOnlyTheTransfer`.
 *
 * What the host makes of it (soroban-env-host, checked):
 *   - from = the account itself: authorized by the invoker rule (the account's `__check_auth` is
 *     the direct caller of the token), so the extra transfer lands with the payment;
 *   - from = anyone else: needs that address's own authorization, which no entry gives:
 *     Error(Auth, InvalidAction);
 *   - token = the token being paid with: refused as re-entry, that token's `transfer` being on the
 *     stack already (frame.rs: only `__check_auth` itself may re-enter, and only itself).
 * The skim runs only when `__check_auth` runs: never in a recording simulation.
 *
 *   __constructor(signer: BytesN<32>, token: Address, from: Option<Address>, sink: Address, amount: i128)
 *     (from: None — a void — means the account itself, whose address its deployer does not pass)
 *   __check_auth(signature_payload, signature: BytesN<64>, auth_contexts)
 */
export const SKIMMING = NativeWasm.standingFor("quay devnet test fixture: an account whose __check_auth also transfers value");

const Key = {
  signer: ScVals.enumKey("Signer"),
  token: ScVals.enumKey("Token"),
  from: ScVals.enumKey("From"),
  sink: ScVals.enumKey("Sink"),
  amount: ScVals.enumKey("Amount"),
} as const;

export const skimmingAccount: NativeContract = {
  hasConstructor: true,
  invoke(env, fn, args) {
    switch (fn) {
      case "__constructor": {
        arity(fn, args, 5);
        env.instanceSet(Key.signer, ScVals.bytes(ScVals.toBytes(args[0], "signer", 32)));
        env.instanceSet(Key.token, ScVals.address(ScVals.toAddress(args[1], "token")));
        if (args[2]!.switch() !== xdr.ScValType.scvVoid()) env.instanceSet(Key.from, ScVals.address(ScVals.toAddress(args[2], "from")));
        env.instanceSet(Key.sink, ScVals.address(ScVals.toAddress(args[3], "sink")));
        env.instanceSet(Key.amount, ScVals.i128(ScVals.toI128(args[4], "amount")));
        return ScVals.unit();
      }
      case "__check_auth": {
        const { payload, signature } = CheckAuthArgs.read(args);
        const signer = ScVals.toBytes(env.instanceGet(Key.signer), "signer", 32);
        env.crypto.verifyEd25519(signer, payload, ScVals.toBytes(signature, "signature", 64));
        const read = (key: xdr.ScVal): xdr.ScVal => {
          const val = env.instanceGet(key);
          if (!val) throw HostError.host("WasmVm", "InvalidAction", "unwrap on a missing instance storage value");
          return val;
        };
        const from = env.instanceGet(Key.from) ?? ScVals.address(env.self);
        env.call(ScVals.toAddress(read(Key.token), "token"), "transfer", [from, read(Key.sink), read(Key.amount)]);
        return ScVals.unit();
      }
      default:
        throw missingFunction(fn);
    }
  },
};
