/**
 * `@quay/mpp/channel/server`: @stellar/mpp 0.7's `stellar.channel({ channel, commitmentKey, store,
 * network })`, `close`, `getChannelState` and `watchChannel`. Local by default (vouchers checked
 * offline, the highest kept in `store`, the channel read from the ledger per voucher); with Quay
 * as `feePayer` (its URL or `{ url, apiKey }`, or QUAY_URL / QUAY_API_KEY in the environment) the
 * vouchers are kept by Quay, which registers the channel on first use and closes it. The RPC is
 * `rpcUrl`, else STELLAR_RPC_URL, else the network's default.
 */
import { Store } from "mppx";
import type { Keypair } from "@stellar/stellar-sdk";
import { getChannelState as readChannelState } from "../channel-state.js";
import type { ChannelState, GetChannelStateParameters } from "../channel-state.js";
import { watchChannel as watch } from "../channel-events.js";
import type { ChannelEvent, WatchChannelParameters } from "../channel-events.js";
import type { CommitmentKey } from "../commitment.js";
import type { NetworkId } from "../constants.js";
import { Quay } from "../quay.js";
import type { QuayFeePayer } from "../quay.js";
import { channel as channelMethod, close as closeOnChain } from "../server/channel.js";
import type { CloseParameters } from "../server/channel.js";

export interface ChannelParameters {
  /** The channel contract (C…). */
  readonly channel: string;
  /** The channel's commitment key: G…, 64 hex or a Keypair. */
  readonly commitmentKey: CommitmentKey;
  /** Channel state when local; default Store.memory() (one process only). */
  readonly store?: Store.AtomicStore;
  readonly network?: NetworkId;
  readonly decimals?: number;
  readonly rpcUrl?: string;
  /** Local: read the channel from the ledger per voucher (default true). */
  readonly checkOnChainState?: boolean;
  readonly onDisputeDetected?: (state: ChannelState) => void;
  /** Local signers (the envelope signer must be the recipient, to accept `close` credentials), or Quay. */
  readonly feePayer?: { readonly envelopeSigner: Keypair | string; readonly feeBumpSigner?: Keypair | string } | QuayFeePayer;
  /** With Quay: the recipient's key, to authorise the close Quay submits (unless Quay holds it). */
  readonly recipientSigner?: Keypair | string;
  readonly pollIntervalMs?: number;
  readonly pollTimeoutMs?: number;
}

export function channel(parameters: ChannelParameters): ReturnType<typeof channelMethod> {
  const { feePayer, store, rpcUrl, recipientSigner, ...rest } = parameters;
  const url = Quay.rpcUrl(rpcUrl);
  const relay = Quay.relay(feePayer);
  const common = { channel: rest.channel, ...(rest.network ? { network: rest.network } : {}), ...(rest.decimals !== undefined ? { decimals: rest.decimals } : {}) };
  if (relay) {
    return channelMethod({
      ...common,
      commitmentKey: rest.commitmentKey,
      relay: { ...relay, ...(recipientSigner ? { recipientSigner } : {}), ...(url ? { rpcUrl: url } : {}) },
    });
  }
  return channelMethod({
    ...rest,
    store: store ?? Store.memory(),
    ...(url ? { rpcUrl: url } : {}),
    ...(feePayer && !Quay.isFeePayer(feePayer) ? { closeSigner: feePayer.envelopeSigner } : {}),
  });
}

/** Closes on chain as the recipient (`feePayer.envelopeSigner`); answers the close transaction's hash once final. */
export function close(parameters: CloseParameters): Promise<string> {
  const url = Quay.rpcUrl(parameters.rpcUrl);
  return closeOnChain({ ...parameters, ...(url ? { rpcUrl: url } : {}) });
}

export function getChannelState(parameters: GetChannelStateParameters): Promise<ChannelState> {
  const url = Quay.rpcUrl(parameters.rpcUrl);
  return readChannelState({ ...parameters, ...(url ? { rpcUrl: url } : {}) });
}

export function watchChannel(parameters: WatchChannelParameters): () => void {
  const url = Quay.rpcUrl(parameters.rpcUrl);
  return watch({ ...parameters, ...(url ? { rpcUrl: url } : {}) });
}

export const stellar = { channel, close, getChannelState, watchChannel } as const;
export type { ChannelEvent, ChannelState, CloseParameters, GetChannelStateParameters, QuayFeePayer, WatchChannelParameters };
