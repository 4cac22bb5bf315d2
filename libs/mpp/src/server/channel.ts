import { randomUUID } from "node:crypto";
import { Account, Address, authorizeInvocation, Contract, Keypair, nativeToScVal, rpc, scValToBigInt, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { Method } from "mppx";
import type { Receipt as MppxReceipt, Store } from "mppx";
import { Commitment } from "../commitment";
import type { CommitmentKey } from "../commitment";
import { ALL_ZEROS, DEFAULT_DECIMALS, DEFAULT_FEE, DEFAULT_RPC_URL, Network, STELLAR_TESTNET } from "../constants";
import type { NetworkId } from "../constants";
import { MppErrors, StellarMppConfigError, StellarMppError } from "../errors";
import { Methods } from "../methods";
import type { ChannelCredential, ChannelRequest } from "../methods";
import { Receipt } from "../receipt";
import { RelayerClient } from "../relay-client";
import type { RelayConfig } from "../relay-client";
import { Rpc } from "../rpc";
import { StoreKeys } from "../store-keys";
import { Units } from "../units";

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
  /** Check each voucher against the channel's on-chain deposit (default true). */
  readonly checkOnChainState?: boolean;
  /** The recipient (`to`) key: needed to accept `close` credentials (the contract requires `to`'s auth). */
  readonly closeSigner?: Keypair | string;
  readonly pollIntervalMs?: number;
  readonly pollTimeoutMs?: number;
}

export interface RelayChannelParameters extends CommonParameters {
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
      const cumulative = await backend.cumulative().catch(() => undefined);
      return {
        ...request,
        amount: Units.toBaseUnits(request.amount, decimals),
        methodDetails: {
          ...request.methodDetails,
          reference: randomUUID(),
          network,
          ...(cumulative !== undefined ? { cumulativeAmount: cumulative } : {}),
        },
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
  cumulative(): Promise<string | undefined>;
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

  async cumulative(): Promise<string> {
    const record = (await this.store.get(StoreKeys.channelCumulative(this.channel))) as CumulativeRecord | null;
    return record?.amount ?? "0";
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
      const deposited = await this.readI128("deposited");
      if (amount > deposited) throw new StellarMppError("insufficient_funds", "exceeds_deposit", "the voucher exceeds the channel's deposit");
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
    const signer = keypairOf(this.parameters.closeSigner);
    const account = await Rpc.call("getAccount", () => this.server.getAccount(signer.publicKey()));
    const tx = new TransactionBuilder(account, { fee: DEFAULT_FEE, networkPassphrase: this.passphrase })
      .addOperation(new Contract(this.channel).call("close", nativeToScVal(amount, { type: "i128" }), nativeToScVal(Buffer.from(signatureHex, "hex"), { type: "bytes" })))
      .setTimeout(180)
      .build();
    const sim = await Rpc.simulate(this.server, tx);
    const prepared = rpc.assembleTransaction(tx, sim).build();
    prepared.sign(signer);
    const hash = await Rpc.send(this.server, prepared);
    await Rpc.waitForSuccess(this.server, hash, {
      ...(this.parameters.pollIntervalMs !== undefined ? { intervalMs: this.parameters.pollIntervalMs } : {}),
      ...(this.parameters.pollTimeoutMs !== undefined ? { timeoutMs: this.parameters.pollTimeoutMs } : {}),
    });
    return hash;
  }

  private async readI128(fn: string): Promise<bigint> {
    const tx = new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: DEFAULT_FEE, networkPassphrase: this.passphrase })
      .addOperation(new Contract(this.channel).call(fn))
      .setTimeout(30)
      .build();
    const sim = await Rpc.simulate(this.server, tx);
    if (!sim.result) throw new StellarMppError("simulation_failed", "simulation_failed", `${fn}() returned nothing`);
    return scValToBigInt(sim.result.retval);
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

  async cumulative(): Promise<string | undefined> {
    const state = await this.client.channelState(this.parameters.channel);
    return typeof state.highestAmount === "string" && /^\d+$/.test(state.highestAmount) ? state.highestAmount : undefined;
  }

  async accept(credential: ChannelCredential): Promise<MppxReceipt.Receipt> {
    const { challenge, payload } = credential;
    await this.client.channelVoucher(this.parameters.channel, {
      amount: payload.amount,
      signature: payload.signature.toLowerCase(),
      challengeId: challenge.id,
      requested: challenge.request.amount,
    });
    if (payload.action === "voucher") return Receipt.from({ reference: voucherReference(credential), externalId: challenge.request.externalId });

    const recipientAuth = this.parameters.relay.recipientSigner ? await this.recipientAuth(BigInt(payload.amount), payload.signature) : undefined;
    const answer = await this.client.channelClose(this.parameters.channel, recipientAuth ? { recipientAuth } : {});
    const txHash = typeof answer.txHash === "string" ? answer.txHash : typeof answer.hash === "string" ? answer.hash : undefined;
    return Receipt.from({ reference: txHash ?? voucherReference(credential), externalId: challenge.request.externalId });
  }

  /** The recipient's signed auth entry for exactly close(amount, sig) on this channel, base64. */
  private async recipientAuth(amount: bigint, signatureHex: string): Promise<string> {
    const signer = keypairOf(this.parameters.relay.recipientSigner!);
    const server = Rpc.server(this.parameters.relay.rpcUrl ?? DEFAULT_RPC_URL[this.network]);
    const latest = (await Rpc.call("getLatestLedger", () => server.getLatestLedger())).sequence;
    const invocation = new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
        new xdr.InvokeContractArgs({
          contractAddress: Address.fromString(this.parameters.channel).toScAddress(),
          functionName: "close",
          args: [nativeToScVal(amount, { type: "i128" }), nativeToScVal(Buffer.from(signatureHex, "hex"), { type: "bytes" })],
        }),
      ),
      subInvocations: [],
    });
    const entry = await authorizeInvocation(signer, latest + (this.parameters.relay.closeAuthLedgers ?? 1000), invocation, signer.publicKey(), this.passphrase);
    return entry.toXDR("base64");
  }
}

function now(): string {
  return new Date().toISOString();
}
