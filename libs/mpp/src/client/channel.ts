import { Account, Contract, Keypair, nativeToScVal, TransactionBuilder } from "@stellar/stellar-sdk";
import { Credential, Method, Store, z } from "mppx";
import { Commitment } from "../commitment.js";
import { ALL_ZEROS, DEFAULT_FEE, Network } from "../constants.js";
import { StellarMppError } from "../errors.js";
import { Methods } from "../methods.js";
import { Rpc } from "../rpc.js";
import { StoreKeys } from "../store-keys.js";

/**
 * `stellar/channel` on an MPP client: signs cumulative commitments. The new cumulative is
 * max(what this client last signed, what the server reports) + the request's price, so a server
 * cannot reset the baseline; the channel must be pinned. The bytes are built offline and, when an
 * RPC is given, compared with the contract's own `prepare_commitment` before signing.
 */

/** What a channel client reports as it pays: the challenge seen, signing, the voucher signed. */
export type ChannelProgressEvent =
  | { readonly type: "challenge"; readonly channel: string; readonly amount: string }
  | { readonly type: "signing"; readonly channel: string; readonly cumulativeAmount: string }
  | { readonly type: "signed"; readonly channel: string; readonly cumulativeAmount: string; readonly action: "voucher" | "close" };

export interface ChannelClientParameters {
  readonly commitmentKeypair: Keypair;
  /**
   * The channel this client pays into (pinning); or several through `allowedChannels`. With
   * neither, the first channel a server names is pinned (trust on first use): a later server
   * naming another channel is refused.
   */
  readonly channel?: string;
  readonly allowedChannels?: readonly string[];
  readonly onProgress?: (event: ChannelProgressEvent) => void;
  /** Persists the highest signed cumulative per channel (default in memory). */
  readonly store?: Store.Store;
  /** When set, the commitment bytes are also read from the contract's prepare_commitment and must match. */
  readonly rpcUrl?: string;
}

export function channel(parameters: ChannelClientParameters) {
  const allowed = new Set([...(parameters.allowedChannels ?? []), ...(parameters.channel ? [parameters.channel] : [])]);
  const pinFirst = allowed.size === 0;
  const progress = parameters.onProgress ?? (() => undefined);
  const store = parameters.store ?? Store.memory();
  const keypair = parameters.commitmentKeypair;

  return Method.toClient(Methods.channel, {
    context: z.object({ action: z.optional(z.enum(["voucher", "close"])), cumulativeAmount: z.optional(z.string()) }),
    async createCredential({ challenge, context }) {
      const { request } = challenge;
      if (pinFirst && allowed.size === 0) allowed.add(request.channel);
      progress({ type: "challenge", channel: request.channel, amount: request.amount });
      if (!allowed.has(request.channel)) throw new StellarMppError("policy_denied", "channel_not_pinned", "the server asks for a channel this client does not pay into");
      const network = request.methodDetails?.network ?? "stellar:testnet";
      if (!Network.isId(network)) throw new StellarMppError("unsupported", "unknown_network", `unknown network ${network}`);
      const passphrase = Network.passphrase(network);
      if (!/^\d+$/.test(request.amount)) throw new StellarMppError("invalid_payment", "invalid_amount", "the challenge amount is not base units");

      const key = StoreKeys.clientCumulative(network, request.channel);
      const local = BigInt(((await store.get(key)) as { amount?: string } | null)?.amount ?? "0");
      const reported = request.methodDetails?.cumulativeAmount;
      const server = reported !== undefined && /^\d+$/.test(reported) ? BigInt(reported) : 0n;
      const cumulative = context?.cumulativeAmount !== undefined ? BigInt(context.cumulativeAmount) : (local > server ? local : server) + BigInt(request.amount);
      const input = { channel: request.channel, amount: cumulative, networkPassphrase: passphrase };
      progress({ type: "signing", channel: request.channel, cumulativeAmount: cumulative.toString() });

      if (parameters.rpcUrl) {
        const rpcServer = Rpc.server(parameters.rpcUrl);
        const tx = new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: DEFAULT_FEE, networkPassphrase: passphrase })
          .addOperation(new Contract(request.channel).call("prepare_commitment", nativeToScVal(cumulative, { type: "i128" })))
          .setTimeout(30)
          .build();
        const sim = await Rpc.simulate(rpcServer, tx);
        // A simulation is not authenticated: sign only what commits to this channel, amount and network.
        if (!sim.result || !Commitment.binds(sim.result.retval.bytes(), input)) {
          throw new StellarMppError("invalid_payment", "commitment_mismatch", "the contract's commitment does not match the expected one");
        }
      }
      const signature = Commitment.sign(keypair, input);
      await store.put(key, { amount: cumulative.toString() });
      const action = context?.action ?? "voucher";
      progress({ type: "signed", channel: request.channel, cumulativeAmount: cumulative.toString(), action });
      return Credential.serialize({ challenge, payload: { action, amount: cumulative.toString(), signature } });
    },
  });
}
