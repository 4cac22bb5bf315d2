import type { BenchResult, ConfigurationResult, FacilitatorName } from "./results";
import { failureRate } from "./summarize";

/**
 * The results as one SVG: for every configuration (pool size across, ledger time down) panels of
 * settled/s, p99 latency and failure rate against offered load, Quay and the peer as two lines,
 * the pool's limit (N per ledger) and the p99 target (2 ledgers) as dashed guides. Hand-written
 * SVG: no charting dependency. Pure.
 */

const PANEL_W = 300;
const PANEL_H = 190;
const PAD = { left: 52, right: 14, top: 30, bottom: 38 };
const HEADER = 58;
const ROWS_PER_CONFIG = 3;
const COLORS: Record<FacilitatorName, string> = { quay: "#1f6fb4", peer: "#e07b10" };
const LABELS: Record<FacilitatorName, string> = { quay: "Quay", peer: "peer (x402 reference facilitator)" };

interface Series {
  readonly facilitator: FacilitatorName;
  readonly points: readonly { x: number; y: number }[];
}

export function renderChart(result: BenchResult): string {
  const configs = result.configurations;
  const pools = [...new Set(configs.map((c) => c.poolSize))].sort((a, b) => a - b);
  const ledgers = [...new Set(configs.map((c) => c.ledgerMs))].sort((a, b) => b - a);
  const width = Math.max(760, Math.max(1, pools.length) * PANEL_W + 20);
  const height = HEADER + Math.max(1, ledgers.length) * ROWS_PER_CONFIG * PANEL_H + 10;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Settlement on the devnet: Quay vs the x402 reference facilitator (profile ${escape(result.profile)})</text>`,
    `<text x="10" y="38" fill="#555">${escape(machineLine(result))}</text>`,
  );
  let legendX = 10;
  for (const f of ["quay", "peer"] as const) {
    parts.push(`<line x1="${legendX}" y1="50" x2="${legendX + 22}" y2="50" stroke="${COLORS[f]}" stroke-width="2.5"/>`);
    parts.push(`<text x="${legendX + 27}" y="54">${LABELS[f]}</text>`);
    legendX += 40 + LABELS[f].length * 6;
  }
  parts.push(`<line x1="${legendX}" y1="50" x2="${legendX + 22}" y2="50" stroke="#888" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${legendX + 27}" y="54">limit N/ledger · p99 target 2 ledgers</text>`);

  ledgers.forEach((ledgerMs, row) => {
    pools.forEach((pool, col) => {
      const config = configs.find((c) => c.ledgerMs === ledgerMs && c.poolSize === pool);
      if (!config) return;
      const x0 = 10 + col * PANEL_W;
      const y0 = HEADER + row * ROWS_PER_CONFIG * PANEL_H;
      parts.push(throughputPanel(config, x0, y0));
      parts.push(latencyPanel(config, x0, y0 + PANEL_H));
      parts.push(failurePanel(config, x0, y0 + 2 * PANEL_H));
    });
  });
  parts.push("</svg>");
  return parts.join("\n");
}

function machineLine(result: BenchResult): string {
  const m = result.machine;
  return `${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.date.slice(0, 10)}; open-loop /settle load, x = offered payments/s`;
}

function seriesOf(config: ConfigurationResult, y: (l: ConfigurationResult["levels"][number]) => number | null): Series[] {
  return (["quay", "peer"] as const).map((facilitator) => ({
    facilitator,
    points: config.levels
      .filter((l) => l.facilitator === facilitator)
      .map((l) => ({ x: l.offeredPerSecond, y: y(l) }))
      .filter((p): p is { x: number; y: number } => p.y !== null)
      .sort((a, b) => a.x - b.x),
  }));
}

function throughputPanel(config: ConfigurationResult, x0: number, y0: number): string {
  const series = seriesOf(config, (l) => l.chainSettledPerSecond ?? l.settledPerSecond);
  const maxX = Math.max(config.limitPerSecond, ...config.levels.map((l) => l.offeredPerSecond)) * 1.05;
  const maxY = Math.max(config.limitPerSecond, ...series.flatMap((s) => s.points.map((p) => p.y))) * 1.15;
  return panel({
    x0,
    y0,
    title: `N=${config.poolSize}, ledger ${config.ledgerMs / 1000} s: settled/s`,
    maxX,
    maxY,
    series,
    guideY: config.limitPerSecond,
    yUnit: "/s",
  });
}

function latencyPanel(config: ConfigurationResult, x0: number, y0: number): string {
  const series = seriesOf(config, (l) => (l.latencyMs.p99 === null ? null : l.latencyMs.p99 / 1000));
  const target = (2 * config.ledgerMs) / 1000;
  const maxX = Math.max(config.limitPerSecond, ...config.levels.map((l) => l.offeredPerSecond)) * 1.05;
  const maxY = Math.max(target, ...series.flatMap((s) => s.points.map((p) => p.y))) * 1.15;
  return panel({ x0, y0, title: `N=${config.poolSize}, ledger ${config.ledgerMs / 1000} s: p99 latency (s)`, maxX, maxY, series, guideY: target, yUnit: "s" });
}

function failurePanel(config: ConfigurationResult, x0: number, y0: number): string {
  const series = seriesOf(config, (l) => {
    const rate = failureRate(l);
    return rate === null ? null : rate * 100;
  });
  const maxX = Math.max(config.limitPerSecond, ...config.levels.map((l) => l.offeredPerSecond)) * 1.05;
  return panel({ x0, y0, title: `N=${config.poolSize}, ledger ${config.ledgerMs / 1000} s: % of calls not settled`, maxX, maxY: 105, series, yUnit: "%" });
}

function panel(p: { x0: number; y0: number; title: string; maxX: number; maxY: number; series: Series[]; guideY?: number; yUnit: string }): string {
  const left = p.x0 + PAD.left;
  const right = p.x0 + PANEL_W - PAD.right;
  const top = p.y0 + PAD.top;
  const bottom = p.y0 + PANEL_H - PAD.bottom;
  const sx = (x: number) => left + (x / (p.maxX || 1)) * (right - left);
  const sy = (y: number) => bottom - (y / (p.maxY || 1)) * (bottom - top);
  const out: string[] = [];
  out.push(`<text x="${p.x0 + 8}" y="${p.y0 + 18}" font-weight="bold">${escape(p.title)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#ccc"/>`);
  for (const tick of ticks(p.maxY)) {
    out.push(`<line x1="${left}" y1="${sy(tick)}" x2="${right}" y2="${sy(tick)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 5}" y="${sy(tick) + 4}" text-anchor="end" fill="#555">${fmt(tick)}</text>`);
  }
  for (const tick of ticks(p.maxX)) {
    out.push(`<text x="${sx(tick)}" y="${bottom + 14}" text-anchor="middle" fill="#555">${fmt(tick)}</text>`);
  }
  out.push(`<text x="${(left + right) / 2}" y="${bottom + 30}" text-anchor="middle" fill="#555">offered /s</text>`);
  if (p.guideY !== undefined) out.push(`<line x1="${left}" y1="${sy(p.guideY)}" x2="${right}" y2="${sy(p.guideY)}" stroke="#888" stroke-dasharray="4 3"/>`);
  for (const s of p.series) {
    if (s.points.length === 0) continue;
    const color = COLORS[s.facilitator];
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map((pt) => `${sx(pt.x).toFixed(1)},${sy(pt.y).toFixed(1)}`).join(" ")}"/>`,
    );
    for (const pt of s.points) {
      out.push(`<circle cx="${sx(pt.x).toFixed(1)}" cy="${sy(pt.y).toFixed(1)}" r="3" fill="${color}"><title>${fmt(pt.x)}/s offered: ${fmt(pt.y)}${p.yUnit}</title></circle>`);
    }
  }
  return out.join("\n");
}

/** Up to five round tick values from 0 to max. */
export function ticks(max: number): number[] {
  if (!(max > 0)) return [0];
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1).replace(/\.0$/, "");
  return v.toFixed(2).replace(/0$/, "").replace(/\.0$/, "");
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
