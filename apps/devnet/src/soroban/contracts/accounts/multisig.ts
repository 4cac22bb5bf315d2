import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../../errors";
import type { ContractEnv, NativeContract } from "../../runtime";
import { ScVals } from "../../scval";
import { arity, missingFunction } from "../dispatch";
import { NativeWasm } from "../native-wasm";
import { CheckAuthArgs } from "./signatures";

/**
 * An M-of-N ed25519 multisig contract account.
 *
 * Modelled on stellar/soroban-examples `account` (account/src/lib.rs, "a basic multi-sig account
 * contract"): signers kept as `DataKey::Signer(BytesN<32>)` in instance storage, the signature a
 * `Vec<Signature { public_key: BytesN<32>, signature: BytesN<64> }>` strictly ordered by public key,
 * each signer known and its ed25519 signature over the payload verified by the host, the same
 * `AccError` codes. Where that example requires every signer for admin calls and applies per-token
 * limits otherwise, this one counts signatures against a threshold, as OpenZeppelin
 * stellar-contracts' smart account does with its `simple_threshold` policy (packages/accounts).
 *
 *   __constructor(signers: Vec<BytesN<32>>, threshold: u32)
 *   __check_auth(signature_payload, signatures: Vec<Signature>, auth_contexts)
 *   set_threshold(threshold: u32)   — authorized by the account itself (its own __check_auth)
 *   threshold() -> u32
 */
export const ED25519_MULTISIG = NativeWasm.standingFor(
  "stellar/soroban-examples account (ed25519 multisig) with an M-of-N threshold as OpenZeppelin stellar-contracts simple_threshold",
);

/** soroban-examples' `AccError` codes (its NegativeAmount = 2 has no use here), plus this devnet's for a bad configuration. */
export const MultisigError = {
  NotEnoughSigners: 1,
  BadSignatureOrder: 3,
  UnknownSigner: 4,
  InvalidThreshold: 5,
} as const;

const Key = {
  signer: (publicKey: Buffer): xdr.ScVal => ScVals.vec([ScVals.symbol("Signer"), ScVals.bytes(publicKey)]),
  signerCount: ScVals.enumKey("SignerCnt"),
  threshold: ScVals.enumKey("Threshold"),
} as const;

export const ed25519MultisigAccount: NativeContract = {
  hasConstructor: true,
  invoke(env, fn, args) {
    switch (fn) {
      case "__constructor": {
        arity(fn, args, 2);
        const signers = bytesList(args[0], "signers");
        const threshold = ScVals.toU32(args[1], "threshold");
        const distinct = new Set(signers.map((s) => s.toString("hex")));
        if (signers.length === 0 || distinct.size !== signers.length) {
          throw HostError.contract(MultisigError.InvalidThreshold, "signers must be non-empty and distinct");
        }
        for (const signer of signers) env.instanceSet(Key.signer(signer), ScVals.unit());
        env.instanceSet(Key.signerCount, ScVals.u32(signers.length));
        setThreshold(env, threshold);
        return ScVals.unit();
      }
      case "__check_auth": {
        const { payload, signature } = CheckAuthArgs.read(args);
        const signatures = CheckAuthArgs.ed25519Vec(signature);
        let previous: Buffer | undefined;
        for (const { publicKey, signature: sig } of signatures) {
          if (previous && Buffer.compare(previous, publicKey) >= 0) {
            throw HostError.contract(MultisigError.BadSignatureOrder, "signatures must be ordered by public key, without repeats");
          }
          previous = publicKey;
          if (!env.instanceGet(Key.signer(publicKey))) throw HostError.contract(MultisigError.UnknownSigner, `${publicKey.toString("hex")} is not a signer`);
          env.crypto.verifyEd25519(publicKey, payload, sig);
        }
        const threshold = ScVals.toU32(env.instanceGet(Key.threshold), "threshold");
        if (signatures.length < threshold) {
          throw HostError.contract(MultisigError.NotEnoughSigners, `${signatures.length} of the ${threshold} signatures required`);
        }
        return ScVals.unit();
      }
      case "set_threshold":
        arity(fn, args, 1);
        env.requireAuth(env.self);
        setThreshold(env, ScVals.toU32(args[0], "threshold"));
        return ScVals.unit();
      case "threshold":
        arity(fn, args, 0);
        return ScVals.u32(ScVals.toU32(env.instanceGet(Key.threshold), "threshold"));
      default:
        throw missingFunction(fn);
    }
  },
};

function setThreshold(env: ContractEnv, threshold: number): void {
  const signers = ScVals.toU32(env.instanceGet(Key.signerCount), "signer count");
  if (threshold < 1 || threshold > signers) {
    throw HostError.contract(MultisigError.InvalidThreshold, `threshold ${threshold} must be between 1 and ${signers}`);
  }
  env.instanceSet(Key.threshold, ScVals.u32(threshold));
}

function bytesList(val: xdr.ScVal | undefined, what: string): Buffer[] {
  if (!val || val.switch() !== xdr.ScValType.scvVec()) throw HostError.host("Value", "UnexpectedType", `${what}: expected Vec<BytesN<32>>`);
  return (val.vec() ?? []).map((item) => ScVals.toBytes(item, what, 32));
}
