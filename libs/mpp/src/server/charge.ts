import { randomUUID } from "node:crypto";
import { Account, Keypair, Operation, rpc, TransactionBuilder } from "@stellar/stellar-sdk";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { Method } from "mppx";
import type { Receipt as MppxReceipt, Store } from "mppx";
import { ChargeCheck } from "../charge-check.js";
import type { CheckFailure } from "../charge-check.js";
import { DEFAULT_DECIMALS, DEFAULT_MAX_FEE_BUMP_STROOPS, DEFAULT_POLL_TIMEOUT_MS, DEFAULT_RPC_URL, STELLAR_TESTNET, Network } from "../constants.js";
import type { NetworkId } from "../constants.js";
import { Did } from "../did.js";
import { MppErrors, StellarMppConfigError, StellarMppError } from "../errors.js";
import { Methods } from "../methods.js";
import type { ChargeCredential, ChargeRequest } from "../methods.js";
import { Receipt } from "../receipt.js";
import { RelayerClient, RelayWire } from "../relay-client.js";
import type { RelayConfig } from "../relay-client.js";
import { Rpc } from "../rpc.js";
import { StoreKeys } from "../store-keys.js";
import { Units } from "../units.js";

/**
 * `stellar/charge` on an MPP server. LOCAL mode settles itself (sponsored pull: rebuild around the
 * envelope signer, simulate, sign, optional fee bump, submit, poll; unsponsored pull: submit as
 * is; signedHash push: look the hash up and check the payer's signature), replay-protected through
 * the mppx Store under stellar-mpp-sdk's keys. RELAY mode hands validate/broadcast to Quay's relayer.
 */

interface CommonParameters {
  /** Who is paid: G… or C…. */
  readonly recipient: string;
  /** SEP-41 token contract (C…). */
  readonly currency: string;
  /** Route amounts are human ("0.01") and converted with these decimals; default 7. */
  readonly decimals?: number;
  /** CAIP-2 network; default stellar:testnet. */
  readonly network?: NetworkId;
}

export interface LocalChargeParameters extends CommonParameters {
  readonly relay?: undefined;
  /** Must be atomic (update()): all replay protection rests on it. */
  readonly store: Store.AtomicStore;
  readonly rpcUrl?: string;
  /** Sponsorship: the envelope signer is the source of rebuilt transactions; the fee-bump signer optionally pays. */
  readonly feePayer?: { readonly envelopeSigner: Keypair | string; readonly feeBumpSigner?: Keypair | string };
  readonly maxFeeBumpStroops?: number;
  readonly pollIntervalMs?: number;
  /**
   * How long the server waits for its transaction's outcome (default 30 s); its own transactions
   * (sponsored charges, closes) live that long. Keep it ≥ 15 s on a real network, which admits no
   * transaction that expires within about two ledgers.
   */
  readonly pollTimeoutMs?: number;
  readonly ledgerCloseSeconds?: number;
  /** Accept the legacy unsigned `hash` push (default false). */
  readonly allowUnsignedPush?: boolean;
}

export interface RelayChargeParameters extends CommonParameters {
  readonly relay: RelayConfig & {
    /** Advertise sponsorship (feePayer: true); Quay's relayer sponsors, so default true. */
    readonly sponsored?: boolean;
  };
}

export type ChargeServerParameters = LocalChargeParameters | RelayChargeParameters;

type ChargeRequestInput = ChargeRequest;
/** Route options may omit what the method is configured with. */
type ChargeDefaults = { currency: string; recipient: string };

export function charge(parameters: ChargeServerParameters) {
  const network = parameters.network ?? STELLAR_TESTNET;
  if (!Network.isId(network)) throw new StellarMppConfigError(`unknown network ${String(network)}`);
  const decimals = parameters.decimals ?? DEFAULT_DECIMALS;
  const relay = parameters.relay;
  const sponsored = relay ? relay.sponsored ?? true : parameters.feePayer !== undefined;
  const credentialTypes = sponsored ? ["transaction"] : parameters.relay === undefined && parameters.allowUnsignedPush ? ["transaction", "signedHash", "hash"] : ["transaction", "signedHash"];

  // The reference makes every challenge unique: its id is an HMAC of the request and the expiry,
  // so without it two 402s issued in the same millisecond would be one challenge, and the second
  // payer's credential would be refused as the first one's replay.
  const request = ({ request }: { request: ChargeRequestInput }): ChargeRequestInput => ({
    ...request,
    amount: Units.toBaseUnits(request.amount, decimals),
    methodDetails: { network, ...(sponsored ? { feePayer: true } : {}), credentialTypes, reference: randomUUID() },
  });
  const defaults: ChargeDefaults = { currency: parameters.currency, recipient: parameters.recipient };

  if (relay) {
    const client = new RelayerClient(relay);
    return Method.toServer<typeof Methods.charge, ChargeDefaults>(Methods.charge, {
      defaults,
      request,
      async validate({ credential }) {
        await guarded(() => client.chargeValidate(RelayWire.credentialBody(credential)));
        return {
          challenge: credential.challenge,
          credential,
          details: {},
          intent: "charge" as const,
          method: "stellar" as const,
          request: credential.challenge.request,
          ...(credential.source !== undefined ? { source: credential.source } : {}),
        };
      },
      async broadcast({ credential }) {
        return guarded(() => client.chargeBroadcast(RelayWire.credentialBody(credential)));
      },
    });
  }

  const local = new LocalCharge(parameters as LocalChargeParameters, network);
  return Method.toServer<typeof Methods.charge, ChargeDefaults>(Methods.charge, {
    defaults,
    request,
    async verify({ credential }) {
      return guarded(() => local.verify(credential));
    },
  });
}

/** Runs a hook; every refusal leaves as the mppx PaymentError that carries its code. */
async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw MppErrors.fromUnknown(error);
  }
}

function keypairOf(value: Keypair | string): Keypair {
  return typeof value === "string" ? Keypair.fromSecret(value) : value;
}

function refuse(failure: CheckFailure): never {
  throw new StellarMppError(failure.code, failure.reason, failure.message);
}

class LocalCharge {
  private readonly server: rpc.Server;
  private readonly passphrase: string;
  private readonly envelopeSigner: Keypair | undefined;
  private readonly feeBumpSigner: Keypair | undefined;
  private readonly sponsorAddresses: string[];
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly parameters: LocalChargeParameters,
    private readonly network: NetworkId,
  ) {
    if (!parameters.store || typeof parameters.store.update !== "function") {
      throw new StellarMppConfigError("an atomic store (with update()) is required: replay protection rests on it");
    }
    this.server = Rpc.server(parameters.rpcUrl ?? DEFAULT_RPC_URL[network]);
    this.passphrase = Network.passphrase(network);
    this.envelopeSigner = parameters.feePayer ? keypairOf(parameters.feePayer.envelopeSigner) : undefined;
    this.feeBumpSigner = parameters.feePayer?.feeBumpSigner ? keypairOf(parameters.feePayer.feeBumpSigner) : undefined;
    this.sponsorAddresses = [this.envelopeSigner, this.feeBumpSigner].filter((k): k is Keypair => k !== undefined).map((k) => k.publicKey());
  }

  private get store(): Store.AtomicStore {
    return this.parameters.store;
  }

  async verify(credential: ChargeCredential): Promise<MppxReceipt.Receipt> {
    const { challenge } = credential;
    // A failed attempt burns the challenge (as in the SDK): the client fetches a new one.
    const claimed = await this.store.update(StoreKeys.chargeChallenge(challenge.id), (current) =>
      current ? { op: "noop", result: false } : { op: "set", value: { state: "pending", claimedAt: now() }, result: true },
    );
    if (!claimed) throw new StellarMppError("already_used", "challenge_used", "challenge already used; replay rejected");

    const payload = credential.payload;
    switch (payload.type) {
      case "transaction":
        return this.pull(credential, payload.transaction);
      case "signedHash":
        return this.push(credential, payload.hash, payload.sourceSignature);
      case "hash":
        if (!this.parameters.allowUnsignedPush) throw new StellarMppError("unsupported", "unsigned_push", "unsigned hash credentials are not accepted; use signedHash");
        return this.push(credential, payload.hash, undefined);
    }
  }

  private async pull(credential: ChargeCredential, transactionXdr: string): Promise<MppxReceipt.Receipt> {
    const { challenge } = credential;
    const latestLedger = (await Rpc.call("getLatestLedger", () => this.server.getLatestLedger())).sequence;
    const checked = ChargeCheck.structure({
      transaction: transactionXdr,
      request: challenge.request,
      source: credential.source,
      expires: challenge.expires,
      networkPassphrase: this.passphrase,
      sponsorAddresses: this.sponsorAddresses,
      sponsors: this.envelopeSigner !== undefined,
      latestLedger,
      ...(this.parameters.ledgerCloseSeconds !== undefined ? { ledgerCloseSeconds: this.parameters.ledgerCloseSeconds } : {}),
    });
    if (!checked.ok) refuse(checked);
    const transfer = checked.value;

    if (transfer.sponsored && this.envelopeSigner) {
      const signer = this.envelopeSigner;
      return this.inTurn(async () => this.submit(credential, transfer, await this.sponsor(transfer.transaction, signer, transfer)));
    }
    const sim = await Rpc.simulate(this.server, transfer.transaction);
    const events = ChargeCheck.simulation({ events: sim.events, expected: transfer, sponsorAddresses: this.sponsorAddresses });
    if (!events.ok) refuse(events);
    return this.submit(credential, transfer, transfer.envelope); // the spec: an unsponsored transaction is submitted unmodified
  }

  /**
   * Runs sponsored charges one at a time: the network queues one transaction per source account, so
   * a second one built on the envelope signer's sequence while the first is pending would be
   * refused (TRY_AGAIN_LATER). This process's charges wait their turn instead.
   */
  private inTurn<T>(run: () => Promise<T>): Promise<T> {
    const result = this.turn.then(run, run);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private async submit(credential: ChargeCredential, transfer: { transactionHash: string }, toSubmit: Transaction | FeeBumpTransaction): Promise<MppxReceipt.Receipt> {
    const { challenge } = credential;
    const hashKey = StoreKeys.chargeHash(transfer.transactionHash);
    const hashClaimed = await this.store.update(hashKey, (current) =>
      current ? { op: "noop", result: false } : { op: "set", value: { state: "pending", claimedAt: now() }, result: true },
    );
    if (!hashClaimed) throw new StellarMppError("already_used", "transaction_used", "this transaction was already presented; replay rejected");

    const hash = await Rpc.send(this.server, toSubmit);
    await this.store.put(StoreKeys.chargeChallenge(challenge.id), { state: "pending", hash, claimedAt: now() });
    const maxTime = Rpc.maxTimeOf(toSubmit);
    await Rpc.waitForSuccess(this.server, hash, { ...this.pollOptions(), ...(maxTime !== undefined ? { maxTime } : {}) });
    await this.store.put(StoreKeys.chargeChallenge(challenge.id), { state: "settled", hash, settledAt: now() });
    await this.store.put(hashKey, { state: "used", usedAt: now() });
    return Receipt.from({ reference: hash, externalId: challenge.request.externalId });
  }

  /** Rebuilds the client's operation around the envelope signer, simulates (never trusting the client's resources), signs, maybe fee-bumps. */
  private async sponsor(clientTx: Transaction, signer: Keypair, expected: { currency: string; from: string; to: string; amount: bigint }) {
    const account = await Rpc.call("getAccount", () => this.server.getAccount(signer.publicKey()));
    const sequence = account.sequenceNumber();
    const op = clientTx.operations[0] as Operation.InvokeHostFunction;
    const maxFee = this.parameters.maxFeeBumpStroops ?? DEFAULT_MAX_FEE_BUMP_STROOPS;
    // The client's bid without its (simulated) resource fee: ours comes from our own simulation.
    const inclusionFee = Math.max(100, Math.min(Number(clientTx.fee) - resourceFeeOf(clientTx), maxFee));
    // Our transaction lives no longer than the wait for it, so the ledger says whether it landed
    // before the payer is answered: never "failed" for a transaction that could still land.
    const clientMaxTime = Number(clientTx.timeBounds?.maxTime ?? 0);
    const ownMaxTime = Math.floor(Date.now() / 1000) + Math.ceil((this.parameters.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS) / 1000);
    const timebounds = { minTime: Number(clientTx.timeBounds?.minTime ?? 0), maxTime: clientMaxTime > 0 ? Math.min(clientMaxTime, ownMaxTime) : ownMaxTime };
    const build = () =>
      new TransactionBuilder(new Account(signer.publicKey(), sequence), {
        fee: String(inclusionFee),
        networkPassphrase: this.passphrase,
        timebounds,
      })
        .addOperation(Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [] }))
        .build();
    const draft = build();
    const sim = await Rpc.simulate(this.server, draft);
    const events = ChargeCheck.simulation({ events: sim.events, expected, sponsorAddresses: this.sponsorAddresses });
    if (!events.ok) refuse(events);
    const tx = rpc.assembleTransaction(build(), sim).build();
    tx.sign(signer);
    if (!this.feeBumpSigner) return tx;
    const bump = TransactionBuilder.buildFeeBumpTransaction(this.feeBumpSigner, String(inclusionFee), tx, this.passphrase);
    bump.sign(this.feeBumpSigner);
    return bump;
  }

  private async push(credential: ChargeCredential, rawHash: string, sourceSignature: string | undefined): Promise<MppxReceipt.Receipt> {
    const { challenge } = credential;
    if (challenge.request.methodDetails?.feePayer) throw new StellarMppError("unsupported", "push_not_allowed", "push credentials are not accepted with feePayer=true");
    const network = challenge.request.methodDetails?.network;
    if (network !== this.network) throw new StellarMppError("invalid_payment", "wrong_network", "the challenge names another network");
    const did = Did.tryParse(credential.source);
    if (!did || did.network !== network) throw new StellarMppError("invalid_payment", "invalid_source", "credential source must be did:pkh:stellar:<network>:G…");
    const hash = rawHash.toLowerCase();
    const hashKey = StoreKeys.chargeHash(hash);
    const claimId = randomUUID();
    const claimed = await this.store.update(hashKey, (current) =>
      current ? { op: "noop", result: false } : { op: "set", value: { state: "pending", claimedAt: now(), claimId }, result: true },
    );
    if (!claimed) throw new StellarMppError("already_used", "transaction_used", "this transaction was already presented; replay rejected");
    try {
      if (sourceSignature !== undefined) {
        const proof = ChargeCheck.sourceSignature({ challengeId: challenge.id, hash, sourceSignature, from: did.address });
        if (!proof.ok) refuse(proof);
      }
      const got = await Rpc.call("getTransaction", () => this.server.getTransaction(hash));
      if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) {
        throw new StellarMppError("invalid_payment", "not_confirmed", `transaction ${got.status === "FAILED" ? "failed" : "is not confirmed"}; it must be confirmed before it is presented`);
      }
      const envelope = TransactionBuilder.fromXDR(got.envelopeXdr, this.passphrase);
      const inner = "innerTransaction" in envelope ? envelope.innerTransaction : envelope;
      const transfer = ChargeCheck.transfer(inner, {
        currency: challenge.request.currency,
        from: did.address,
        to: challenge.request.recipient,
        amount: BigInt(/^\d+$/.test(challenge.request.amount) ? challenge.request.amount : "-1"),
      });
      if (!transfer.ok) refuse(transfer);
    } catch (error) {
      // Release the hash only if this attempt still holds it, so the payer can present it under a new challenge.
      await this.store.update(hashKey, (current) =>
        (current as { claimId?: string } | null)?.claimId === claimId ? { op: "delete", result: undefined } : { op: "noop", result: undefined },
      );
      throw error;
    }
    await this.store.put(hashKey, { state: "used", usedAt: now() });
    await this.store.put(StoreKeys.chargeChallenge(challenge.id), { state: "used", usedAt: now() });
    return Receipt.from({ reference: hash, externalId: challenge.request.externalId });
  }

  private pollOptions() {
    return {
      ...(this.parameters.pollIntervalMs !== undefined ? { intervalMs: this.parameters.pollIntervalMs } : {}),
      ...(this.parameters.pollTimeoutMs !== undefined ? { timeoutMs: this.parameters.pollTimeoutMs } : {}),
    };
  }
}

function resourceFeeOf(tx: Transaction): number {
  const data = tx.toEnvelope().v1().tx().ext().value();
  return data ? Number(data.resourceFee().toString()) : 0;
}

function now(): string {
  return new Date().toISOString();
}
