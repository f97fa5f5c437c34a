/**
 * Small, dependency-free SVG plots for evaluation reports: a time series with shaded label
 * windows and detection marks, and grouped bar charts. Hand-written because the installed chart
 * library (uPlot) draws on a browser canvas, and reports must be static files that open offline.
 *
 * Long series are reduced to the minimum and maximum of each pixel column, so a 20,000-point
 * series becomes ~1,600 path points and still shows every spike.
 */

export interface MarkerSet {
  readonly name: string;
  readonly color: string;
  /** Event times (ms) to mark; drawn as ticks on a lane below the series. */
  readonly times: readonly number[];
}

export interface SeriesPlot {
  readonly title: string;
  readonly times: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  /** Label windows `[startMs, endMs]`, shaded. */
  readonly windows?: readonly (readonly [number, number])[];
  /** Rows before this time are warm-up (NAB's probation): shaded grey, labelled. */
  readonly warmupUntil?: number;
  /** One lane of ticks per set, e.g. one per strategy. */
  readonly markers?: readonly MarkerSet[];
  readonly width?: number;
  readonly height?: number;
}

export interface BarChart {
  readonly title: string;
  /** Groups along the x axis, e.g. metric names or files. */
  readonly categories: readonly string[];
  /** One bar per series in each group; `values[k]` belongs to `categories[k]` (null: no bar). */
  readonly series: readonly {
    readonly name: string;
    readonly color: string;
    readonly values: readonly (number | null)[];
  }[];
  readonly width?: number;
  readonly height?: number;
}

/** Colours with enough contrast on white, in the order strategies get them. */
export const PALETTE = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce'] as const;
export const WINDOW_FILL = '#fde68a';

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A compact label for an axis value: 3 significant digits, k/M suffixes. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** The series as an SVG document (string). */
export function seriesSvg(plot: SeriesPlot): string {
  const width = plot.width ?? 900;
  const markers = plot.markers ?? [];
  const lane = 14;
  const plotTop = 28;
  const plotHeight = (plot.height ?? 240) - plotTop - 24 - markers.length * lane;
  const left = 56;
  const right = width - 12;
  const n = plot.times.length;
  const out: string[] = [];
  const totalHeight = plotTop + plotHeight + 24 + markers.length * lane;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="series-plot" width="${width}" height="${totalHeight}" viewBox="0 0 ${width} ${totalHeight}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(plot.title)}</title>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${escapeXml(plot.title)}</text>`,
  );
  if (n === 0) {
    out.push(`<text x="${left}" y="${plotTop + 20}">no points</text></svg>`);
    return out.join('\n');
  }
  let t0 = Infinity;
  let t1 = -Infinity;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = plot.times[i] as number;
    const v = plot.values[i] as number;
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi > lo)) {
    hi = (Number.isFinite(hi) ? hi : 0) + 1;
    lo = (Number.isFinite(lo) ? lo : 0) - 1;
  }
  if (!(t1 > t0)) t1 = t0 + 1;
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (right - left);
  const y = (v: number): number => plotTop + (1 - (v - lo) / (hi - lo)) * plotHeight;
  const bottom = plotTop + plotHeight;

  if (plot.warmupUntil !== undefined && plot.warmupUntil > t0) {
    const xw = Math.min(right, x(plot.warmupUntil));
    out.push(
      `<rect class="warmup" x="${left}" y="${plotTop}" width="${fmt(xw - left)}" height="${plotHeight}" fill="#e5e7eb"/>`,
      `<text x="${left + 3}" y="${plotTop + 11}" fill="#555">warm-up</text>`,
    );
  }
  for (const [a, b] of plot.windows ?? []) {
    const xa = Math.max(left, x(a));
    const xb = Math.min(right, x(b));
    if (xb < left || xa > right) continue;
    out.push(
      `<rect class="label-window" x="${fmt(xa)}" y="${plotTop}" width="${fmt(Math.max(1, xb - xa))}" height="${plotHeight}" fill="${WINDOW_FILL}"/>`,
    );
  }
  // Axes and ticks.
  out.push(
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#555"/>`,
    `<line x1="${left}" y1="${plotTop}" x2="${left}" y2="${bottom}" stroke="#555"/>`,
  );
  for (const v of [lo, (lo + hi) / 2, hi]) {
    out.push(`<text x="${left - 4}" y="${fmt(y(v) + 4)}" text-anchor="end">${tickLabel(v)}</text>`);
  }
  out.push(
    `<text x="${left}" y="${bottom + 14}">${isoDay(t0)}</text>`,
    `<text x="${right}" y="${bottom + 14}" text-anchor="end">${isoDay(t1)}</text>`,
  );
  out.push(
    `<path class="series-line" d="${linePath(plot.times, plot.values, x, y, Math.ceil(right - left))}" fill="none" stroke="#333" stroke-width="1"/>`,
  );
  markers.forEach((set, k) => {
    const yLane = bottom + 24 + k * lane;
    const ticks: string[] = [];
    let lastX = -Infinity;
    for (const t of set.times) {
      const xt = x(t);
      if (xt < left - 0.5 || xt > right + 0.5) continue;
      // Ticks closer than half a pixel look the same; drawing one keeps the file small.
      if (Math.abs(xt - lastX) < 0.5) continue;
      lastX = xt;
      ticks.push(`M${fmt(xt)} ${yLane - 10}V${yLane}`);
      ticks.push(`M${fmt(xt)} ${plotTop}V${bottom}`);
    }
    out.push(
      `<text x="${left - 4}" y="${yLane - 1}" text-anchor="end" fill="${set.color}">${escapeXml(set.name)}</text>`,
      `<path class="detections" data-name="${escapeXml(set.name)}" data-count="${set.times.length}" d="${ticks.join('')}" stroke="${set.color}" stroke-width="1.5" stroke-opacity="0.8"/>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Min/max per pixel column, in time order: every extreme survives the reduction. */
function linePath(
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  x: (t: number) => number,
  y: (v: number) => number,
  columns: number,
): string {
  const n = times.length;
  const parts: string[] = [];
  let pen = false;
  const point = (t: number, v: number): void => {
    parts.push(`${pen ? 'L' : 'M'}${fmt(x(t))} ${fmt(y(v))}`);
    pen = true;
  };
  if (n <= columns * 2) {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) point(times[i] as number, v);
      else pen = false;
    }
    return parts.join('');
  }
  let col = -1;
  let minI = -1;
  let maxI = -1;
  const flush = (): void => {
    if (minI < 0) return;
    const [a, b] = minI <= maxI ? [minI, maxI] : [maxI, minI];
    point(times[a] as number, values[a] as number);
    if (b !== a) point(times[b] as number, values[b] as number);
  };
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    const c = Math.floor(x(times[i] as number));
    if (c !== col) {
      flush();
      col = c;
      minI = i;
      maxI = i;
    } else {
      if (v < (values[minI] as number)) minI = i;
      if (v > (values[maxI] as number)) maxI = i;
    }
  }
  flush();
  return parts.join('');
}

/** Grouped bars with a legend; negative values hang below the zero line. */
export function barChartSvg(chart: BarChart): string {
  const width = chart.width ?? 640;
  const height = chart.height ?? 260;
  const top = 40;
  const bottom = height - 40;
  const left = 56;
  const right = width - 12;
  const all = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  let hi = Math.max(0, ...all);
  let lo = Math.min(0, ...all);
  if (!(hi > lo)) hi = lo + 1;
  const pad = (hi - lo) * 0.08;
  hi += hi > 0 ? pad : 0;
  lo -= lo < 0 ? pad : 0;
  const y = (v: number): number => top + (1 - (v - lo) / (hi - lo)) * (bottom - top);
  const groupWidth = (right - left) / Math.max(1, chart.categories.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, chart.series.length);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  chart.series.forEach((s, k) => {
    const lx = left + k * 150;
    out.push(
      `<rect x="${lx}" y="24" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${lx + 14}" y="33">${escapeXml(s.name)}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" y1="${fmt(y(0))}" x2="${right}" y2="${fmt(y(0))}" stroke="#555"/>`,
    `<text x="${left - 4}" y="${fmt(y(hi) + 10)}" text-anchor="end">${tickLabel(hi)}</text>`,
    `<text x="${left - 4}" y="${fmt(y(0) + 4)}" text-anchor="end">0</text>`,
  );
  chart.categories.forEach((category, g) => {
    const gx = left + g * groupWidth + groupWidth * 0.1;
    chart.series.forEach((s, k) => {
      const v = s.values[g];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const y0 = y(0);
      const yv = y(v);
      const bx = gx + k * barWidth;
      out.push(
        `<rect class="bar" data-series="${escapeXml(s.name)}" data-category="${escapeXml(category)}" x="${fmt(bx)}" y="${fmt(Math.min(y0, yv))}" width="${fmt(barWidth - 2)}" height="${fmt(Math.max(0.5, Math.abs(yv - y0)))}" fill="${s.color}"><title>${escapeXml(`${s.name} ${category}: ${v}`)}</title></rect>`,
        `<text x="${fmt(bx + barWidth / 2 - 1)}" y="${fmt(v >= 0 ? yv - 3 : yv + 11)}" text-anchor="middle" font-size="9">${tickLabel(v)}</text>`,
      );
    });
    out.push(
      `<text x="${fmt(left + (g + 0.5) * groupWidth)}" y="${bottom + 14}" text-anchor="middle">${escapeXml(category)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
