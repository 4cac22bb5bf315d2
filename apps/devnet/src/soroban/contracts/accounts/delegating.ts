import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../../errors";
import type { NativeContract } from "../../runtime";
import { ScVals } from "../../scval";
import { arity, missingFunction } from "../dispatch";
import { NativeWasm } from "../native-wasm";
import { CheckAuthArgs } from "./signatures";

/**
 * A contract account that delegates its whole check to other addresses (CAP-71-01).
 *
 * Modelled on the delegated-signer account of CAP-71-01's own flow (stellar-protocol
 * core/cap-0071-01.md, "Appendix: Simulation flow": a void top-level signature when "only the
 * delegated signers are being used") and on soroban-env-host's test contract
 * `builtin_auth_delegation` (soroban-test-wasms): the account keeps the addresses it trusts and,
 * inside `__check_auth`,
 *   1. reads `get_delegated_signers_for_current_auth_check()` and refuses any address it does not
 *      know — the CAP warns those are user input, to be checked like signatures;
 *   2. calls `delegate_account_auth(address)` for every configured delegate, so the host
 *      authenticates each one (a G account by its signers, a C account by its own `__check_auth`,
 *      nested delegates below it) with the top-level payload and contexts; a configured delegate
 *      whose signature the credentials lack is refused by the host.
 * Every configured delegate is required (N-of-N); thresholds are the multisig account's business.
 *
 *   __constructor(delegates: Vec<Address>)
 *   __check_auth(signature_payload, signature: () , auth_contexts)
 */
export const DELEGATING = NativeWasm.standingFor(
  "CAP-71-01 delegating account (soroban-env-host builtin_auth_delegation; delegate_account_auth for every configured delegate)",
);

export const DelegatingError = {
  SignatureNotExpected: 1,
  UnknownDelegate: 2,
  NoDelegates: 3,
} as const;

const DELEGATES = ScVals.enumKey("Delegates");

export const delegatingAccount: NativeContract = {
  hasConstructor: true,
  invoke(env, fn, args) {
    switch (fn) {
      case "__constructor": {
        arity(fn, args, 1);
        const delegates = addresses(args[0]);
        if (delegates.length === 0 || new Set(delegates).size !== delegates.length) {
          throw HostError.contract(DelegatingError.NoDelegates, "delegates must be non-empty and distinct");
        }
        env.instanceSet(DELEGATES, ScVals.vec(delegates.map(ScVals.address)));
        return ScVals.unit();
      }
      case "__check_auth": {
        const { signature } = CheckAuthArgs.read(args);
        if (signature.switch() !== xdr.ScValType.scvVoid()) throw HostError.contract(DelegatingError.SignatureNotExpected, "the account signs only through its delegates");
        const configured = addresses(env.instanceGet(DELEGATES));
        for (const provided of env.delegatedSigners()) {
          if (!configured.includes(provided)) throw HostError.contract(DelegatingError.UnknownDelegate, `${provided} is not a delegate of this account`);
        }
        for (const delegate of configured) env.delegateAccountAuth(delegate);
        return ScVals.unit();
      }
      case "delegates":
        arity(fn, args, 0);
        return env.instanceGet(DELEGATES) ?? ScVals.vec([]);
      default:
        throw missingFunction(fn);
    }
  },
};

function addresses(val: xdr.ScVal | undefined): string[] {
  if (!val || val.switch() !== xdr.ScValType.scvVec()) throw HostError.host("Value", "UnexpectedType", "delegates: expected Vec<Address>");
  return (val.vec() ?? []).map((v) => ScVals.toAddress(v, "delegate"));
}
