/**
 * What a sponsored transaction may cost: the rules settlement builds by and verify judges by, so a
 * payment verify accepts is one settlement can afford.
 */

/** The network's minimum inclusion fee per operation. */
export const MIN_INCLUSION_FEE = 100n;

/**
 * Added to simulation's minimum resource fee, in percent. None by default: stellar-rpc already pads
 * what it simulates (instructions ×1.04 + 50 000, transaction size ×1.1 + 500, refundable fee
 * ×1.15), and padding that again only locks more of the fund account's balance. A transaction that
 * still fails on drift is simulated afresh and tried once more.
 */
export const DEFAULT_RESOURCE_PAD_PERCENT = 0;

export const Fees = {
  /** The resource fee Quay declares for a simulated minimum. */
  padded(minResourceFee: bigint, padPercent = DEFAULT_RESOURCE_PAD_PERCENT): bigint {
    return minResourceFee + (minResourceFee * BigInt(Math.round(padPercent * 100))) / 10_000n;
  },

  /**
   * The highest bid per operation a fee bump may carry so that its total (bid × (ops + 1) +
   * resource fee) stays within the operator's cap; undefined when the resource fee alone breaks it.
   */
  bidCeiling(maxFeeStroops: bigint, resourceFee: bigint, innerOps: number): bigint | undefined {
    const room = maxFeeStroops - resourceFee;
    const ceiling = room / BigInt(innerOps + 1);
    return ceiling >= MIN_INCLUSION_FEE ? ceiling : undefined;
  },

  /**
   * The inclusion bid per operation of a fee bump around a transaction of `innerOps` operations,
   * for a target the network states per transaction (getFeeStats' `sorobanInclusionFee` is what
   * whole transactions paid for inclusion): the fee bump then pays about what a transaction pays.
   * Never below the network's minimum per operation.
   */
  bidPerOperation(inclusionPerTransaction: bigint, innerOps: number): bigint {
    const ops = BigInt(innerOps + 1);
    const bid = (inclusionPerTransaction + ops - 1n) / ops;
    return bid > MIN_INCLUSION_FEE ? bid : MIN_INCLUSION_FEE;
  },

  /** The least a one-operation payment's fee bump costs: its padded resource fee and the minimum bid on both operations. */
  leastCost(minResourceFee: bigint, padPercent = DEFAULT_RESOURCE_PAD_PERCENT): bigint {
    return Fees.padded(minResourceFee, padPercent) + MIN_INCLUSION_FEE * 2n;
  },
};
