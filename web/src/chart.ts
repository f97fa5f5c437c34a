/**
 * The series chart: uPlot on a canvas. Values come down-sampled (min–max band and average per
 * bucket, one bucket per pixel or so) for the visible range and are fetched again on every zoom,
 * so a series of any length draws fast. The score (the series' recent live scores) is on a second
 * axis with the alert boundary (0.5), flagged buckets are marked, event spans are shaded, and an
 * event's expected band can be drawn. Live scores are appended while the chart follows "now".
 */
import uPlot from 'uplot';
import { api } from './api.js';
import { pickBucket } from './buckets.js';
import { h } from './dom.js';
import { formatNumber, formatTime } from './format.js';
import type { EventLevel, Level, LiveScore } from './types.js';

export interface Span {
  readonly start: number;
  readonly end: number | null;
  readonly level: EventLevel;
}

/** An explanation's band at an event: the values the detector would not have flagged. */
export interface ExpectedBand {
  readonly from: number;
  readonly to: number;
  readonly lo: number;
  readonly hi: number;
  readonly expected?: number;
  readonly observed?: { time: number; value: number };
}

export interface SeriesChartOptions {
  readonly device: string;
  readonly metric: string;
  readonly height?: number;
  readonly band?: ExpectedBand;
  /** After each load: the range shown, the bucket size and how many buckets came back. */
  readonly onLoad?: (info: { from: number; to: number; bucketMs: number; buckets: number }) => void;
  readonly onError?: (error: unknown) => void;
}

export interface SeriesChart {
  readonly element: HTMLElement;
  readonly range: () => { from: number; to: number };
  load(from: number, to: number): Promise<void>;
  setSpans(spans: readonly Span[]): void;
  /** A live score of this chart's device; ignored for other metrics or while zoomed into the past. */
  addLive(score: LiveScore): void;
  destroy(): void;
}

const COLORS = {
  value: '#1f4e99',
  valueEdge: 'rgba(31, 78, 153, 0.45)',
  valueBand: 'rgba(31, 78, 153, 0.14)',
  score: '#6a1b9a',
  alert: 'rgba(230, 140, 0, 0.20)',
  severe: 'rgba(200, 30, 30, 0.20)',
  flagAlert: '#b35900',
  flagSevere: '#b71c1c',
  band: 'rgba(0, 121, 107, 0.16)',
  bandEdge: '#00796b',
};

const LEVEL_RANK: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

interface Columns {
  x: number[]; // seconds
  min: (number | null)[];
  max: (number | null)[];
  avg: (number | null)[];
  count: number[];
  score: (number | null)[];
  level: Level[];
}

const empty = (): Columns => ({
  x: [],
  min: [],
  max: [],
  avg: [],
  count: [],
  score: [],
  level: [],
});

export function createSeriesChart(options: SeriesChartOptions): SeriesChart {
  const { device, metric } = options;
  const element = h('div', { class: 'chart' });
  let cols = empty();
  let spans: readonly Span[] = [];
  let from = Date.now() - 3_600_000;
  let to = Date.now();
  let bucketMs = 1000;
  let programmatic = false;
  let loadSeq = 0;
  let zoomTimer: number | undefined;
  let redrawTimer: number | undefined;

  const data = (): uPlot.AlignedData => [cols.x, cols.min, cols.max, cols.avg, cols.score];

  function drawSpans(u: uPlot): void {
    const ctx = u.ctx;
    const { top, height, left, width } = u.bbox;
    ctx.save();
    for (const s of spans) {
      const x0 = Math.max(left, u.valToPos(s.start / 1000, 'x', true));
      const endMs = s.end ?? to;
      // A one-point event still gets a visible stripe.
      const x1 = Math.min(left + width, Math.max(x0 + 3, u.valToPos(endMs / 1000, 'x', true)));
      if (x1 < left || x0 > left + width) continue;
      ctx.fillStyle = s.level === 'severe' ? COLORS.severe : COLORS.alert;
      ctx.fillRect(x0, top, x1 - x0, height);
    }
    ctx.restore();
  }

  function drawOverlays(u: uPlot): void {
    const ctx = u.ctx;
    const { top, height, left, width } = u.bbox;
    const dpr = devicePixelRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    // The alert boundary on the score axis: every strategy's scores share it (docs/detectors.md).
    const y = u.valToPos(0.5, 'score', true);
    ctx.strokeStyle = COLORS.score;
    ctx.lineWidth = dpr;
    ctx.setLineDash([4 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.setLineDash([]);
    // Flagged buckets, as marks on the score line.
    for (let i = 0; i < cols.x.length; i++) {
      const level = cols.level[i];
      const score = cols.score[i];
      if (level === undefined || level === 'ok' || score === null || score === undefined) continue;
      const px = u.valToPos(cols.x[i] as number, 'x', true);
      const py = u.valToPos(score, 'score', true);
      ctx.fillStyle = level === 'severe' ? COLORS.flagSevere : COLORS.flagAlert;
      ctx.beginPath();
      ctx.arc(px, py, 3 * dpr, 0, 2 * Math.PI);
      ctx.fill();
    }
    const band = options.band;
    if (band !== undefined) {
      const x0 = u.valToPos(band.from / 1000, 'x', true);
      const x1 = u.valToPos(band.to / 1000, 'x', true);
      const yHi = u.valToPos(band.hi, 'y', true);
      const yLo = u.valToPos(band.lo, 'y', true);
      ctx.fillStyle = COLORS.band;
      ctx.fillRect(x0, yHi, x1 - x0, yLo - yHi);
      ctx.strokeStyle = COLORS.bandEdge;
      ctx.lineWidth = dpr;
      ctx.strokeRect(x0, yHi, x1 - x0, yLo - yHi);
      if (band.expected !== undefined) {
        const ye = u.valToPos(band.expected, 'y', true);
        ctx.setLineDash([2 * dpr, 3 * dpr]);
        ctx.beginPath();
        ctx.moveTo(x0, ye);
        ctx.lineTo(x1, ye);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      if (band.observed !== undefined) {
        const px = u.valToPos(band.observed.time / 1000, 'x', true);
        const py = u.valToPos(band.observed.value, 'y', true);
        ctx.fillStyle = COLORS.flagSevere;
        ctx.beginPath();
        ctx.arc(px, py, 4 * dpr, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.restore();
  }

  const valueFmt = (_u: uPlot, v: number | null) => (v === null ? '—' : formatNumber(v));
  const plot = new uPlot(
    {
      width: 800,
      height: options.height ?? 320,
      scales: {
        x: { time: true },
        y: {
          // Keep the event's band in view on the event page.
          range: (_u, min, max) => {
            let lo = min;
            let hi = max;
            if (options.band !== undefined) {
              lo = Math.min(lo, options.band.lo);
              hi = Math.max(hi, options.band.hi);
            }
            if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
            const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
            return [lo - pad, hi + pad];
          },
        },
        score: { auto: false, range: [0, 1] },
      },
      series: [
        { label: 'time', value: (_u, v) => (v === null ? '—' : formatTime(v * 1000)) },
        { label: 'min', stroke: COLORS.valueEdge, width: 1, value: valueFmt },
        { label: 'max', stroke: COLORS.valueEdge, width: 1, value: valueFmt },
        { label: `${metric} (avg)`, stroke: COLORS.value, width: 1.5, value: valueFmt },
        {
          label: 'score',
          scale: 'score',
          stroke: COLORS.score,
          width: 1,
          value: (_u, v) => (v === null ? '—' : v.toFixed(3)),
        },
      ],
      bands: [{ series: [2, 1], fill: COLORS.valueBand }],
      axes: [
        { stroke: '#333' },
        { label: metric, stroke: '#333', size: 60 },
        {
          scale: 'score',
          side: 1,
          label: 'score',
          stroke: COLORS.score,
          grid: { show: false },
          size: 50,
        },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        drawClear: [drawSpans],
        draw: [drawOverlays],
        setScale: [
          (u, key) => {
            if (key !== 'x' || programmatic) return;
            const min = u.scales.x?.min;
            const max = u.scales.x?.max;
            if (min === undefined || max === undefined) return;
            // The user zoomed (drag or double-click): fetch that range at its own resolution.
            window.clearTimeout(zoomTimer);
            zoomTimer = window.setTimeout(() => {
              void load(Math.round(min * 1000), Math.round(max * 1000));
            }, 150);
          },
        ],
      },
    },
    data(),
    element,
  );

  function show(): void {
    programmatic = true;
    try {
      plot.setData(data(), false);
      plot.setScale('x', { min: from / 1000, max: to / 1000 });
    } finally {
      programmatic = false;
    }
  }

  async function load(nextFrom: number, nextTo: number): Promise<void> {
    const seq = ++loadSeq;
    const width = Math.max(200, plot.bbox.width / (devicePixelRatio || 1));
    const bucket = pickBucket(nextTo - nextFrom, width);
    try {
      const q = { device, metric, from: Math.floor(nextFrom), to: Math.ceil(nextTo), bucket };
      const [points, scores] = await Promise.all([api.buckets(q), api.scores(q)]);
      if (seq !== loadSeq) return; // a newer zoom won
      const byTime = new Map<number, number>();
      scores.times.forEach((t, i) => byTime.set(t, i));
      const next = empty();
      points.times.forEach((t, i) => {
        next.x.push(t / 1000);
        next.min.push(points.min[i] ?? null);
        next.max.push(points.max[i] ?? null);
        next.avg.push(points.avg[i] ?? null);
        next.count.push(points.count[i] ?? 0);
        // Stored scores are per minute: a finer bucket takes the score of its minute.
        const k =
          byTime.get(t) ??
          (t < (scores.stored_before ?? -Infinity)
            ? byTime.get(Math.floor(t / 60_000) * 60_000)
            : undefined);
        next.score.push(k === undefined ? null : (scores.score[k] ?? null));
        next.level.push(k === undefined ? 'ok' : (scores.level[k] ?? 'ok'));
      });
      cols = next;
      from = nextFrom;
      to = nextTo;
      bucketMs = points.bucket_ms;
      show();
      options.onLoad?.({ from, to, bucketMs, buckets: cols.x.length });
    } catch (err) {
      options.onError?.(err);
    }
  }

  function scheduleRedraw(): void {
    if (redrawTimer !== undefined) return;
    redrawTimer = window.setTimeout(() => {
      redrawTimer = undefined;
      show();
    }, 500);
  }

  function addLive(s: LiveScore): void {
    if (s.metric !== metric) return;
    // Follow "now" only when the right edge is (nearly) now; a zoom into the past stays put.
    if (to < Date.now() - Math.max(5_000, 2 * bucketMs)) return;
    const at = Math.floor(s.timestamp / bucketMs) * bucketMs;
    const xs = at / 1000;
    const last = cols.x.length - 1;
    if (last >= 0 && cols.x[last] === xs) {
      const n = cols.count[last] ?? 0;
      cols.min[last] = Math.min(cols.min[last] ?? s.value, s.value);
      cols.max[last] = Math.max(cols.max[last] ?? s.value, s.value);
      cols.avg[last] = ((cols.avg[last] ?? s.value) * n + s.value) / (n + 1);
      cols.count[last] = n + 1;
      cols.score[last] = Math.max(cols.score[last] ?? 0, s.score);
      if (LEVEL_RANK[s.level] > LEVEL_RANK[cols.level[last] ?? 'ok']) cols.level[last] = s.level;
    } else if (last < 0 || xs > (cols.x[last] as number)) {
      cols.x.push(xs);
      cols.min.push(s.value);
      cols.max.push(s.value);
      cols.avg.push(s.value);
      cols.count.push(1);
      cols.score.push(s.score);
      cols.level.push(s.level);
    } else {
      return;
    }
    if (s.timestamp >= to) {
      const span = to - from;
      to = s.timestamp + bucketMs;
      from = to - span;
    }
    scheduleRedraw();
  }

  const resize = new ResizeObserver(() => {
    const width = Math.floor(element.clientWidth);
    if (width > 0) plot.setSize({ width, height: options.height ?? 320 });
  });
  resize.observe(element);

  return {
    element,
    range: () => ({ from, to }),
    load,
    setSpans(next) {
      spans = next;
      plot.redraw(false);
    },
    addLive,
    destroy() {
      window.clearTimeout(zoomTimer);
      window.clearTimeout(redrawTimer);
      resize.disconnect();
      plot.destroy();
    },
  };
}
