import { xdr } from "@stellar/stellar-sdk";
import { strKeyOf } from "./addresses";
import { RequestBody } from "./body";
import { Transfer } from "./transfer";
import type { VerifierContext } from "./verify";

/** What makes a payment this payment: the payer's auth (address, nonce) on a network, and its terms. */
export interface PaymentIdentity {
  readonly network: string;
  readonly payer: string;
  /** The int64 nonce of the payer's auth entry, as a decimal string. */
  readonly nonce: string;
  readonly asset: string;
  readonly payTo: string;
  readonly amount: bigint;
}

/**
 * Reads a payment's identity from a settle body without judging it, no RPC involved. /settle uses
 * it when a body no longer verifies (typically because it was already settled: its nonce is spent)
 * to find the payment Quay recorded for it. Undefined when the body is not a well-formed transfer.
 */
export function identify(context: VerifierContext, body: unknown): PaymentIdentity | undefined {
  try {
    const { paymentPayload, paymentRequirements: requirements, amount } = RequestBody.parse(body);
    const net = context.networks.get(requirements.network);
    if (!net || paymentPayload.accepted.network !== requirements.network) return undefined;
    const transaction = Transfer.parse(RequestBody.transactionXdr(paymentPayload), net.network.passphrase);
    const call = Transfer.read(transaction, { asset: requirements.asset, payTo: requirements.payTo, amount, quayAddresses: new Set() });
    const payerEntry = (call.invokeOp.auth ?? []).find((entry) => {
      const credentials = entry.credentials();
      return (
        credentials.switch() === xdr.SorobanCredentialsType.sorobanCredentialsAddress() &&
        strKeyOf(credentials.address().address()) === call.from
      );
    });
    if (!payerEntry) return undefined;
    return {
      network: net.network.id,
      payer: call.from,
      nonce: payerEntry.credentials().address().nonce().toString(),
      asset: requirements.asset,
      payTo: call.to,
      amount: call.amount,
    };
  } catch {
    return undefined;
  }
}
