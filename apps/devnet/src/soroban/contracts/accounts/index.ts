import type { NativeContract } from "../../runtime";
import type { NativeWasmCode } from "../native-wasm";
import { DELEGATING, delegatingAccount } from "./delegating";
import { ED25519_MULTISIG, ed25519MultisigAccount } from "./multisig";
import { PASSKEY, passkeyAccount } from "./passkey";
import { SKIMMING, skimmingAccount } from "./skimming";
import { SPENDING_POLICY, spendingPolicyAccount } from "./spending-policy";

export { DelegatingError } from "./delegating";
export { MultisigError } from "./multisig";
export { PasskeyError } from "./passkey";
export { SpendingPolicyError } from "./spending-policy";

/**
 * The contract accounts (custom accounts with `__check_auth`) a test can deploy on this devnet:
 * upload `wasm`, then createContract (V2, with constructor arguments) on `hash`. Each file's header
 * names the public design it follows and its constructor.
 */
export const ACCOUNT_CONTRACTS = {
  ed25519Multisig: ED25519_MULTISIG,
  passkey: PASSKEY,
  spendingPolicy: SPENDING_POLICY,
  delegating: DELEGATING,
  skimming: SKIMMING,
} as const satisfies Record<string, NativeWasmCode>;

export type AccountContractKind = keyof typeof ACCOUNT_CONTRACTS;

/** Code hash → implementation, for the registry. */
export const accountImplementations: ReadonlyArray<readonly [Buffer, NativeContract]> = [
  [ED25519_MULTISIG.hash, ed25519MultisigAccount],
  [PASSKEY.hash, passkeyAccount],
  [SPENDING_POLICY.hash, spendingPolicyAccount],
  [DELEGATING.hash, delegatingAccount],
  [SKIMMING.hash, skimmingAccount],
];
