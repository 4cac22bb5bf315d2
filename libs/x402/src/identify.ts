import { AuthEntry, strKeyOf } from "@quay/stellar";
import { RequestBody } from "./body";
import { Transfer } from "./transfer";
import type { VerifierContext } from "./verify";

/** What makes a payment this payment: the payer's auth (address, nonce) on a network, and its terms. */
export interface PaymentIdentity {
  readonly network: string;
  readonly payer: string;
  /** The int64 nonce of the payer's auth entry, as a decimal string. */
  readonly nonce: string;
  /** What the payer signed (`AuthEntry.termsHash`): one identity may come with other terms. */
  readonly termsHash: string;
  readonly asset: string;
  readonly payTo: string;
  readonly amount: bigint;
}

/**
 * Reads a payment's identity from a verify or settle body without judging it, no RPC involved:
 * /verify and /settle look it up before verifying, so a payment Quay already holds (settled, or
 * with its nonce spent) is answered from its record, and one (payer, nonce) never gets a second
 * payment. Undefined when the body is not a well-formed transfer with the payer's auth entry.
 */
export function identify(context: VerifierContext, body: unknown): PaymentIdentity | undefined {
  try {
    const { paymentPayload, paymentRequirements: requirements, amount } = RequestBody.parse(body);
    const net = context.networks.get(requirements.network);
    if (!net || paymentPayload.accepted.network !== requirements.network) return undefined;
    const transaction = Transfer.parse(RequestBody.transactionXdr(paymentPayload), net.network.passphrase);
    const call = Transfer.read(transaction, { asset: requirements.asset, payTo: requirements.payTo, amount, quayAddresses: new Set() });
    for (const entry of call.invokeOp.auth ?? []) {
      const credentials = AuthEntry.addressCredentials(entry);
      if (!credentials || strKeyOf(credentials.address()) !== call.from) continue;
      return {
        network: net.network.id,
        payer: call.from,
        nonce: credentials.nonce().toString(),
        termsHash: AuthEntry.termsHash(entry),
        asset: requirements.asset,
        payTo: call.to,
        amount: call.amount,
      };
    }
    return undefined;
  } catch {
    return undefined;
  }
}
