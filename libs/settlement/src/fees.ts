import type { StellarNetwork } from "@quay/stellar";

/** The network's minimum inclusion fee per operation. */
export const MIN_INCLUSION_FEE = 100n;

/**
 * The inclusion fee to bid per operation: the 90th percentile of what Soroban transactions paid
 * in recent ledgers, never below the minimum. Cached briefly: fee stats move per ledger, not per
 * payment.
 */
export class FeeOracle {
  private cached: { value: bigint; until: number } | undefined;
  private inFlight: Promise<bigint> | undefined;

  constructor(
    private readonly network: StellarNetwork,
    private readonly ttlMs = 2_000,
  ) {}

  async bid(): Promise<bigint> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.value;
    this.inFlight ??= this.network
      .call("getFeeStats", () => this.network.rpc.getFeeStats())
      .then((stats) => {
        const p90 = BigInt(stats.sorobanInclusionFee.p90 || "0");
        const value = p90 > MIN_INCLUSION_FEE ? p90 : MIN_INCLUSION_FEE;
        this.cached = { value, until: Date.now() + this.ttlMs };
        return value;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}

/**
 * The highest bid per operation a fee bump may carry so that its total (bid × (ops + 1) +
 * resource fee) stays within the operator's cap; undefined when the resource fee alone breaks it.
 */
export function bidCeiling(maxFeeStroops: bigint, resourceFee: bigint, innerOps: number): bigint | undefined {
  const room = maxFeeStroops - resourceFee;
  const ceiling = room / BigInt(innerOps + 1);
  return ceiling >= MIN_INCLUSION_FEE ? ceiling : undefined;
}
