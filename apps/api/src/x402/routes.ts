import type { FastifyInstance } from "fastify";
import { Keypair } from "@stellar/stellar-sdk";
import type { Db } from "@quay/db";
import type { Metrics } from "@quay/metrics";
import { Intake, isFinal, Records, ReusableSimulation, type OutcomeWaiter, type Payment, type SettleQueue } from "@quay/settlement";
import { X402 } from "@quay/x402";
import type { ServedNetwork, VerifierContexts } from "./context";

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
}

export const SETTLEMENT_PENDING = "settlement_pending";

const bodySchema = { type: "object" } as const;

/** POST /verify, POST /settle and GET /supported, as `@x402/core`'s HTTPFacilitatorClient calls them. */
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

  app.post("/verify", { schema: { body: bodySchema }, config: { apiKey: app.apiKeyPolicies.x402 } }, async (request) => {
    assertServedNetwork(request, claimedNetwork(request.body));
    const outcome = await X402.verify(await deps.contexts.current(), request.body);
    if (!outcome.isValid && outcome.error) request.log.warn({ err: outcome.error }, "verify failed unexpectedly");
    return X402.toVerifyResponse(outcome);
  });

  app.post("/settle", { schema: { body: bodySchema }, config: { apiKey: app.apiKeyPolicies.x402 } }, async (request): Promise<SettleResponseBody> => {
    const network = claimedNetwork(request.body);
    assertServedNetwork(request, network);
    const answer = await settle(deps, request.body, network, request.apiKey?.id);
    deps.metrics.settleOutcomes.inc({
      network: deps.served.some((s) => s.config.id === network) ? network : "unknown",
      outcome: answer.success ? "success" : (answer.errorReason ?? "failed"),
    });
    return answer;
  });
}

async function settle(deps: X402RouteDeps, body: unknown, network: string, apiKeyId: string | undefined): Promise<SettleResponseBody> {
  const context = await deps.contexts.current();
  const outcome = await X402.verify(context, body);
  if (outcome.isValid) {
    const p = outcome.payment;
    const { payment, created } = await Intake.accept(deps.db, deps.queue, {
      network: p.network,
      payer: p.payer,
      authNonce: p.nonce,
      asset: p.asset,
      payTo: p.payTo,
      amount: p.amount,
      clientTransaction: p.transaction.toXDR(),
      signatureExpirationLedger: p.signatureExpirationLedger,
      ...ReusableSimulation.from(p.simulation),
      apiKeyId: apiKeyId ?? null,
    });
    return answerFor(deps, await deps.waiter.wait(payment.id, deps.settleWaitMs, created ? payment : undefined));
  }

  // A payment already settled no longer verifies (its nonce is spent on chain). If this body is a
  // payment Quay has recorded, with the same terms, the caller gets that payment's outcome.
  const identity = X402.identify(context, body);
  if (identity) {
    const known = await Intake.find(deps.db, identity.network, identity.payer, identity.nonce);
    if (known && sameTerms(known, identity)) return answerFor(deps, await deps.waiter.wait(known.id, deps.settleWaitMs));
  }
  return {
    success: false,
    errorReason: outcome.invalidReason,
    errorMessage: outcome.invalidMessage,
    ...(outcome.payer ? { payer: outcome.payer } : {}),
    transaction: "",
    network,
  };
}

function sameTerms(known: Payment, identity: { asset: string; payTo: string; amount: bigint }): boolean {
  return known.asset === identity.asset && known.payTo === identity.payTo && known.amount === identity.amount;
}

async function answerFor(deps: X402RouteDeps, payment: Payment): Promise<SettleResponseBody> {
  const common = { payer: payment.payer, network: payment.network, amount: payment.amount.toString() };
  if (!isFinal(payment)) {
    const attempt = await Records.latestAttempt(deps.db, payment.id);
    return { success: false, errorReason: SETTLEMENT_PENDING, transaction: attempt?.txHash ?? "", ...common };
  }
  if (payment.status === "succeeded") return { success: true, transaction: payment.txHash ?? "", ...common };
  return {
    success: false,
    errorReason: payment.reason ?? "settle_exact_stellar_transaction_failed",
    transaction: payment.txHash ?? "",
    ...common,
  };
}

/** The network the body names, for the answer's required `network` field, whatever else is wrong with it. */
function claimedNetwork(body: unknown): string {
  const requirements = (body as { paymentRequirements?: { network?: unknown } } | null)?.paymentRequirements;
  return typeof requirements?.network === "string" ? requirements.network.slice(0, 64) : "";
}
