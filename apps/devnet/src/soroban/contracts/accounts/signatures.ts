import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../../errors";
import { ScVals } from "../../scval";

/**
 * The `__check_auth` argument shapes the native accounts share. A wrong shape is what the real
 * soroban-sdk conversion gives: Error(Value, UnexpectedType), which the host reports to the caller
 * of require_auth as Error(Auth, InvalidAction) like any other failed check.
 */
export namespace CheckAuthArgs {
  export interface Args {
    readonly payload: Buffer;
    readonly signature: xdr.ScVal;
    readonly contexts: xdr.ScVal;
  }

  /** `(signature_payload: BytesN<32>, signature: Val, auth_contexts: Vec<Context>)`. */
  export function read(args: xdr.ScVal[]): Args {
    if (args.length !== 3) throw HostError.host("Value", "UnexpectedSize", `__check_auth takes 3 arguments, got ${args.length}`);
    return { payload: ScVals.toBytes(args[0], "signature_payload", 32), signature: args[1]!, contexts: args[2]! };
  }

  export interface Ed25519Signature {
    readonly publicKey: Buffer;
    readonly signature: Buffer;
  }

  /**
   * `Vec<Signature { public_key: BytesN<32>, signature: BytesN<64> }>` — soroban-examples'
   * account signature, the same shape the host reads for a G account.
   */
  export function ed25519Vec(val: xdr.ScVal): Ed25519Signature[] {
    if (val.switch() !== xdr.ScValType.scvVec()) throw HostError.host("Value", "UnexpectedType", "signature: expected Vec<Signature>");
    return (val.vec() ?? []).map((item) => ({
      publicKey: ScVals.toBytes(ScVals.field(item, "public_key"), "public_key", 32),
      signature: ScVals.toBytes(ScVals.field(item, "signature"), "signature", 64),
    }));
  }
}
