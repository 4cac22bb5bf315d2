/**
 * An x402 `exact` buyer on @stellar/stellar-sdk 17.2.0 (the dev alias @stellar/stellar-sdk-17), as
 * wallets on current SDKs pay: the transfer simulated with SDK 17's defaults (which ask for CAP-71
 * V2 auth), its entry signed with SDK 17's defaults (V2), simulated again and assembled, from the
 * null account like @x402/stellar's client. Its SDK objects stay here: only strings leave.
 */
import * as S17 from "@stellar/stellar-sdk-17";
import { x402Client } from "@x402/core/client";
import type { PaymentRequirements, SchemeNetworkClient } from "@x402/core/types";
import { wrapFetchWithPayment } from "@x402/fetch";

const NULL_ACCOUNT = "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF";

export interface TransferTerms {
  readonly asset: string;
  readonly payTo: string;
  readonly amount: string;
  readonly maxTimeoutSeconds?: number;
}

/** The base64 envelope an SDK-17 buyer sends for `terms`, with its auth entry's credential arm (for the test to see). */
export async function sdk17Payment(rpcUrl: string, secret: string, terms: TransferTerms): Promise<{ envelope: string; credentials: string }> {
  const server = new S17.rpc.Server(rpcUrl, { allowHttp: new URL(rpcUrl).protocol === "http:" });
  const buyer = S17.Keypair.fromSecret(secret);
  const { passphrase } = await server.getNetwork();
  const args = [S17.Address.fromString(buyer.publicKey()).toScVal(), S17.Address.fromString(terms.payTo).toScVal(), S17.nativeToScVal(BigInt(terms.amount), { type: "i128" })];
  const build = (auth?: S17.xdr.SorobanAuthorizationEntry[]) =>
    new S17.TransactionBuilder(new S17.Account(NULL_ACCOUNT, "0"), { fee: "100", networkPassphrase: passphrase })
      .addOperation(S17.Operation.invokeContractFunction({ contract: terms.asset, function: "transfer", args, ...(auth ? { auth } : {}) }))
      .setTimeout(300)
      .build();
  const recorded = await server.simulateTransaction(build());
  if (!S17.rpc.Api.isSimulationSuccess(recorded) || !recorded.result) throw new Error("SDK 17 recording simulation failed");
  const latest = await server.getLatestLedger();
  const validUntil = latest.sequence + Math.ceil((terms.maxTimeoutSeconds ?? 60) / 5);
  const auth = await Promise.all(recorded.result.auth.map((entry) => S17.authorizeEntry(entry, buyer, validUntil, passphrase)));
  const signed = build(auth);
  const enforced = await server.simulateTransaction(signed);
  if (!S17.rpc.Api.isSimulationSuccess(enforced)) throw new Error("SDK 17 enforcing simulation failed");
  return { envelope: S17.rpc.assembleTransaction(signed, enforced).build().toXDR(), credentials: auth[0]!.credentials.type };
}

/** `fetch` that pays x402 answers through @x402/fetch with the SDK-17 buyer as its Stellar `exact` scheme. */
export function sdk17Fetch(rpcUrl: string, secret: string, network: "stellar:testnet" | "stellar:pubnet"): typeof fetch {
  const scheme: SchemeNetworkClient = {
    scheme: "exact",
    async createPaymentPayload(x402Version: number, requirements: PaymentRequirements) {
      const { envelope } = await sdk17Payment(rpcUrl, secret, requirements);
      return { x402Version, payload: { transaction: envelope } };
    },
  };
  const client = new x402Client().register(network, scheme);
  client.setSpendControls(false);
  return wrapFetchWithPayment(globalThis.fetch, client);
}
