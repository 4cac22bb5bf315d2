/**
 * `@quay/mpp/charge/client`: @stellar/mpp 0.7's `stellar.charge({ keypair, mode, onProgress })`
 * (or `secretKey` instead of `keypair`). The RPC is `rpcUrl`, else STELLAR_RPC_URL, else the
 * network's default.
 */
import { Keypair } from "@stellar/stellar-sdk";
import { charge as chargeMethod } from "../client/charge.js";
import type { ChargeClientParameters, ChargeProgressEvent } from "../client/charge.js";
import { StellarMppConfigError } from "../errors.js";
import { Quay } from "../quay.js";

export type ChargeParameters = Omit<ChargeClientParameters, "keypair"> & { readonly keypair?: Keypair; readonly secretKey?: string };

export function charge(parameters: ChargeParameters): ReturnType<typeof chargeMethod> {
  const { secretKey, keypair, rpcUrl, ...rest } = parameters;
  const key = keypair ?? (secretKey ? Keypair.fromSecret(secretKey) : undefined);
  if (!key) throw new StellarMppConfigError("pass keypair (or secretKey)");
  const url = Quay.rpcUrl(rpcUrl);
  return chargeMethod({ ...rest, keypair: key, ...(url ? { rpcUrl: url } : {}) });
}

export const stellar = { charge } as const;
export type { ChargeProgressEvent };
