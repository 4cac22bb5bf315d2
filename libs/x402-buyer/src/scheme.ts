import { Networks, rpc } from "@stellar/stellar-sdk";
import type { PaymentPayloadResult, PaymentRequirements, SchemeNetworkClient } from "@x402/core/types";
import { SmartAccountPayment } from "./payment";
import type { AccountSigner } from "./signers";

/**
 * An x402 client scheme (`exact` on `stellar:*`) that pays from a contract account: register it
 * with @x402/core's client (or @x402/fetch) where @x402/stellar's `ExactStellarScheme` would go.
 * Its expiration rule is that client's: the latest ledger plus `maxTimeoutSeconds` at
 * `ledgerSeconds` a ledger (default 5, @x402/stellar's fallback estimate).
 */
export class SmartAccountExactScheme implements SchemeNetworkClient {
  readonly scheme = "exact";

  constructor(
    private readonly options: {
      readonly account: string;
      readonly signer: AccountSigner;
      /** RPC per network (CAIP-2 id, e.g. "stellar:testnet"). */
      readonly rpcUrls: Readonly<Record<string, string>>;
      readonly allowHttp?: boolean;
      readonly ledgerSeconds?: number;
    },
  ) {}

  async createPaymentPayload(x402Version: number, requirements: PaymentRequirements): Promise<PaymentPayloadResult> {
    const passphrase = NETWORK_PASSPHRASES[requirements.network];
    const rpcUrl = this.options.rpcUrls[requirements.network];
    if (!passphrase || !rpcUrl) throw new Error(`no Stellar RPC configured for ${requirements.network}`);
    if (requirements.extra?.["areFeesSponsored"] !== true) throw new Error("the exact scheme on Stellar needs areFeesSponsored: true");
    const server = new rpc.Server(rpcUrl, { allowHttp: this.options.allowHttp ?? false });
    const latest = (await server.getLatestLedger()).sequence;
    const validUntilLedger = latest + Math.ceil(requirements.maxTimeoutSeconds / (this.options.ledgerSeconds ?? 5));
    const payment = await SmartAccountPayment.build({
      rpcUrl,
      networkPassphrase: passphrase,
      allowHttp: this.options.allowHttp ?? false,
      account: this.options.account,
      asset: requirements.asset,
      payTo: requirements.payTo,
      amount: BigInt(requirements.amount),
      validUntilLedger,
      sign: this.options.signer,
    });
    return { x402Version, payload: { transaction: payment.transaction } };
  }
}

const NETWORK_PASSPHRASES: Readonly<Record<string, string>> = {
  "stellar:testnet": Networks.TESTNET,
  "stellar:pubnet": Networks.PUBLIC,
};
