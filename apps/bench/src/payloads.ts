import { Keypair } from "@stellar/stellar-sdk";
import { createEd25519Signer, ExactStellarScheme as ClientScheme } from "@x402/stellar";
import { friendbot } from "@quay/demo";

/** The devnet's USDC (the testnet SAC address). */
export const USDC_SAC = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
/**
 * The payer's auth entry expires `ceil(maxTimeoutSeconds / 5)` ledgers after it is signed (the
 * client cannot reach Horizon, so it assumes 5 s ledgers). 1800 s keeps a prebuilt payload alive for
 * 360 ledgers, which at 1 s ledgers covers building a level's payloads (minutes on a busy machine)
 * and running it. It bounds only the auth entry's validity, not how either facilitator settles.
 */
export const MAX_TIMEOUT_SECONDS = 1800;
/** Every payment's amount is this plus its sequence number, so each transfer on the ledger names its payment. */
const PRICE_BASE = 10_000n;
/** USDC each payer starts with: far more than it will pay. */
const PAYER_USDC = 1_000_000_000n;

export interface Requirements {
  readonly scheme: "exact";
  readonly network: "stellar:testnet";
  readonly asset: string;
  readonly amount: string;
  readonly payTo: string;
  readonly maxTimeoutSeconds: number;
  readonly extra: { readonly areFeesSponsored: true };
}

export interface PaymentBody {
  readonly x402Version: 2;
  readonly paymentPayload: { readonly x402Version: 2; readonly accepted: Requirements; readonly payload: { readonly transaction: string } };
  readonly paymentRequirements: Requirements;
}

/** One real payment, signed by a corpus payer and ready to POST. */
export interface PreparedPayment {
  readonly amount: bigint;
  readonly payer: string;
  readonly payTo: string;
  /** The client's transaction (base64 envelope). */
  readonly transaction: string;
  /** The JSON body, serialised before the load starts. */
  readonly json: string;
}

export class PayloadBuildFailed extends Error {
  override readonly name = "PayloadBuildFailed";
}

/**
 * Payer accounts the benchmark makes itself (friendbot funds them with XLM and USDC), and their
 * payments built by @x402/stellar's own client scheme against the devnet: a simulated SAC transfer
 * whose auth entry the payer signs. Call `allowClientHttpRpc()` first: the devnet speaks http.
 */
export class PayerCorpus {
  private next = 0;
  private sequence = 0n;

  private constructor(
    private readonly payers: readonly Keypair[],
    private readonly rpcUrl: string,
  ) {}

  static async create(devnet: { rpcUrl: string; friendbotUrl: string }, count: number): Promise<PayerCorpus> {
    const payers = Array.from({ length: count }, () => Keypair.random());
    await inBatches(payers, 4, (payer) => friendbot(devnet.friendbotUrl, payer.publicKey(), PAYER_USDC));
    return new PayerCorpus(payers, devnet.rpcUrl);
  }

  /** A payee with a USDC trustline (friendbot insists on at least 1 unit). */
  static async payee(devnet: { friendbotUrl: string }): Promise<string> {
    const payTo = Keypair.random().publicKey();
    await friendbot(devnet.friendbotUrl, payTo, 1n);
    return payTo;
  }

  /** `count` payments to `payTo`, each from the next payer in turn, each with its own amount. */
  async build(payTo: string, count: number, concurrency = 8): Promise<PreparedPayment[]> {
    const jobs = Array.from({ length: count }, () => {
      this.sequence += 1n;
      const payer = this.payers[this.next++ % this.payers.length]!;
      return { payer, amount: PRICE_BASE + this.sequence };
    });
    return inBatches(jobs, concurrency, ({ payer, amount }) => this.buildOne(payer, payTo, amount));
  }

  private async buildOne(payer: Keypair, payTo: string, amount: bigint): Promise<PreparedPayment> {
    const requirements: Requirements = {
      scheme: "exact",
      network: "stellar:testnet",
      asset: USDC_SAC,
      amount: amount.toString(),
      payTo,
      maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
      extra: { areFeesSponsored: true },
    };
    const client = new ClientScheme(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: this.rpcUrl });
    let transaction: string;
    try {
      const payload = await client.createPaymentPayload(2, requirements as unknown as Parameters<ClientScheme["createPaymentPayload"]>[1]);
      transaction = String(payload.payload.transaction);
    } catch (error) {
      throw new PayloadBuildFailed(`the x402 client could not build a payment: ${error instanceof Error ? error.message : String(error)}`);
    }
    const body: PaymentBody = {
      x402Version: 2,
      paymentPayload: { x402Version: 2, accepted: requirements, payload: { transaction } },
      paymentRequirements: requirements,
    };
    return { amount, payer: payer.publicKey(), payTo, transaction, json: JSON.stringify(body) };
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in input order. */
export async function inBatches<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let index = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (index < items.length) {
      const mine = index++;
      results[mine] = await work(items[mine]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
