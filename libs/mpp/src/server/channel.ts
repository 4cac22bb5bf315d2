import { randomUUID } from "node:crypto";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { Contract, Keypair, nativeToScVal, rpc, TransactionBuilder } from "@stellar/stellar-sdk";
import { Method } from "mppx";
import type { Receipt as MppxReceipt, Store } from "mppx";
import { getChannelState } from "../channel-state.js";
import { CloseAuth } from "../close-auth.js";
import { Quay } from "../quay.js";
import type { QuayFeePayer } from "../quay.js";
import type { ChannelState } from "../channel-state.js";
import { Commitment } from "../commitment.js";
import type { CommitmentKey } from "../commitment.js";
import { DEFAULT_DECIMALS, DEFAULT_FEE, DEFAULT_MAX_FEE_BUMP_STROOPS, DEFAULT_POLL_TIMEOUT_MS, DEFAULT_RPC_URL, Network, STELLAR_TESTNET } from "../constants.js";
import type { NetworkId } from "../constants.js";
import { MppErrors, StellarMppConfigError, StellarMppError } from "../errors.js";
import { Methods } from "../methods.js";
import type { ChannelCredential, ChannelRequest } from "../methods.js";
import { Receipt } from "../receipt.js";
import { RelayerClient } from "../relay-client.js";
import type { RelayConfig } from "../relay-client.js";
import { Rpc } from "../rpc.js";
import { StoreKeys } from "../store-keys.js";
import { Units } from "../units.js";

/**
 * `stellar/channel` on an MPP server: one method instance per channel. LOCAL mode checks each
 * voucher offline (commitment bytes + ed25519), keeps the highest cumulative with its signature in
 * the Store atomically, and can close on chain with the recipient's key. RELAY mode records vouchers
 * with Quay's relayer and asks it to close.
 */

interface CommonParameters {
  /** The channel contract (C…). */
  readonly channel: string;
  readonly decimals?: number;
  readonly network?: NetworkId;
}

export interface LocalChannelParameters extends CommonParameters {
  readonly relay?: undefined;
  /** The channel's commitment key (G…, 64 hex or a Keypair): what vouchers must be signed with. */
  readonly commitmentKey: CommitmentKey;
  readonly store: Store.AtomicStore;
  readonly rpcUrl?: string;
  /**
   * Read the channel from the ledger for each voucher (default true): refused once a close is
   * effective, and above what a close could pay (deposited − withdrawn past what was withdrawn).
   */
  readonly checkOnChainState?: boolean;
  /** Called when a voucher finds a close started on chain (the funder's close_start): close before it is effective. */
  readonly onDisputeDetected?: (state: ChannelState) => void;
  /** The recipient (`to`) key: needed to accept `close` credentials (the contract requires `to`'s auth). */
  readonly closeSigner?: Keypair | string;
  readonly pollIntervalMs?: number;
  readonly pollTimeoutMs?: number;
}

export interface RelayChannelParameters extends CommonParameters {
  /** When given, the channel is registered with the relayer on first use if it is not yet. */
  readonly commitmentKey?: CommitmentKey;
  readonly relay: RelayConfig & {
    /** The recipient key: signs the `close(amount, sig)` auth entry the relayer submits with its own account. */
    readonly recipientSigner?: Keypair | string;
    /** RPC for the latest ledger (auth expiry) when closing. */
    readonly rpcUrl?: string;
    /** How long the close auth entry stays valid, in ledgers (default 1000). */
    readonly closeAuthLedgers?: number;
  };
}

export type ChannelServerParameters = LocalChannelParameters | RelayChannelParameters;

interface CumulativeRecord {
  amount: string;
  signature: string;
  settling?: boolean;
}

export function channel(parameters: ChannelServerParameters) {
  const network = parameters.network ?? STELLAR_TESTNET;
  if (!Network.isId(network)) throw new StellarMppConfigError(`unknown network ${String(network)}`);
  const decimals = parameters.decimals ?? DEFAULT_DECIMALS;
  const channelAddress = parameters.channel;
  const passphrase = Network.passphrase(network);
  const backend: ChannelBackend = parameters.relay
    ? new RelayChannel(parameters as RelayChannelParameters, network, passphrase)
    : new LocalChannel(parameters as LocalChannelParameters, network, passphrase);

  return Method.toServer<typeof Methods.channel, { channel: string }>(Methods.channel, {
    defaults: { channel: channelAddress },
    async request({ request }: { request: ChannelRequest }): Promise<ChannelRequest> {
      // Always present, as the SDK sends it: a client takes max(its own, this) + price, so a stale value costs nothing.
      const cumulativeAmount = await backend.cumulative().catch(() => backend.lastKnown());
      return {
        ...request,
        amount: Units.toBaseUnits(request.amount, decimals),
        methodDetails: { ...request.methodDetails, reference: randomUUID(), network, cumulativeAmount },
      };
    },
    async verify({ credential }) {
      try {
        if (credential.challenge.request.channel !== channelAddress) {
          throw new StellarMppError("invalid_payment", "wrong_channel", "the challenge names another channel");
        }
        if ((credential.challenge.request.methodDetails?.network ?? network) !== network) {
          throw new StellarMppError("invalid_payment", "wrong_network", "the challenge names another network");
        }
        if (!Units.isPositiveInteger(credential.payload.amount)) {
          throw new StellarMppError("invalid_payment", "invalid_amount", "the cumulative amount must be a positive integer");
        }
        return await backend.accept(credential);
      } catch (error) {
        throw MppErrors.fromUnknown(error);
      }
    },
  });
}

interface ChannelBackend {
  /** The highest cumulative accepted so far, for the challenge's methodDetails. */
  cumulative(): Promise<string>;
  /** The highest cumulative this server last heard of ("0" before any), when `cumulative()` cannot be read. */
  lastKnown(): string;
  accept(credential: ChannelCredential): Promise<MppxReceipt.Receipt>;
}

function voucherReference(credential: ChannelCredential): string {
  return credential.challenge.request.methodDetails?.reference ?? credential.challenge.id;
}

function keypairOf(value: Keypair | string): Keypair {
  return typeof value === "string" ? Keypair.fromSecret(value) : value;
}

class LocalChannel implements ChannelBackend {
  private readonly server: rpc.Server;
  private readonly commitmentKey: Keypair;

  constructor(
    private readonly parameters: LocalChannelParameters,
    private readonly network: NetworkId,
    private readonly passphrase: string,
  ) {
    if (!parameters.store || typeof parameters.store.update !== "function") {
      throw new StellarMppConfigError("an atomic store (with update()) is required for channel state");
    }
    this.commitmentKey = Commitment.keypairOf(parameters.commitmentKey);
    this.server = Rpc.server(parameters.rpcUrl ?? DEFAULT_RPC_URL[network]);
  }

  private get store(): Store.AtomicStore {
    return this.parameters.store;
  }
  private get channel(): string {
    return this.parameters.channel;
  }

  private known = "0";

  async cumulative(): Promise<string> {
    const record = (await this.store.get(StoreKeys.channelCumulative(this.channel))) as CumulativeRecord | null;
    this.known = record?.amount ?? "0";
    return this.known;
  }

  lastKnown(): string {
    return this.known;
  }

  async accept(credential: ChannelCredential): Promise<MppxReceipt.Receipt> {
    const { challenge, payload } = credential;
    if (await this.store.get(StoreKeys.channelClosed(this.channel))) throw new StellarMppError("invalid_payment", "channel_closed", "the channel has been closed");
    if (await this.store.get(StoreKeys.channelSettling(this.channel))) throw new StellarMppError("invalid_payment", "channel_settling", "the channel is being closed");
    const claimed = await this.store.update(StoreKeys.channelChallenge(challenge.id), (current) =>
      current ? { op: "noop", result: false } : { op: "set", value: { state: "pending", claimedAt: now() }, result: true },
    );
    if (!claimed) throw new StellarMppError("already_used", "challenge_used", "challenge already used; replay rejected");

    const amount = BigInt(payload.amount);
    if (!Units.isPositiveInteger(challenge.request.amount)) throw new StellarMppError("invalid_payment", "invalid_amount", "the challenge's price is not a positive integer");
    const requested = BigInt(challenge.request.amount);
    if (!Commitment.verify(this.commitmentKey, { channel: this.channel, amount, networkPassphrase: this.passphrase }, payload.signature)) {
      throw new StellarMppError("invalid_payment", "invalid_signature", "the voucher is not signed by the channel's commitment key");
    }
    if (this.parameters.checkOnChainState ?? true) {
      const state = await getChannelState({ channel: this.channel, network: this.network, server: this.server });
      if (state.closeEffectiveAtLedger !== null) this.parameters.onDisputeDetected?.(state);
      // Once a close is effective the funder can take everything back: a voucher is worth nothing.
      if (state.closeEffectiveAtLedger !== null && state.currentLedger >= state.closeEffectiveAtLedger) {
        throw new StellarMppError("invalid_payment", "channel_closed", "the channel's close is effective on chain");
      }
      // A close pays amount − withdrawn out of the balance: the bound is deposited − withdrawn, not the balance.
      if (amount - state.withdrawn > state.balance) throw new StellarMppError("insufficient_funds", "exceeds_deposit", "the voucher exceeds what the channel can pay");
    }

    const closing = payload.action === "close";
    const outcome = await this.store.update(StoreKeys.channelCumulative(this.channel), (current) => {
      const record = current as CumulativeRecord | null;
      if (record?.settling) return { op: "noop", result: "settling" as const };
      const previous = BigInt(record?.amount ?? "0");
      if (amount <= previous) return { op: "noop", result: "not_increasing" as const };
      if (amount < previous + requested) return { op: "noop", result: "below_price" as const };
      const value: CumulativeRecord = { amount: payload.amount, signature: payload.signature.toLowerCase(), ...(closing ? { settling: true } : {}) };
      return { op: "set", value, result: "accepted" as const };
    });
    if (outcome === "settling") throw new StellarMppError("invalid_payment", "channel_settling", "the channel is being closed");
    if (outcome === "not_increasing") throw new StellarMppError("invalid_payment", "cumulative_not_increasing", "the voucher's cumulative amount does not exceed the accepted one");
    if (outcome === "below_price") throw new StellarMppError("invalid_payment", "amount_below_price", "the voucher does not cover this request's price");

    if (!closing) {
      await this.store.put(StoreKeys.channelChallenge(challenge.id), { state: "used", usedAt: now() });
      return Receipt.from({ reference: voucherReference(credential), externalId: challenge.request.externalId });
    }
    await this.store.put(StoreKeys.channelSettling(this.channel), { settlingAmount: payload.amount, settledAt: now() });
    const txHash = await this.closeOnChain(amount, payload.signature);
    // A failed close leaves the settling marker: fail closed until an operator reconciles.
    await this.store.put(StoreKeys.channelClosed(this.channel), { closedAt: now(), txHash, amount: payload.amount });
    await this.store.delete(StoreKeys.channelSettling(this.channel));
    await this.store.put(StoreKeys.channelChallenge(challenge.id), { state: "used", usedAt: now() });
    return Receipt.from({ reference: txHash, externalId: challenge.request.externalId });
  }

  private async closeOnChain(amount: bigint, signatureHex: string): Promise<string> {
    if (!this.parameters.closeSigner) throw new StellarMppError("unsupported", "close_unavailable", "this server cannot close the channel (no recipient key)");
    return close({
      channel: this.channel,
      amount,
      signature: signatureHex,
      feePayer: { envelopeSigner: this.parameters.closeSigner },
      network: this.network,
      server: this.server,
      ...(this.parameters.pollIntervalMs !== undefined ? { pollIntervalMs: this.parameters.pollIntervalMs } : {}),
      ...(this.parameters.pollTimeoutMs !== undefined ? { pollTimeoutMs: this.parameters.pollTimeoutMs } : {}),
    });
  }


}

class RelayChannel implements ChannelBackend {
  private readonly client: RelayerClient;

  constructor(
    private readonly parameters: RelayChannelParameters,
    private readonly network: NetworkId,
    private readonly passphrase: string,
  ) {
    this.client = new RelayerClient(parameters.relay);
  }

  private known = 0n;

  private registered: Promise<void> | undefined;

  /** A channel the relayer does not know yet is registered with it (when this server has the commitment key). */
  private ensureRegistered(): Promise<void> {
    const key = this.parameters.commitmentKey;
    if (key === undefined) return Promise.resolve();
    this.registered ??= (async () => {
      try {
        await this.client.channelState(this.parameters.channel);
      } catch (error) {
        if (!(error instanceof StellarMppError) || error.reason !== "channel_not_found") throw error;
        const commitmentKey = Commitment.keypairOf(key).publicKey();
        await this.client.channelRegister({ address: this.parameters.channel, network: this.network, commitmentKey });
      }
    })().catch((error: unknown) => {
      this.registered = undefined;
      throw error;
    });
    return this.registered;
  }

  async cumulative(): Promise<string> {
    await this.ensureRegistered();
    const state = await this.client.channelState(this.parameters.channel);
    if (typeof state.highestAmount === "string" && /^\d+$/.test(state.highestAmount)) this.heard(state.highestAmount);
    return this.lastKnown();
  }

  lastKnown(): string {
    return this.known.toString();
  }

  private heard(cumulative: string): void {
    const value = BigInt(cumulative);
    if (value > this.known) this.known = value;
  }

  async accept(credential: ChannelCredential): Promise<MppxReceipt.Receipt> {
    const { challenge, payload } = credential;
    await this.ensureRegistered();
    const recorded = await this.client.channelVoucher(this.parameters.channel, {
      amount: payload.amount,
      signature: payload.signature.toLowerCase(),
      challengeId: challenge.id,
      requested: challenge.request.amount,
    });
    this.heard(recorded.cumulative);
    if (payload.action === "voucher") return Receipt.from({ reference: voucherReference(credential), externalId: challenge.request.externalId });

    const recipientAuth = this.parameters.relay.recipientSigner ? await this.recipientAuth(BigInt(payload.amount), payload.signature) : undefined;
    // The relayer answers once the close transaction is final (a pending close is an error with reason close_pending).
    const answer = await this.client.channelClose(this.parameters.channel, recipientAuth ? { recipientAuth } : {});
    const txHash = typeof answer.txHash === "string" && /^[0-9a-f]{64}$/.test(answer.txHash) ? answer.txHash : undefined;
    if (!txHash) throw new StellarMppError("unknown", "relayer_bad_answer", "the relayer's close answer names no close transaction");
    return Receipt.from({ reference: txHash, externalId: challenge.request.externalId });
  }

  /** The recipient's signed auth entry for exactly close(amount, sig) on this channel, base64. */
  private async recipientAuth(amount: bigint, signatureHex: string): Promise<string> {
    const server = Rpc.server(this.parameters.relay.rpcUrl ?? DEFAULT_RPC_URL[this.network]);
    return recipientCloseAuth(server, this.passphrase, {
      signer: keypairOf(this.parameters.relay.recipientSigner!),
      channel: this.parameters.channel,
      amount,
      signatureHex,
      ledgers: this.parameters.relay.closeAuthLedgers ?? 1000,
    });
  }

}

function now(): string {
  return new Date().toISOString();
}

export interface CloseParameters {
  /** Through Quay: it closes with the highest voucher it holds, signed for by `recipientSigner` unless it holds the recipient's key. */
  readonly recipientSigner?: Keypair | string;
  readonly channel: string;
  /** The cumulative amount to close with (base units). */
  readonly amount: bigint;
  /** The commitment signature over `amount`: hex or bytes. */
  readonly signature: string | Uint8Array;
  /**
   * Local: the envelope signer must be the channel's recipient (the contract requires its auth); a
   * fee-bump signer may pay. Or Quay (its URL or `{ url, apiKey }`): Quay submits and pays.
   */
  readonly feePayer: { readonly envelopeSigner: Keypair | string; readonly feeBumpSigner?: Keypair | string } | QuayFeePayer;
  readonly network?: NetworkId;
  readonly rpcUrl?: string;
  readonly server?: rpc.Server;
  readonly maxFeeBumpStroops?: number;
  readonly pollIntervalMs?: number;
  /**
   * How long the server waits for its transaction's outcome (default 30 s); its own transactions
   * (sponsored charges, closes) live that long. Keep it ≥ 15 s on a real network, which admits no
   * transaction that expires within about two ledgers.
   */
  readonly pollTimeoutMs?: number;
}

/** Closes the channel on chain with a commitment, as the recipient: answers the close transaction's hash once it succeeded. */
export async function close(parameters: CloseParameters): Promise<string> {
  const network = parameters.network ?? STELLAR_TESTNET;
  if (!Network.isId(network)) throw new StellarMppConfigError(`unknown network ${String(network)}`);
  const passphrase = Network.passphrase(network);
  const server = parameters.server ?? Rpc.server(parameters.rpcUrl ?? DEFAULT_RPC_URL[network]);
  const signature = typeof parameters.signature === "string" ? Buffer.from(parameters.signature, "hex") : Buffer.from(parameters.signature);
  if (signature.length !== 64) throw new StellarMppConfigError("signature must be 64 bytes (128 hex characters)");
  const feePayer = parameters.feePayer;
  if (Quay.isFeePayer(feePayer)) {
    const client = new RelayerClient(Quay.relay(feePayer)!);
    const recipientAuth = parameters.recipientSigner
      ? await recipientCloseAuth(server, passphrase, { signer: keypairOf(parameters.recipientSigner), channel: parameters.channel, amount: parameters.amount, signatureHex: signature.toString("hex"), ledgers: 1000 })
      : undefined;
    const answer = await client.channelClose(parameters.channel, recipientAuth ? { recipientAuth } : {});
    if (typeof answer.txHash !== "string" || !/^[0-9a-f]{64}$/.test(answer.txHash)) throw new StellarMppError("unknown", "relayer_bad_answer", "the relayer's close answer names no close transaction");
    return answer.txHash;
  }
  const signer = keypairOf(feePayer.envelopeSigner);
  const account = await Rpc.call("getAccount", () => server.getAccount(signer.publicKey()));
  const tx = new TransactionBuilder(account, { fee: DEFAULT_FEE, networkPassphrase: passphrase })
    .addOperation(new Contract(parameters.channel).call("close", nativeToScVal(parameters.amount, { type: "i128" }), nativeToScVal(signature, { type: "bytes" })))
    // It lives no longer than the wait for it, so the ledger decides the answer.
    .setTimeout(Math.ceil((parameters.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS) / 1000))
    .build();
  const sim = await Rpc.simulate(server, tx);
  const prepared = rpc.assembleTransaction(tx, sim).build();
  prepared.sign(signer);
  let envelope: Transaction | FeeBumpTransaction = prepared;
  if (feePayer.feeBumpSigner) {
    const bumper = keypairOf(feePayer.feeBumpSigner);
    const fee = Math.min(Number(prepared.fee) * 10, parameters.maxFeeBumpStroops ?? DEFAULT_MAX_FEE_BUMP_STROOPS);
    envelope = TransactionBuilder.buildFeeBumpTransaction(bumper, String(Math.max(fee, 100)), prepared, passphrase);
    envelope.sign(bumper);
  }
  const hash = await Rpc.send(server, envelope);
  const maxTime = Rpc.maxTimeOf(envelope);
  await Rpc.waitForSuccess(server, hash, {
    ...(parameters.pollIntervalMs !== undefined ? { intervalMs: parameters.pollIntervalMs } : {}),
    ...(parameters.pollTimeoutMs !== undefined ? { timeoutMs: parameters.pollTimeoutMs } : {}),
    ...(maxTime !== undefined ? { maxTime } : {}),
  });
  return hash;
}

/** The recipient's signed authorisation of close(amount, sig), base64, valid for `ledgers` from the latest. */
async function recipientCloseAuth(server: rpc.Server, networkPassphrase: string, input: { signer: Keypair; channel: string; amount: bigint; signatureHex: string; ledgers: number }): Promise<string> {
  const latest = (await Rpc.call("getLatestLedger", () => server.getLatestLedger())).sequence;
  const entry = await CloseAuth.sign({ ...input, validUntilLedgerSeq: latest + input.ledgers, networkPassphrase });
  return entry.toXDR("base64");
}
