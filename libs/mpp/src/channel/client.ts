/**
 * `@quay/mpp/channel/client`: @stellar/mpp 0.7's `stellar.channel({ commitmentKey, onProgress })`
 * (or `commitmentSecret`, the 64-hex ed25519 seed). Pin the channel with `channel` or
 * `allowedChannels`; without, the first channel a server names is pinned. With an RPC (`rpcUrl`,
 * else STELLAR_RPC_URL) the commitment is also checked against the contract's prepare_commitment.
 */
import { Keypair } from "@stellar/stellar-sdk";
import { channel as channelMethod } from "../client/channel.js";
import type { ChannelClientParameters, ChannelProgressEvent } from "../client/channel.js";
import { StellarMppConfigError } from "../errors.js";
import { Quay } from "../quay.js";

export type ChannelParameters = Omit<ChannelClientParameters, "commitmentKeypair"> & {
  readonly commitmentKey?: Keypair;
  /** 64 hex characters: the raw ed25519 seed (not an S… secret). */
  readonly commitmentSecret?: string;
};

export function channel(parameters: ChannelParameters): ReturnType<typeof channelMethod> {
  const { commitmentKey, commitmentSecret, rpcUrl, ...rest } = parameters;
  const key = commitmentKey ?? (commitmentSecret ? seedKeypair(commitmentSecret) : undefined);
  if (!key) throw new StellarMppConfigError("pass commitmentKey (or commitmentSecret)");
  const url = Quay.rpcUrl(rpcUrl);
  return channelMethod({ ...rest, commitmentKeypair: key, ...(url ? { rpcUrl: url } : {}) });
}

function seedKeypair(hex: string): Keypair {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new StellarMppConfigError("commitmentSecret must be 64 hex characters (a raw ed25519 seed)");
  return Keypair.fromRawEd25519Seed(Buffer.from(hex, "hex"));
}

export const stellar = { channel } as const;
export type { ChannelProgressEvent };
