/**
 * Renders dashboard panels as one SVG from Prometheus range queries: the picture of real data in
 * ops/README.md (written by test/ops/prometheus.test.ts when QUAY_OPS_SNAPSHOT=1).
 */
export interface PanelData {
  readonly title: string;
  readonly unit: string;
  readonly series: ReadonlyArray<{ readonly label: string; readonly points: ReadonlyArray<readonly [number, number]> }>;
}

const COLORS = ["#3274d9", "#e0752d", "#56a64b", "#a352cc", "#e02f44", "#37872d", "#8ab8ff"];
const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((step) => step * magnitude >= value) ?? 10) * magnitude;
}

function format(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1e6) return `${+(value / 1e6).toFixed(2)}M`;
  if (Math.abs(value) >= 1e3) return `${+(value / 1e3).toFixed(2)}k`;
  return `${+value.toFixed(3)}`;
}

function panel(data: PanelData, x: number, y: number, width: number, height: number): string {
  const left = x + 56;
  const top = y + 34;
  const plotWidth = width - 72;
  const plotHeight = height - 110;
  const all = data.series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const vMax = niceMax(Math.max(...all.map((p) => p[1]), 0));
  const sx = (t: number) => left + ((t - t0) / (t1 - t0)) * plotWidth;
  const sy = (v: number) => top + plotHeight - (v / vMax) * plotHeight;
  const out: string[] = [
    `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="4" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="${x + 12}" y="${y + 21}" class="title">${escape(data.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (vMax / 4) * i;
    out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${sy(v)}" y2="${sy(v)}" stroke="#2c3235"/>`);
    out.push(`<text x="${left - 6}" y="${sy(v) + 4}" class="axis" text-anchor="end">${format(v)}${i === 4 ? ` ${escape(data.unit)}` : ""}</text>`);
  }
  out.push(`<text x="${left}" y="${top + plotHeight + 16}" class="axis">−${Math.round(t1 - t0)} s</text>`);
  out.push(`<text x="${left + plotWidth}" y="${top + plotHeight + 16}" class="axis" text-anchor="end">now</text>`);
  data.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const path = s.points.map((p, j) => `${j === 0 ? "M" : "L"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const lx = left + (i % 3) * Math.floor(plotWidth / 3);
    const ly = top + plotHeight + 34 + Math.floor(i / 3) * 16;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${ly}" class="legend">${escape(s.label)}</text>`);
  });
  return out.join("\n");
}

/** Panels laid out two per row. */
export function renderSvg(title: string, panels: readonly PanelData[]): string {
  const width = 560;
  const height = 320;
  const gap = 12;
  const rows = Math.ceil(panels.length / 2);
  const total = { w: 2 * width + 3 * gap, h: rows * (height + gap) + gap + 36 };
  const body = panels.map((p, i) => panel(p, gap + (i % 2) * (width + gap), 36 + gap + Math.floor(i / 2) * (height + gap), width, height));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total.w}" height="${total.h}" viewBox="0 0 ${total.w} ${total.h}" font-family="Inter, Helvetica, Arial, sans-serif">`,
    `<style>.title{fill:#d8d9da;font-size:14px;font-weight:600}.axis{fill:#8e8e8e;font-size:11px}.legend{fill:#ccccdc;font-size:11px}.head{fill:#d8d9da;font-size:16px;font-weight:600}</style>`,
    `<rect width="100%" height="100%" fill="#111217"/>`,
    `<text x="${gap}" y="28" class="head">${escape(title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}
