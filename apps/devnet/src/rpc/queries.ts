import type { EventRecord } from "../history";

/** getEvents filters, as the RPC takes them. */
export interface EventFilter {
  readonly type?: "contract" | "system" | "diagnostic";
  readonly contractIds?: readonly string[];
  readonly topics?: readonly (readonly string[])[];
}

/** Whether an event matches any of the filters (no filters match everything). */
export function matchesAny(event: EventRecord, filters: readonly EventFilter[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => matches(event, f));
}

function matches(event: EventRecord, filter: EventFilter): boolean {
  if (filter.type && filter.type !== event.type) return false;
  if (filter.contractIds && filter.contractIds.length > 0 && !filter.contractIds.includes(event.contractId)) return false;
  if (filter.topics && filter.topics.length > 0 && !filter.topics.some((t) => topicMatches(event.topics, t))) return false;
  return true;
}

/** Segments are base64 ScVals, "*" for exactly one topic, or a trailing "**" for any number of further topics. */
function topicMatches(topics: readonly string[], pattern: readonly string[]): boolean {
  const last = pattern[pattern.length - 1];
  const flexible = last === "**";
  const fixed = flexible ? pattern.slice(0, -1) : pattern;
  if (flexible ? topics.length < fixed.length : topics.length !== fixed.length) return false;
  return fixed.every((segment, i) => segment === "*" || segment === topics[i]);
}

/** Nearest-rank percentiles and mode of fees, as getFeeStats reports them (strings of stroops). */
export function feeDistribution(fees: readonly bigint[], ledgerCount: number): Record<string, string | number> {
  const sorted = [...fees].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pct = (p: number): string => {
    if (sorted.length === 0) return "0";
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    return (sorted[rank - 1] ?? 0n).toString();
  };
  let mode = 0n;
  let best = 0;
  const counts = new Map<bigint, number>();
  for (const fee of sorted) {
    const n = (counts.get(fee) ?? 0) + 1;
    counts.set(fee, n);
    if (n > best) {
      best = n;
      mode = fee;
    }
  }
  return {
    max: (sorted[sorted.length - 1] ?? 0n).toString(),
    min: (sorted[0] ?? 0n).toString(),
    mode: mode.toString(),
    p10: pct(10),
    p20: pct(20),
    p30: pct(30),
    p40: pct(40),
    p50: pct(50),
    p60: pct(60),
    p70: pct(70),
    p80: pct(80),
    p90: pct(90),
    p95: pct(95),
    p99: pct(99),
    transactionCount: sorted.length.toString(),
    ledgerCount,
  };
}
