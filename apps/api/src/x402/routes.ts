import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from "fastify";
import { Keypair } from "@stellar/stellar-sdk";
import type { Db } from "@quay/db";
import type { AuthenticatedKey } from "@quay/keys";
import { ApiKeys } from "@quay/keys";
import type { Metrics } from "@quay/metrics";
import {
  FeeBudgetExceeded,
  Intake,
  isFinal,
  Records,
  ReusableSimulation,
  worstCaseFee,
  type OutcomeWaiter,
  type Submission,
  type SettleQueue,
} from "@quay/settlement";
import { X402, type PaymentIdentity, type VerifierContext } from "@quay/x402";
import type { ServedNetwork, VerifierContexts } from "./context";

/** An x402 payment: a submission of kind `x402`, whose payer and terms are always set. */
type Payment = Submission;

export interface X402RouteDeps {
  readonly db: Db;
  readonly contexts: VerifierContexts;
  readonly served: readonly ServedNetwork[];
  readonly queue: SettleQueue;
  readonly waiter: OutcomeWaiter;
  readonly metrics: Metrics;
  /** How long /settle waits for the outcome before answering `settlement_pending`. */
  readonly settleWaitMs: number;
}

/** The x402 v2 SettleResponse body. `transaction` and `network` are always present: the 2.27 client requires them. */
export interface SettleResponseBody {
  readonly success: boolean;
  readonly errorReason?: string;
  readonly errorMessage?: string;
  readonly payer?: string;
  readonly transaction: string;
  readonly network: string;
  readonly amount?: string;
  readonly extra?: { readonly paymentId: string; readonly status: string };
}

interface VerifyResponseBody {
  readonly isValid: boolean;
  readonly invalidReason?: string;
  readonly invalidMessage?: string;
  readonly payer?: string;
}

export const SETTLEMENT_PENDING = "settlement_pending";
/** A key's fee budget cannot hold the payment: 429, as OZ Channels answers an exhausted fee limit. */
export const FEE_BUDGET_EXHAUSTED = "fee_budget_exhausted";
/** Seconds a caller is asked to wait after a 503 (the RPC, Postgres or Redis is down). */
export const RETRY_AFTER_SECONDS = 5;

const bodySchema = { type: "object" } as const;

/** An answer with a status other than 200. */
interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

/**
 * POST /verify, POST /settle and GET /supported, as `@x402/core`'s HTTPFacilitatorClient calls them.
 *
 * The delivery rule: a payment is answered `success: true` once, ever (`Records.claimDelivery`).
 * Both routes first look the body's payment identity (network, payer, auth nonce) up in what Quay
 * recorded: a payment Quay holds is never verified or settled a second time, and the same identity
 * with other terms is refused.
 */
export async function x402Routes(app: FastifyInstance, deps: X402RouteDeps): Promise<void> {
  app.get("/supported", { config: { apiKey: app.apiKeyPolicies.supported } }, async () => ({
    kinds: deps.served.map(({ config }) => ({
      x402Version: 2,
      scheme: "exact",
      network: config.id,
      extra: { areFeesSponsored: true },
    })),
    extensions: [],
    signers: Object.fromEntries(
      deps.served.map(({ config }) => [config.id, [Keypair.fromSecret(config.fundSecret).publicKey()]]),
    ),
  }));

  // A key is held to its networks only for networks Quay serves: any other (missing, unknown)
  // gets verify's own reason in a 200, as x402 clients expect, not a 403 without one.
  const assertServedNetwork = (request: { assertNetwork(network: string): void }, network: string) => {
    if (deps.served.some((s) => s.config.id === network)) request.assertNetwork(network);
  };

  app.post("/verify", { schema: { body: bodySchema }, config: { apiKey: app.apiKeyPolicies.x402 } }, async (request, reply) => {
    const network = claimedNetwork(request.body);
    assertServedNetwork(request, network);
    const answer = await verify(deps, request.body, network, request.apiKey);
    if ("status" in answer) return send(reply, answer);
    return answer;
  });

  app.post("/settle", { schema: { body: bodySchema }, config: { apiKey: app.apiKeyPolicies.x402 } }, async (request, reply) => {
    const network = claimedNetwork(request.body);
    assertServedNetwork(request, network);
    const answer = await settle(deps, request.body, network, request.apiKey, request.log);
    const body = "status" in answer ? answer.body : answer;
    deps.metrics.settleOutcomes.inc({
      network: deps.served.some((s) => s.config.id === network) ? network : "unknown",
      outcome: body.success ? "success" : (body.errorReason ?? "failed"),
    });
    if ("status" in answer) return send(reply, answer);
    return answer;
  });
}

function send<T>(reply: FastifyReply, answer: Answer<T>): FastifyReply {
  if (answer.status === 503) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
  return reply.status(answer.status).send(answer.body);
}

async function verify(
  deps: X402RouteDeps,
  body: unknown,
  network: string,
  key: AuthenticatedKey | null,
): Promise<VerifyResponseBody | Answer<VerifyResponseBody>> {
  const context = await deps.contexts.current();
  const known = await recorded(deps, context, body);
  if (known) {
    const { payment, identity } = known;
    return Intake.sameTerms(payment, identity)
      ? { isValid: false, invalidReason: X402.InvalidReason.duplicateSettlement, invalidMessage: heldMessage(payment), payer: identity.payer }
      : { isValid: false, invalidReason: X402.InvalidReason.nonceReused, invalidMessage: NONCE_REUSED_MESSAGE, payer: identity.payer };
  }
  const shortfall = await budgetShortfall(deps, context, key, network);
  if (shortfall) return { status: 429, body: { isValid: false, invalidReason: FEE_BUDGET_EXHAUSTED, invalidMessage: shortfall.message } };

  const outcome = await X402.verify(context, body);
  const response = X402.toVerifyResponse(outcome);
  return !outcome.isValid && outcome.retryable ? { status: 503, body: response } : response;
}

async function settle(
  deps: X402RouteDeps,
  body: unknown,
  network: string,
  key: AuthenticatedKey | null,
  log: FastifyBaseLogger,
): Promise<SettleResponseBody | Answer<SettleResponseBody>> {
  const context = await deps.contexts.current();
  // A payment Quay holds (settled ones no longer verify: their nonce is spent) is answered from
  // its record, never verified and settled again.
  const known = await recorded(deps, context, body);
  if (known) {
    return Intake.sameTerms(known.payment, known.identity) ? deliver(deps, known.payment, log) : nonceReused(known.identity, network);
  }

  const outcome = await X402.verify(context, body);
  if (!outcome.isValid) {
    const refusal: SettleResponseBody = {
      success: false,
      errorReason: outcome.invalidReason,
      errorMessage: outcome.invalidMessage,
      ...(outcome.payer ? { payer: outcome.payer } : {}),
      transaction: "",
      network,
    };
    return outcome.retryable ? { status: 503, body: refusal } : refusal;
  }

  const p = outcome.payment;
  const budgeted = key !== null && key.feeBudgetStroops !== null;
  let acceptance;
  try {
    acceptance = await Intake.accept(
      deps.db,
      deps.queue,
      {
        network: p.network,
        kind: "x402",
        payer: p.payer,
        authNonce: p.nonce,
        termsHash: p.termsHash,
        asset: p.asset,
        payTo: p.payTo,
        amount: p.amount,
        clientTransaction: p.transaction.toXDR(),
        signatureExpirationLedger: p.signatureExpirationLedger,
        ...ReusableSimulation.from(p.simulation),
        apiKeyId: key?.id ?? null,
      },
      budgeted ? { reserveStroops: worstCaseFee(context.networks.get(p.network)!.maxFeeStroops) } : {},
    );
  } catch (error) {
    if (!(error instanceof FeeBudgetExceeded)) throw error;
    return { status: 429, body: { success: false, errorReason: FEE_BUDGET_EXHAUSTED, errorMessage: error.message, payer: p.payer, transaction: "", network } };
  }
  switch (acceptance.kind) {
    case "other_terms":
      return nonceReused(p, network);
    case "held":
      return deliver(deps, acceptance.submission, log);
    case "recorded":
      if (acceptance.enqueueError) {
        log.warn({ err: acceptance.enqueueError, paymentId: acceptance.submission.id }, "payment recorded, its job not queued: the worker's sweep queues it");
      }
      return deliver(deps, acceptance.submission, log, { justQueued: acceptance.enqueueError === undefined });
  }
}

/** The payment the body names, if Quay recorded one under its identity; no RPC involved. */
async function recorded(
  deps: X402RouteDeps,
  context: VerifierContext,
  body: unknown,
): Promise<{ payment: Payment; identity: PaymentIdentity } | undefined> {
  const identity = X402.identify(context, body);
  if (!identity) return undefined;
  const payment = await Intake.find(deps.db, identity.network, identity.payer, identity.nonce);
  return payment ? { payment, identity } : undefined;
}

/**
 * The answer for a recorded payment, once final or when the wait runs out. A payment is recorded
 * by now, so nothing here answers 5xx: an outage while waiting answers `settlement_pending`.
 */
async function deliver(deps: X402RouteDeps, known: Payment, log: FastifyBaseLogger, options: { justQueued?: boolean } = {}): Promise<SettleResponseBody> {
  let payment = known;
  try {
    // A payment just queued cannot be final yet: the row in hand spares a read.
    payment = await deps.waiter.wait(known.id, deps.settleWaitMs, options.justQueued ? known : undefined);
    if (!isFinal(payment)) return await pending(deps, payment);
    if (payment.status !== "succeeded") {
      return { success: false, errorReason: payment.reason ?? "settle_exact_stellar_transaction_failed", ...outcomeFields(payment) };
    }
    if (await Records.claimDelivery(deps.db, payment.id)) return { success: true, ...outcomeFields(payment) };
    return {
      success: false,
      errorReason: X402.InvalidReason.duplicateSettlement,
      errorMessage: "this payment succeeded and was delivered to an earlier call: it buys one delivery",
      ...outcomeFields(payment),
    };
  } catch (error) {
    log.warn({ err: error, paymentId: known.id }, "waiting for a recorded payment failed: answering settlement_pending");
    return { success: false, errorReason: SETTLEMENT_PENDING, ...outcomeFields(payment), transaction: payment.txHash ?? payment.id, extra: { paymentId: payment.id, status: payment.status } };
  }
}

/**
 * Not final yet: the in-flight transaction's hash, or the payment's id while it has none. Either
 * way `transaction` is not empty, so @x402/core 2.27 asks once more with the same body, and that
 * call gets the delivery if the payment has landed by then.
 */
async function pending(deps: X402RouteDeps, payment: Payment): Promise<SettleResponseBody> {
  const attempt = await Records.latestAttempt(deps.db, payment.id).catch(() => undefined);
  return {
    success: false,
    errorReason: SETTLEMENT_PENDING,
    ...outcomeFields(payment),
    transaction: attempt?.txHash ?? payment.id,
    extra: { paymentId: payment.id, status: payment.status },
  };
}

function outcomeFields(payment: Payment) {
  return {
    ...(payment.payer !== null ? { payer: payment.payer } : {}),
    transaction: payment.txHash ?? "",
    network: payment.network,
    ...(payment.amount !== null ? { amount: payment.amount.toString() } : {}),
  };
}

const NONCE_REUSED_MESSAGE = "this payer's auth nonce names another payment at this facilitator (other asset, recipient or amount): sign a new one";

function nonceReused(identity: { payer: string }, network: string): SettleResponseBody {
  return { success: false, errorReason: X402.InvalidReason.nonceReused, errorMessage: NONCE_REUSED_MESSAGE, payer: identity.payer, transaction: "", network };
}

function heldMessage(payment: Payment): string {
  switch (payment.status) {
    case "succeeded":
      return `this payment has settled (transaction ${payment.txHash}): it buys one delivery`;
    case "failed":
      return `this payment failed to settle (${payment.reason ?? "failed"}): sign a new one`;
    default:
      return "this payment is being settled already";
  }
}

/** Whether a budgeted key cannot hold one more payment's fee reservation right now (the cached key may be stale). */
async function budgetShortfall(
  deps: X402RouteDeps,
  context: VerifierContext,
  key: AuthenticatedKey | null,
  network: string,
): Promise<FeeBudgetExceeded | undefined> {
  const net = context.networks.get(network);
  if (!key || key.feeBudgetStroops === null || !net) return undefined;
  const left = await ApiKeys.budgetLeftNow(deps.db, key.id);
  const needed = worstCaseFee(net.maxFeeStroops);
  return left !== null && left < needed ? new FeeBudgetExceeded(needed, left) : undefined;
}

/** The network the body names, for the answer's required `network` field, whatever else is wrong with it. */
function claimedNetwork(body: unknown): string {
  const requirements = (body as { paymentRequirements?: { network?: unknown } } | null)?.paymentRequirements;
  return typeof requirements?.network === "string" ? requirements.network.slice(0, 64) : "";
}
