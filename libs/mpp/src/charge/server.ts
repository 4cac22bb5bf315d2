/**
 * `@quay/mpp/charge/server`: @stellar/mpp 0.7's `stellar.charge({ recipient, currency, network, feePayer })`.
 * `feePayer` is either local signers (`{ envelopeSigner, feeBumpSigner? }`: this server sponsors and
 * submits) or Quay (its URL, or `{ url, apiKey }`; or QUAY_URL / QUAY_API_KEY in the environment):
 * Quay validates, sponsors and settles through its relayer, the way mppx's Tempo method takes a
 * fee-payer service URL. The RPC is `rpcUrl`, else STELLAR_RPC_URL, else the network's default.
 */
import { Store } from "mppx";
import type { Keypair } from "@stellar/stellar-sdk";
import type { NetworkId } from "../constants.js";
import { Quay } from "../quay.js";
import type { QuayFeePayer } from "../quay.js";
import { charge as chargeMethod } from "../server/charge.js";

export interface ChargeParameters {
  /** Who is paid: G… or C…. */
  readonly recipient: string;
  /** SEP-41 token contract (C…). */
  readonly currency: string;
  /** Default stellar:testnet. */
  readonly network?: NetworkId;
  /** Route amounts are human ("0.01"); default 7 decimals. */
  readonly decimals?: number;
  readonly feePayer?: { readonly envelopeSigner: Keypair | string; readonly feeBumpSigner?: Keypair | string } | QuayFeePayer;
  /** Replay protection when settling locally; default Store.memory() (one process only). */
  readonly store?: Store.AtomicStore;
  readonly rpcUrl?: string;
  readonly maxFeeBumpStroops?: number;
  readonly pollIntervalMs?: number;
  readonly pollTimeoutMs?: number;
  readonly allowUnsignedPush?: boolean;
}

export function charge(parameters: ChargeParameters): ReturnType<typeof chargeMethod> {
  const { feePayer, store, rpcUrl, ...rest } = parameters;
  const common = { recipient: rest.recipient, currency: rest.currency, ...(rest.network ? { network: rest.network } : {}), ...(rest.decimals !== undefined ? { decimals: rest.decimals } : {}) };
  const relay = Quay.relay(feePayer);
  if (relay) return chargeMethod({ ...common, relay });
  const url = Quay.rpcUrl(rpcUrl);
  return chargeMethod({
    ...rest,
    store: store ?? Store.memory(),
    ...(url ? { rpcUrl: url } : {}),
    ...(feePayer && !Quay.isFeePayer(feePayer) ? { feePayer } : {}),
  });
}

export const stellar = { charge } as const;
export type { ChargeRequest, ChargePayload } from "../methods.js";
export type { QuayFeePayer } from "../quay.js";
