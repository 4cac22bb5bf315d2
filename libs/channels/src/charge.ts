import { and, eq, isNull, sql } from "drizzle-orm";
import { FeeBumpTransaction, rpc, StrKey, TransactionBuilder } from "@stellar/stellar-sdk";
import { z } from "zod";
import { isUniqueViolation, schema, type Db } from "@quay/db";
import { ChargeCheck, ChargeRequestSchema, Did, METHOD_NAME, Network, type ChargeRequest, type CheckedTransfer, type StellarReceipt } from "@quay/mpp";
import { FeeBudgetExceeded, Intake, isFinal, Records, worstCaseFee, type OutcomeWaiter, type Submission, type SettleQueue } from "@quay/settlement";
import { AuthEntry, type StellarNetwork } from "@quay/stellar";
import { ChannelsError, ChargeRefusal } from "./errors";

const { mppCharges } = schema;

/**
 * The relayer's side of a `stellar/charge`: mppx's relay contract (validate, broadcast). Quay
 * cannot check the challenge's HMAC (the MPP server holds the secret), so it checks the payment
 * strictly against `challenge.request` and the network, then claims the challenge id (per tenant)
 * and the client's transaction hash (globally) in one insert before anything is submitted.
 * Each becomes a submission (kind `mpp_charge`) for the settlement engine: a sponsored one is
 * rebuilt around a channel account of the pool and fee-bumped; an unsponsored one (the payer's own
 * signed transaction) is sent unmodified, as the spec requires. Only the worker submits.
 */

export interface ChargeNetwork {
  readonly network: StellarNetwork;
  /** Quay's own accounts on this network (fund, channel accounts): none may appear in a payment. */
  readonly quayAddresses: ReadonlySet<string>;
  /** Tokens Quay settles on this network. */
  readonly assets: readonly string[];
  /** The most one transaction may cost in fees: what a budgeted key reserves per sponsored charge. */
  readonly maxFeeStroops: bigint;
}

export interface ChargeDeps {
  readonly db: Db;
  readonly queue: SettleQueue;
  readonly waiter: OutcomeWaiter;
  /** The served networks, keyed by CAIP-2 id (refreshed by the caller, e.g. the api's VerifierContexts). */
  readonly networks: () => Promise<ReadonlyMap<string, ChargeNetwork>>;
  /** How long broadcast waits for the on-chain outcome. */
  readonly waitMs: number;
}

export interface Caller {
  readonly tenantId: string;
  readonly apiKeyId: string;
  /** The key has a fee budget: sponsored charges reserve their most from it before anything is recorded. */
  readonly budgeted: boolean;
  /** The key's networks: a request for another network is refused before anything else. */
  assertNetwork(network: string): void;
}

const challengeSchema = z.object({
  id: z.string().min(1).max(256),
  realm: z.string().max(512).optional(),
  method: z.string(),
  intent: z.string(),
  request: z.union([z.string().max(16_384), z.record(z.string(), z.unknown())]),
  expires: z.string().max(64).optional(),
  description: z.string().optional(),
  digest: z.string().optional(),
  opaque: z.unknown().optional(),
});

export const ChargeBodySchema = z.object({
  challenge: challengeSchema,
  payload: z.record(z.string(), z.unknown()),
  source: z.string().max(256).optional(),
});

export type ChargeBody = z.infer<typeof ChargeBodySchema>;

/** A body that is not the relay contract's shape at all: the api answers 400. */
export class MalformedChargeBody extends ChannelsError {
  override readonly name = "MalformedChargeBody";
}

/** A checked credential: pull (a transaction to settle) or push (a transaction the payer already landed). */
export type ValidatedCharge = PullCharge | PushCharge;

export interface PushCharge {
  readonly kind: "push";
  readonly network: ChargeNetwork;
  readonly challengeId: string;
  readonly request: ChargeRequest;
  /** Lowercase hex hash of the payer's confirmed transaction. */
  readonly hash: string;
}

export interface PullCharge {
  readonly kind: "pull";
  readonly network: ChargeNetwork;
  readonly challengeId: string;
  readonly request: ChargeRequest;
  readonly transfer: CheckedTransfer;
  /** The payer's address authorisation, when it signed one (an unsponsored payer may authorise as the source instead). */
  readonly authNonce: string | null;
  /** What the payer signed (`AuthEntry.termsHash`). */
  readonly termsHash: string | null;
  readonly signatureExpirationLedger: number | null;
}

export const Charges = {
  parseBody(body: unknown): ChargeBody {
    const parsed = ChargeBodySchema.safeParse(body);
    if (!parsed.success) throw new MalformedChargeBody(`body must be {challenge, payload, source}: ${parsed.error.issues[0]?.path.join(".") || "body"} is invalid`);
    return parsed.data;
  },

  /** The network a body names (for the key's network check), or undefined when it names none. */
  networkOf(body: ChargeBody): string | undefined {
    const request = decodeRequest(body.challenge.request);
    const network = request?.methodDetails?.network;
    return typeof network === "string" ? network.slice(0, 64) : undefined;
  },

  /** Every check, no state change. Throws ChargeRefusal, or RpcUnavailableError when the RPC is down. */
  async validate(deps: ChargeDeps, caller: Caller, body: ChargeBody): Promise<ValidatedCharge> {
    return check(deps, caller, body);
  },

  /**
   * Re-validates, claims, hands the payment to the settlement engine, and waits for its outcome.
   * A retry with the same Idempotency-Key and the same transaction answers the first call's outcome.
   */
  async broadcast(deps: ChargeDeps, caller: Caller, body: ChargeBody, idempotencyKey: string | undefined): Promise<StellarReceipt> {
    const transactionHash = hashOf(body);
    if (idempotencyKey && transactionHash) {
      const earlier = await claimOf(deps.db, caller.tenantId, body.challenge.id, transactionHash);
      const same =
        earlier?.tenantId === caller.tenantId &&
        earlier.idempotencyKey === idempotencyKey &&
        earlier.innerTxHash === transactionHash &&
        earlier.challengeId === body.challenge.id;
      if (earlier && same) {
        if (earlier.submissionId) return outcome(deps, earlier.submissionId, earlier.externalId);
        if (earlier.submittedTxHash) return submittedOutcome(deps, earlier.id, earlier.network, earlier.submittedTxHash, earlier.externalId);
      }
    }
    const checked = await check(deps, caller, body);
    const externalId = checked.request.externalId ?? null;
    const networkId = checked.network.network.id;
    const claimed = (innerTxHash: string, submittedTxHash: string | null) =>
      claim(deps.db, { tenantId: caller.tenantId, apiKeyId: caller.apiKeyId, network: networkId, challengeId: checked.challengeId, innerTxHash, submittedTxHash, idempotencyKey: idempotencyKey ?? null, externalId });

    if (checked.kind === "push") {
      const row = await claimed(checked.hash, checked.hash);
      return submittedOutcome(deps, row.id, networkId, row.submittedTxHash!, externalId);
    }
    // The claim comes first: two transactions under one challenge must never both be recorded. A
    // payment refused at recording (budget, nonce) gives its claim back.
    const row = await claimed(checked.transfer.transactionHash, null);
    const release = () => deps.db.delete(mppCharges).where(and(eq(mppCharges.id, row.id), isNull(mppCharges.submissionId)));
    const { sponsored } = checked.transfer;
    let acceptance;
    try {
      acceptance = await Intake.accept(
        deps.db,
        deps.queue,
        {
          network: checked.network.network.id,
          kind: "mpp_charge",
          // Unsponsored: the spec has the envelope submitted unmodified, so the payer pays its fee.
          mode: sponsored ? "rebuild" : "as_is",
          ...(checked.authNonce !== null ? { payer: checked.transfer.from, authNonce: checked.authNonce, termsHash: checked.termsHash } : {}),
          ...(sponsored ? {} : { envelopeHash: checked.transfer.envelope.hash().toString("hex") }),
          asset: checked.transfer.currency,
          payTo: checked.transfer.to,
          amount: checked.transfer.amount,
          clientTransaction: (sponsored ? checked.transfer.transaction : checked.transfer.envelope).toXDR(),
          signatureExpirationLedger: checked.signatureExpirationLedger,
          apiKeyId: caller.apiKeyId,
        },
        // Quay pays nothing for an unmodified envelope: nothing to reserve.
        caller.budgeted && sponsored ? { reserveStroops: worstCaseFee(checked.network.maxFeeStroops) } : {},
      );
    } catch (error) {
      if (!(error instanceof FeeBudgetExceeded)) throw error;
      await release();
      throw new ChargeRefusal("policy_denied", "fee_budget_exhausted", error.message);
    }
    if (acceptance.kind === "other_terms") {
      await release();
      throw new ChargeRefusal("already_used", "nonce_reused", "the payer's auth nonce names another payment at this relayer: sign a new one");
    }
    await deps.db.update(mppCharges).set({ submissionId: acceptance.submission.id }).where(eq(mppCharges.id, row.id));
    return outcome(deps, acceptance.submission.id, externalId);
  },
};

/**
 * Push (`signedHash`): the payer broadcast the transfer; Quay only finalizes. The transaction must
 * be confirmed, be exactly the challenge's transfer from the source DID, and the payer must have
 * signed "{challenge.id}:{hash}". The hash shares the replay key space with pull transactions.
 */
async function checkPush(deps: ChargeDeps, caller: Caller, network: ChargeNetwork, body: ChargeBody, request: ChargeRequest): Promise<PushCharge> {
  const { challenge, payload } = body;
  const net = network.network;
  if (request.methodDetails?.feePayer === true) throw new ChargeRefusal("invalid_payment", "push_when_sponsored", "a sponsored challenge takes pull credentials only");
  const expires = challenge.expires === undefined ? Number.NaN : Date.parse(challenge.expires);
  if (!Number.isFinite(expires)) throw new ChargeRefusal("invalid_payment", "missing_expires", "the challenge has no expiry");
  if (expires <= Date.now()) throw new ChargeRefusal("expired", "expired", "the challenge has expired");
  const did = Did.tryParse(body.source);
  if (!did || did.network !== request.methodDetails?.network) throw new ChargeRefusal("invalid_payment", "invalid_source", "credential source must be did:pkh:stellar:<network>:G…");
  if (typeof payload.hash !== "string" || !/^[0-9a-f]{64}$/i.test(payload.hash) || typeof payload.sourceSignature !== "string") {
    throw new ChargeRefusal("invalid_payment", "malformed_payload", "signedHash needs hash (64 hex) and sourceSignature (128 hex)");
  }
  const hash = payload.hash.toLowerCase();
  const signed = ChargeCheck.sourceSignature({ challengeId: challenge.id, hash, sourceSignature: payload.sourceSignature, from: did.address });
  if (!signed.ok) throw new ChargeRefusal(signed.code, signed.reason, signed.message);
  if (await claimOf(deps.db, caller.tenantId, challenge.id, hash)) throw new ChargeRefusal("already_used", "replay", "this challenge or transaction has already been used");

  const got = await net.getTransaction(hash);
  if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) {
    throw new ChargeRefusal("invalid_payment", "not_confirmed", got.status === rpc.Api.GetTransactionStatus.FAILED ? "the transaction failed on chain" : "the transaction must be confirmed before it is presented");
  }
  const envelope = TransactionBuilder.fromXDR(got.envelopeXdr.toXDR("base64"), net.passphrase);
  const transaction = envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope;
  const transfer = ChargeCheck.transfer(transaction, { currency: request.currency, from: did.address, to: request.recipient, amount: /^\d+$/.test(request.amount) ? BigInt(request.amount) : -1n });
  if (!transfer.ok) throw new ChargeRefusal(transfer.code, transfer.reason, transfer.message);
  return { kind: "push", network, challengeId: challenge.id, request, hash };
}

async function check(deps: ChargeDeps, caller: Caller, body: ChargeBody): Promise<ValidatedCharge> {
  const { challenge, payload } = body;
  if (challenge.method !== METHOD_NAME || challenge.intent !== "charge") {
    throw new ChargeRefusal("unsupported", "wrong_method", "this relayer settles stellar charge credentials only");
  }
  const request = decodeRequest(challenge.request);
  if (!request) throw new ChargeRefusal("invalid_payment", "malformed_request", "challenge.request is not a stellar charge request");
  const networkId = request.methodDetails?.network;
  if (networkId === undefined) throw new ChargeRefusal("invalid_payment", "wrong_network", "challenge.request names no network");
  caller.assertNetwork(networkId);
  const network = (await deps.networks()).get(networkId);
  if (!network) throw new ChargeRefusal("unsupported", "wrong_network", `this relayer does not serve ${networkId.slice(0, 64)}`);
  if (!network.assets.includes(request.currency)) {
    throw new ChargeRefusal("policy_denied", "wrong_currency", "this relayer does not settle that token on this network");
  }
  if (StrKey.isValidMed25519PublicKey(request.recipient)) {
    throw new ChargeRefusal("unsupported", "muxed_recipient", "the recipient is a muxed (M…) account: this relayer settles payments to G… and C… addresses only");
  }
  if (payload.type === "signedHash") return checkPush(deps, caller, network, body, request);
  if (payload.type !== "transaction" || typeof payload.transaction !== "string") {
    throw new ChargeRefusal("unsupported", "wrong_payload", "this relayer takes pull ({type: \"transaction\"}) and signed push ({type: \"signedHash\"}) credentials");
  }

  const net = network.network;
  const structure = ChargeCheck.structure({
    transaction: payload.transaction,
    request,
    source: body.source,
    expires: challenge.expires,
    networkPassphrase: net.passphrase,
    sponsorAddresses: [...network.quayAddresses],
    sponsors: true,
    latestLedger: await net.latestLedger(),
    ledgerCloseSeconds: await net.ledgerCloseSeconds(),
  });
  if (!structure.ok) throw new ChargeRefusal(structure.code, structure.reason, structure.message);
  const transfer = structure.value;
  if (transfer.sponsored && transfer.transaction.signatures.length > 0) {
    throw new ChargeRefusal("invalid_payment", "signed_envelope", "a sponsored transaction's envelope must be unsigned");
  }
  // Before simulating: a settled payment no longer simulates (its nonce is spent), and a replay must say so.
  if (await claimOf(deps.db, caller.tenantId, challenge.id, transfer.transactionHash)) {
    throw new ChargeRefusal("already_used", "replay", "this challenge or transaction has already been used");
  }

  const simulation = await net.simulate(transfer.transaction);
  if (rpc.Api.isSimulationError(simulation)) {
    throw new ChargeRefusal("simulation_failed", "simulation_failed", `simulation failed: ${simulation.error.split("\n", 1)[0]!.slice(0, 200)}`);
  }
  if (!rpc.Api.isSimulationSuccess(simulation) || rpc.Api.isSimulationRestore(simulation)) {
    throw new ChargeRefusal("simulation_failed", "simulation_failed", "the transfer needs archived entries restored first");
  }
  const events = ChargeCheck.simulation({ events: simulation.events, expected: transfer, sponsorAddresses: [...network.quayAddresses] });
  if (!events.ok) throw new ChargeRefusal(events.code, events.reason, events.message);

  // The payer's auth nonce is the payment's identity among submissions; an unsponsored payer may authorise as the source.
  const entry = (transfer.operation.auth ?? [])[0]!;
  const address = AuthEntry.addressCredentials(entry);
  return {
    kind: "pull",
    network,
    challengeId: challenge.id,
    request,
    transfer,
    authNonce: address?.nonce().toString() ?? null,
    termsHash: address ? AuthEntry.termsHash(entry) : null,
    signatureExpirationLedger: address?.signatureExpirationLedger() ?? null,
  };
}

async function outcome(deps: ChargeDeps, submissionId: string, externalId: string | null): Promise<StellarReceipt> {
  const payment: Submission = await deps.waiter.wait(submissionId, deps.waitMs);
  if (!isFinal(payment)) {
    throw new ChargeRefusal("temporarily_unavailable", "settlement_pending", "the settlement is still pending; retry with the same Idempotency-Key");
  }
  if (payment.status !== "succeeded" || !payment.txHash) {
    const simulation = payment.reason?.includes("simulation") ?? false;
    throw new ChargeRefusal(simulation ? "simulation_failed" : "broadcast_failed", payment.reason ?? "failed", "the payment could not be settled on chain");
  }
  if (!(await Records.claimDelivery(deps.db, payment.id))) throw alreadyDelivered(payment.txHash);
  return {
    method: METHOD_NAME,
    reference: payment.txHash,
    status: "success",
    timestamp: (payment.settledAt ?? payment.updatedAt).toISOString(),
    ...(externalId !== null ? { externalId } : {}),
  };
}

/**
 * Claims the challenge (per tenant) and the client's transaction hash (globally) in one insert;
 * already_used when either is taken. ON CONFLICT names one arbiter: the challenge's key is skipped
 * there, the transaction hash's raises its own unique violation, recognised by name.
 */
async function claim(db: Db, values: typeof mppCharges.$inferInsert): Promise<typeof mppCharges.$inferSelect> {
  const used = () => new ChargeRefusal("already_used", "replay", "this challenge or transaction has already been used");
  const rows = await db
    .insert(mppCharges)
    .values(values)
    .onConflictDoNothing({ target: [mppCharges.tenantId, mppCharges.challengeId] })
    .returning()
    .catch((error: unknown) => {
      if (isUniqueViolation(error, mppCharges, "mpp_charges_inner_tx")) throw used();
      throw error;
    });
  const [row] = rows;
  if (!row) throw used();
  return row;
}

/** The delivery rule (one receipt per payment): every call after the one that got the receipt. */
function alreadyDelivered(reference: string): ChargeRefusal {
  return new ChargeRefusal("already_used", "duplicate_settlement", `this payment settled (transaction ${reference}) and its receipt was given to an earlier call`);
}

/** The receipt of a push charge, from the ledger: given once (the charge row's delivery claim). */
async function submittedOutcome(deps: ChargeDeps, chargeId: string, networkId: string, txHash: string, externalId: string | null): Promise<StellarReceipt> {
  const network = (await deps.networks()).get(networkId);
  if (!network) throw new ChargeRefusal("unsupported", "wrong_network", "the charge's network is no longer served");
  const got = await network.network.getTransaction(txHash);
  if (got.status === rpc.Api.GetTransactionStatus.NOT_FOUND) {
    throw new ChargeRefusal("temporarily_unavailable", "settlement_pending", "the transaction is still pending; retry with the same Idempotency-Key");
  }
  if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) throw new ChargeRefusal("broadcast_failed", "transaction_failed", "the transaction failed on chain");
  const [delivered] = await deps.db
    .update(mppCharges)
    .set({ deliveredAt: sql`now()` })
    .where(and(eq(mppCharges.id, chargeId), isNull(mppCharges.deliveredAt)))
    .returning({ id: mppCharges.id });
  if (!delivered) throw alreadyDelivered(txHash);
  return {
    method: METHOD_NAME,
    reference: txHash,
    status: "success",
    timestamp: new Date(got.createdAt * 1000).toISOString(),
    ...(externalId !== null ? { externalId } : {}),
  };
}

async function claimOf(db: Db, tenantId: string, challengeId: string, innerTxHash: string) {
  const [byChallenge] = await db
    .select()
    .from(mppCharges)
    .where(and(eq(mppCharges.tenantId, tenantId), eq(mppCharges.challengeId, challengeId)));
  if (byChallenge) return byChallenge;
  const [byHash] = await db.select().from(mppCharges).where(eq(mppCharges.innerTxHash, innerTxHash));
  return byHash;
}

/** challenge.request as an mppx challenge carries it (b64url canonical JSON) or already decoded. */
function decodeRequest(raw: unknown): ChargeRequest | undefined {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
  }
  const parsed = ChargeRequestSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The hex hash of the client's transaction, when the payload carries a parseable one (for idempotent retries). */
function hashOf(body: ChargeBody): string | undefined {
  if (body.payload.type === "signedHash" && typeof body.payload.hash === "string") return body.payload.hash.toLowerCase();
  const tx = body.payload.transaction;
  const network = Charges.networkOf(body);
  if (typeof tx !== "string" || !Network.isId(network)) return undefined;
  try {
    const envelope = TransactionBuilder.fromXDR(tx, Network.passphrase(network));
    return (envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope).hash().toString("hex");
  } catch {
    return undefined;
  }
}
