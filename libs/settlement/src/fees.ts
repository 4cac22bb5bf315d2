import { MIN_INCLUSION_FEE, type StellarNetwork } from "@quay/stellar";

/**
 * How many of a submission's transactions may reach a ledger (each charged its fee): the first, and
 * one more after it failed on state that drifted since simulation.
 */
export const MAX_LANDINGS_PER_SUBMISSION = 2;

/** The most a submission may cost in fees, for a network whose one transaction costs at most `maxFeeStroops`: what a budget reserves. */
export function worstCaseFee(maxFeeStroops: bigint): bigint {
  return maxFeeStroops * BigInt(MAX_LANDINGS_PER_SUBMISSION);
}

/**
 * The inclusion fee a transaction should pay: the 90th percentile of what Soroban transactions paid
 * for inclusion in recent ledgers (stellar-rpc states it per transaction), never below the
 * minimum. The engine spreads it over the fee bump's operations (`Fees.bidPerOperation`). Cached
 * briefly: fee stats move per ledger, not per submission.
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
      .getFeeStats()
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
