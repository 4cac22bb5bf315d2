/**
 * Quay's own account of a level, from its /metrics: time per settlement stage and RPC calls by
 * method. Histograms are cumulative, so a level's figures are the difference of two scrapes.
 */

/** Sum (seconds) and count of one histogram series. */
export interface SumCount {
  readonly sum: number;
  readonly count: number;
}

/** Histogram series by a label's value: `stage` for stages, `process/method` for RPC calls. */
export type Snapshot = Readonly<Record<string, SumCount>>;

const STAGE = "quay_settle_stage_duration_seconds";
const RPC = "quay_rpc_call_duration_seconds";

/** Stage and RPC-call series of one Prometheus text exposition, keyed `stage:<stage>` and `rpc:<prefix>/<method>`. */
export function parseExposition(text: string, rpcPrefix: string): Record<string, SumCount> {
  const out: Record<string, { sum: number; count: number }> = {};
  for (const line of text.split("\n")) {
    const match = /^(\w+)_(sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const [, name, part, labels, value] = match as unknown as [string, string, "sum" | "count", string, string];
    const label = (key: string) => new RegExp(`${key}="([^"]*)"`).exec(labels)?.[1];
    const key = name === STAGE ? `stage:${label("stage")}` : name === RPC ? `rpc:${rpcPrefix}/${label("method")}` : undefined;
    if (!key) continue;
    const entry = (out[key] ??= { sum: 0, count: 0 });
    entry[part] += Number(value);
  }
  return out;
}

/** Scrapes each process's /metrics into one snapshot; a process that does not answer adds nothing. */
export async function scrape(targets: Readonly<Record<string, string>>): Promise<Snapshot> {
  const merged: Record<string, SumCount> = {};
  for (const [name, url] of Object.entries(targets)) {
    const text = await fetch(url, { signal: AbortSignal.timeout(5_000) })
      .then((r) => (r.ok ? r.text() : ""))
      .catch(() => "");
    Object.assign(merged, parseExposition(text, name));
  }
  return merged;
}

/** What happened between two snapshots. */
export function difference(before: Snapshot, after: Snapshot): Snapshot {
  const out: Record<string, SumCount> = {};
  for (const [key, value] of Object.entries(after)) {
    const was = before[key] ?? { sum: 0, count: 0 };
    const count = value.count - was.count;
    if (count > 0) out[key] = { sum: value.sum - was.sum, count };
  }
  return out;
}
