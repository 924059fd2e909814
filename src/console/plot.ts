/**
 * Small line plots as SVG, drawn on the server (no chart library, no script): a time axis
 * over the last `windowMs`, a value axis from 0 to a rounded maximum, one polyline a
 * series. The SVG goes inline in the page.
 */
import { type Html, html } from "./html.js";

export interface Series {
  name: string;
  /** A CSS color. */
  color: string;
  points: readonly { t: number; v: number }[];
}

export interface PlotSpec {
  title: string;
  unit: string;
  series: readonly Series[];
  now: number;
  windowMs: number;
  width?: number;
  height?: number;
}

/** 1, 2 or 5 times a power of ten, at least `x` (and at least 1). */
export function niceCeiling(x: number): number {
  if (!(x > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** 1234567 -> "1.2 M" (the plots' labels). */
export function short(x: number): string {
  for (const [d, s] of [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const)
    if (x >= d) return `${(x / d).toFixed(x >= 10 * d ? 0 : 1)} ${s}`;
  return `${Math.round(x * 10) / 10} `;
}

export function linePlot(spec: PlotSpec): Html {
  const w = spec.width ?? 360;
  const h = spec.height ?? 120;
  const left = 44;
  const bottom = h - 18;
  const top = 16;
  const start = spec.now - spec.windowMs;
  const visible = spec.series.map((s) => s.points.filter((p) => p.t >= start && p.t <= spec.now));
  const max = niceCeiling(Math.max(0, ...visible.flat().map((p) => p.v)));
  const x = (t: number) => left + ((t - start) / spec.windowMs) * (w - left - 4);
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  const lines = spec.series.map((s, i) => {
    const pts = (visible[i] ?? []).map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    return pts.length === 0
      ? html``
      : html`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.join(" ")}"/>`;
  });
  const legend = spec.series.map(
    (s, i) =>
      html`<text x="${w - 4 - (spec.series.length - 1 - i) * 34}" y="11" fill="${s.color}" font-size="10" text-anchor="end">${s.name}</text>`,
  );
  const minutes = Math.round(spec.windowMs / 60_000);
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${spec.title}">
<text x="${left}" y="11" font-size="11" font-weight="bold">${spec.title}</text>${legend}
<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#888"/>
<line x1="${left}" y1="${bottom}" x2="${w - 4}" y2="${bottom}" stroke="#888"/>
<text x="${left - 4}" y="${top + 8}" font-size="9" text-anchor="end">${short(max)}${spec.unit}</text>
<text x="${left - 4}" y="${bottom}" font-size="9" text-anchor="end">0</text>
<text x="${left}" y="${h - 4}" font-size="9">-${minutes} min</text>
<text x="${w - 4}" y="${h - 4}" font-size="9" text-anchor="end">now</text>
${lines}</svg>`;
}
