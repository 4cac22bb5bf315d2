/** Summary statistics over samples (milliseconds, bytes, counts). Pure. */

export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export const Stats = {
  /** Nearest-rank percentile (q in 0..1) of unsorted samples; null when there are none. */
  percentile(samples: readonly number[], q: number): number | null {
    if (samples.length === 0) return null;
    const sorted = [...samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
    return sorted[rank - 1]!;
  },

  percentiles(samples: readonly number[]): Percentiles {
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!);
    return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
  },

  mean(samples: readonly number[]): number | null {
    if (samples.length === 0) return null;
    return samples.reduce((sum, v) => sum + v, 0) / samples.length;
  },

  /** How many times each key occurs, keys sorted. */
  tally(keys: readonly string[]): Record<string, number> {
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  },

  /** Rounds for the report: results are read by people, not re-analysed at full precision. */
  round(value: number | null, digits = 2): number | null {
    if (value === null || !Number.isFinite(value)) return null;
    const f = 10 ** digits;
    return Math.round(value * f) / f;
  },
};
