import { StrKey, type Operation, type Transaction, type xdr } from "@stellar/stellar-sdk";
import type { Metrics } from "@quay/metrics";
import { FALLBACK_LEDGER_CLOSE_SECONDS, RpcUnavailableError, type StellarNetwork } from "@quay/stellar";
import { Auth } from "./auth";
import { RequestBody } from "./body";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";
import { Simulation, type SimulationSuccess } from "./simulation";
import { Transfer } from "./transfer";

/** Base64 as every RPC decodes it: no whitespace, padding only at the end. */
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * x402 `exact` verify for Stellar: every check of @x402/stellar's facilitator, in its order and
 * with its reason strings, plus Quay's stricter ones (asset allow-list, no envelope signatures,
 * auth with time left to settle, none of Quay's accounts anywhere, the transfer as the only
 * contract event, the payer's single auth entry). One simulateTransaction per call; ledger facts
 * come from StellarNetwork's caches. Both /verify and /settle run it.
 */

const STELLAR_NETWORKS: ReadonlySet<string> = new Set(["stellar:pubnet", "stellar:testnet"]);

export interface NetworkVerifyContext {
  readonly network: StellarNetwork;
  /** The fund account and every channel account of this network: none may appear in a payment. */
  readonly quayAddresses: ReadonlySet<string>;
  /** Token contracts accepted on this network. */
  readonly assets: readonly string[];
  /** The largest client transaction fee accepted, in stroops. */
  readonly maxFeeStroops: bigint;
}

export interface VerifierContext {
  readonly metrics: Metrics;
  /** One entry per configured network, keyed by its CAIP-2 id (`stellar:testnet`). */
  readonly networks: ReadonlyMap<string, NetworkVerifyContext>;
}

export interface VerifiedPayment {
  readonly network: string;
  readonly payer: string;
  /** The payer's auth nonce (int64) as a decimal string: spent on chain by the settlement. */
  readonly nonce: string;
  /** What the payer signed (`AuthEntry.termsHash`). */
  readonly termsHash: string;
  readonly signatureExpirationLedger: number;
  readonly asset: string;
  readonly payTo: string;
  readonly amount: bigint;
  readonly transaction: Transaction;
  readonly invokeOp: Operation.InvokeHostFunction;
  readonly authEntries: readonly xdr.SorobanAuthorizationEntry[];
  readonly simulation: SimulationSuccess;
}

export type VerifyOutcome =
  | { readonly isValid: true; readonly payer: string; readonly payment: VerifiedPayment }
  | {
      readonly isValid: false;
      readonly invalidReason: InvalidReason;
      readonly invalidMessage: string;
      readonly payer?: string;
      /** True when the RPC was unavailable: the payment may be fine, ask again later. */
      readonly retryable: boolean;
      /** The unexpected error behind `unexpected_verify_error`, for the caller's log; never sent to clients. */
      readonly error?: Error;
    };

/** The x402 v2 VerifyResponse body. */
export interface VerifyResponseBody {
  readonly isValid: boolean;
  readonly invalidReason?: string;
  readonly invalidMessage?: string;
  readonly payer?: string;
}

async function verify(context: VerifierContext, body: unknown): Promise<VerifyOutcome> {
  // Only configured ids become label values: the network in a request is caller-controlled text.
  let networkLabel = "unknown";
  let payer: string | undefined;
  const outcome = await (async (): Promise<VerifyOutcome> => {
    try {
      const { paymentPayload, paymentRequirements: requirements, amount } = RequestBody.parse(body);
      if (paymentPayload.accepted.scheme !== "exact" || requirements.scheme !== "exact") {
        throw new Rejection(InvalidReason.unsupportedScheme, "only the exact scheme is supported");
      }
      if (requirements.network !== paymentPayload.accepted.network) {
        throw new Rejection(InvalidReason.networkMismatch, "paymentPayload.accepted.network differs from paymentRequirements.network");
      }
      if (!STELLAR_NETWORKS.has(requirements.network)) {
        throw new Rejection(InvalidReason.invalidNetwork, "the network is not a Stellar network (stellar:pubnet, stellar:testnet)");
      }
      const net = context.networks.get(requirements.network);
      if (!net) throw new Rejection(InvalidReason.unsupportedNetwork, `this facilitator does not serve ${requirements.network}`);
      networkLabel = net.network.id;
      if (!net.assets.includes(requirements.asset)) {
        throw new Rejection(InvalidReason.unsupportedAsset, `this facilitator does not settle asset ${requirements.asset} on ${net.network.id}`);
      }

      if (StrKey.isValidMed25519PublicKey(requirements.payTo)) {
        throw new Rejection(InvalidReason.unsupportedPayTo, "payTo is a muxed (M…) account: this facilitator settles payments to G… and C… addresses only");
      }

      const envelope = RequestBody.transactionXdr(paymentPayload);
      const transaction = Transfer.parse(envelope, net.network.passphrase);
      const call = Transfer.read(transaction, {
        asset: requirements.asset,
        payTo: requirements.payTo,
        amount,
        quayAddresses: net.quayAddresses,
      });
      payer = call.from;
      if (transaction.signatures.length > 0) {
        throw new Rejection(InvalidReason.hasEnvelopeSignatures, "the envelope must be unsigned: the facilitator rebuilds and signs it", payer);
      }
      const authEntries = call.invokeOp.auth ?? [];
      Auth.requireTimeToSettle(authEntries, await net.network.latestLedger(), payer);

      const ledgerSeconds = net.network.ledgerCloseSeconds(); // never rejects; overlaps the simulation
      const simulation = Simulation.requireSuccess(
        // The bytes just parsed need no second encoding, unless the RPC might read them otherwise.
        await net.network.simulate(CANONICAL_BASE64.test(envelope) ? envelope : transaction),
        payer,
      );
      Simulation.requireAffordable(simulation, net.maxFeeStroops);
      const expected = { asset: requirements.asset, from: call.from, to: requirements.payTo, amount };
      Simulation.requireOnlyTheTransfer(simulation.events, expected);
      Simulation.requireOwnWrites(simulation, expected);

      // Clients without a ledger-time source (the @x402/stellar client, when Horizon is out of reach)
      // assume 5 s ledgers; on a network slower than that, the measured time alone would refuse
      // their honest expirations. The bound allows whichever of the two gives more ledgers.
      const boundSeconds = Math.min(await ledgerSeconds, FALLBACK_LEDGER_CLOSE_SECONDS);
      const maxLedger = (await net.network.latestLedger()) + Math.ceil(requirements.maxTimeoutSeconds / boundSeconds);
      const payerAuth = Auth.requirePayerOnly(authEntries, { payer, quayAddresses: net.quayAddresses, maxLedger });

      return {
        isValid: true,
        payer,
        payment: {
          network: net.network.id,
          payer,
          nonce: payerAuth.nonce,
          termsHash: payerAuth.termsHash,
          signatureExpirationLedger: payerAuth.signatureExpirationLedger,
          asset: requirements.asset,
          payTo: requirements.payTo,
          amount,
          transaction,
          invokeOp: call.invokeOp,
          authEntries,
          simulation,
        },
      };
    } catch (error) {
      return invalidOutcome(error, payer);
    }
  })();
  context.metrics.verifyOutcomes.inc({ network: networkLabel, outcome: outcome.isValid ? "valid" : outcome.invalidReason });
  return outcome;
}

function invalidOutcome(error: unknown, payer: string | undefined): VerifyOutcome {
  if (error instanceof Rejection) {
    return {
      isValid: false,
      invalidReason: error.reason,
      invalidMessage: error.message,
      ...(error.payer !== undefined ? { payer: error.payer } : {}),
      retryable: false,
    };
  }
  const unavailable = error instanceof RpcUnavailableError;
  return {
    isValid: false,
    invalidReason: InvalidReason.unexpectedVerifyError,
    invalidMessage: unavailable ? "the Stellar RPC is unavailable; try again" : "verification failed unexpectedly",
    ...(payer !== undefined ? { payer } : {}),
    retryable: unavailable,
    error: error instanceof Error ? error : new Error(String(error)),
  };
}

function toVerifyResponse(outcome: VerifyOutcome): VerifyResponseBody {
  if (outcome.isValid) return { isValid: true, payer: outcome.payer };
  return {
    isValid: false,
    invalidReason: outcome.invalidReason,
    invalidMessage: outcome.invalidMessage,
    ...(outcome.payer !== undefined ? { payer: outcome.payer } : {}),
  };
}

export const Verify = { verify, toVerifyResponse };
