/**
 * The series chart: uPlot on a canvas. Values come down-sampled (min–max band and average per
 * bucket, one bucket per pixel or so) for the visible range and are fetched again on every zoom,
 * so a series of any length draws fast. Two lanes share the time axis: the values on top, the
 * score (0–1, with the alert boundary 0.5 and flagged buckets marked) in its own lane below, so
 * the boundary never reads as a value threshold. Event spans are shaded; the expected band over
 * time (`GET /v1/band`, recomputed from the stored values) is shaded behind the values, the
 * strategy's alert threshold in value space over time (`GET /v1/scores`, read by the engine once
 * per series and minute) is drawn as two thin dashed lines, and an event's own band (from its
 * explanation) can be drawn as a box. The value axis, the legend and
 * the tooltips carry the metric's unit (units.ts). Times are 24-hour in the chosen zone (time-zone.ts). Live scores are
 * appended while the chart follows "now"; a drag zooms in, a double-click goes back out.
 */
import uPlot from 'uplot';
import { api } from './api.js';
import { pickBucket } from './buckets.js';
import { h } from './dom.js';
import { formatNumber, formatTick, formatTime } from './format.js';
import { zoneChoice, zoneShort } from './time-zone.js';
import type { EventLevel, ExpectedBandColumns, Level, LiveScore, Scores } from './types.js';
import { unitsOf } from './units.js';

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
  /** After a reconnect: fetch the range again, moved to "now" when the chart follows it. */
  resync(): Promise<void>;
  /** Back to the range before the last drag-zoom (what a double-click does); false if none. */
  zoomBack(): boolean;
  /** Label the values with this unit (none: undefined), e.g. after it was declared. */
  setUnit(unit: string | undefined): void;
  destroy(): void;
}

/** Chart colours: the page's `--chart-*` custom properties (app.css switches them in dark mode). */
function chartColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    axis: v('--chart-axis', '#333'),
    grid: v('--chart-grid', 'rgba(0, 0, 0, 0.07)'),
    value: v('--chart-value', '#1f4e99'),
    valueEdge: v('--chart-value-edge', 'rgba(31, 78, 153, 0.45)'),
    valueBand: v('--chart-value-band', 'rgba(31, 78, 153, 0.14)'),
    score: v('--chart-score', '#6a1b9a'),
    alert: v('--chart-alert', 'rgba(230, 140, 0, 0.20)'),
    severe: v('--chart-severe', 'rgba(200, 30, 30, 0.20)'),
    flagAlert: v('--chart-flag-alert', '#b35900'),
    flagSevere: v('--chart-flag-severe', '#b71c1c'),
    band: v('--chart-band', 'rgba(0, 121, 107, 0.16)'),
    bandEdge: v('--chart-band-edge', '#00796b'),
    lane: v('--chart-lane', 'rgba(0, 0, 0, 0.035)'),
    threshold: v('--chart-threshold', '#c62828'),
  };
}

/**
 * The plot's height split in lanes, as fractions from the bottom: the score lane, a gap, then
 * the values. Both scales span the whole height; their ranges are stretched so each lands in its lane.
 */
const SCORE_LANE = 0.24;
const VALUE_FROM = 0.32;
/** The score scale's range: 0–1 fills the lane's height (with a little room under 0). */
const SCORE_MIN = -0.06;
const SCORE_MAX = SCORE_MIN + (1 - SCORE_MIN) / SCORE_LANE;
/** The engine reads a series' alert threshold once per minute (its first point's). */
const THRESHOLD_EVERY_MS = 60_000;

/** A chart within this of "now" (or two buckets) follows it with live points. */
const FOLLOW_SLACK_MS = 5_000;

const LEVEL_RANK: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

interface Columns {
  x: number[]; // seconds
  min: (number | null)[];
  max: (number | null)[];
  avg: (number | null)[];
  count: number[];
  score: (number | null)[];
  level: Level[];
  /** The expected band per bucket (null: none yet, or the band could not be fetched). */
  lower: (number | null)[];
  upper: (number | null)[];
  /** The alert threshold per bucket (null: none read for its minute, or none given). */
  thrLo: (number | null)[];
  thrHi: (number | null)[];
}

const empty = (): Columns => ({
  x: [],
  min: [],
  max: [],
  avg: [],
  count: [],
  score: [],
  level: [],
  lower: [],
  upper: [],
  thrLo: [],
  thrHi: [],
});

export function createSeriesChart(options: SeriesChartOptions): SeriesChart {
  const { device, metric } = options;
  const element = h('div', { class: 'chart' });
  let cols = empty();
  let spans: readonly Span[] = [];
  let from = Date.now() - 3_600_000;
  let to = Date.now();
  let bucketMs = 1000;
  let loadSeq = 0;
  let zoomTimer: number | undefined;
  let redrawTimer: number | undefined;
  /** The right edge is "now": live points extend it (set by each load, kept across an outage). */
  let following = true;
  /** Ranges before each drag-zoom, for double-click back out. */
  const zoomStack: { from: number; to: number }[] = [];
  /** The lowest value the value lane shows (ticks below it would sit in the score lane). */
  let valueFloor = -Infinity;
  const COLORS = chartColors();
  /** The metric's unit, once known (units.ts). */
  let unit: string | undefined;

  const data = (): uPlot.AlignedData => [
    cols.x,
    cols.min,
    cols.max,
    cols.avg,
    cols.score,
    cols.thrHi,
  ];

  /** Save the canvas state and clip drawing to the plot area (undone by `ctx.restore()`). */
  function clipToPlot(u: uPlot): CanvasRenderingContext2D {
    const ctx = u.ctx;
    const { top, height, left, width } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    return ctx;
  }

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
    drawExpectedBand(u);
  }

  /** The expected band over time: runs of buckets with a band, each as one shaded polygon. */
  function drawExpectedBand(u: uPlot): void {
    const half = (bucketMs / 1000) * 0.5;
    let drawn = 0;
    const ctx = clipToPlot(u);
    ctx.fillStyle = COLORS.band;
    ctx.strokeStyle = COLORS.bandEdge;
    ctx.lineWidth = devicePixelRatio || 1;
    let i = 0;
    while (i < cols.x.length) {
      if (cols.lower[i] == null || cols.upper[i] == null) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < cols.x.length && cols.lower[j + 1] != null && cols.upper[j + 1] != null) j++;
      const xs: number[] = [];
      for (let k = i; k <= j; k++) xs.push(cols.x[k] as number);
      const px = (sec: number) => u.valToPos(sec, 'x', true);
      const upper = xs.map((sec, k) => [
        px(sec),
        u.valToPos(cols.upper[i + k] as number, 'y', true),
      ]);
      const lower = xs.map((sec, k) => [
        px(sec),
        u.valToPos(cols.lower[i + k] as number, 'y', true),
      ]);
      // A lone bucket still gets a visible width.
      if (upper.length === 1) {
        const [x, yu] = upper[0] as number[];
        const yl = (lower[0] as number[])[1] as number;
        const w = Math.max(3, Math.abs(px((xs[0] as number) + half) - (x as number)));
        upper.splice(0, 1, [(x as number) - w, yu as number], [(x as number) + w, yu as number]);
        lower.splice(0, 1, [(x as number) - w, yl], [(x as number) + w, yl]);
      }
      ctx.beginPath();
      upper.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x!, y!) : ctx.lineTo(x!, y!)));
      for (let k = lower.length - 1; k >= 0; k--) ctx.lineTo(lower[k]![0]!, lower[k]![1]!);
      ctx.closePath();
      ctx.fill();
      ctx.globalAlpha = 0.5;
      for (const edge of [upper, lower]) {
        ctx.beginPath();
        edge.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x!, y!) : ctx.lineTo(x!, y!)));
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
      drawn += j - i + 1;
      i = j + 1;
    }
    ctx.restore();
    // How many buckets have a band drawn, for the tests.
    element.dataset.bandBuckets = String(drawn);
  }

  /**
   * The alert threshold over time: an upper and a lower dashed line, each a step that holds a
   * bucket's threshold until the next bucket (a gap where a bucket has none).
   */
  function drawThreshold(u: uPlot): void {
    const dpr = devicePixelRatio || 1;
    let drawn = 0;
    const ctx = clipToPlot(u);
    ctx.strokeStyle = COLORS.threshold;
    ctx.lineWidth = dpr;
    ctx.setLineDash([6 * dpr, 4 * dpr]);
    for (const edge of [cols.thrHi, cols.thrLo]) {
      ctx.beginPath();
      let open = false;
      for (let i = 0; i < cols.x.length; i++) {
        const v = edge[i];
        if (v == null) {
          open = false;
          continue;
        }
        const x0 = u.valToPos(cols.x[i] as number, 'x', true);
        const next = cols.x[i + 1];
        const x1 = u.valToPos(
          next !== undefined && edge[i + 1] != null
            ? next
            : (cols.x[i] as number) + bucketMs / 1000,
          'x',
          true,
        );
        const y = u.valToPos(v, 'y', true);
        if (open) ctx.lineTo(x0, y);
        else ctx.moveTo(x0, y);
        ctx.lineTo(Math.max(x1, x0 + 2 * dpr), y);
        open = true;
        if (edge === cols.thrHi) drawn++;
      }
      ctx.stroke();
    }
    ctx.restore();
    // How many buckets have a threshold drawn, for the tests.
    element.dataset.thresholdBuckets = String(drawn);
  }

  function drawOverlays(u: uPlot): void {
    drawThreshold(u);
    const { left, width } = u.bbox;
    const dpr = devicePixelRatio || 1;
    const ctx = clipToPlot(u);
    // The score lane's background and, inside it only, the alert boundary every strategy's
    // scores share (docs/detectors.md).
    const laneTop = u.valToPos(1, 'score', true);
    const laneBottom = u.valToPos(0, 'score', true);
    ctx.fillStyle = COLORS.lane;
    ctx.fillRect(left, laneTop, width, laneBottom - laneTop);
    // Where the lanes are (CSS px from the plot's top), for the tests.
    element.dataset.scoreLaneTop = String(Math.round(u.valToPos(1, 'score')));
    element.dataset.valueLaneBottom = String(Math.round(u.valToPos(valueFloor, 'y')));
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

  const inValueLane = (_u: uPlot, splits: number[]) =>
    splits.map((v) => (v >= valueFloor ? v : null));
  const valueFmt = (_u: uPlot, v: number | null) =>
    v === null ? '—' : unit === undefined ? formatNumber(v) : `${formatNumber(v)} ${unit}`;
  const utc = zoneChoice() === 'utc';
  const plot = new uPlot(
    {
      width: 800,
      height: options.height ?? 360,
      ...(utc ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') } : {}),
      scales: {
        x: { time: true },
        y: {
          // Keep the event's band in view on the event page; leave the bottom to the score lane.
          range: (_u, min, max) => {
            let lo = min;
            let hi = max;
            if (options.band !== undefined) {
              lo = Math.min(lo, options.band.lo);
              hi = Math.max(hi, options.band.hi);
            }
            // The expected band stays in view too.
            const [blo, bhi] = pairedExtent(cols.lower, cols.upper);
            lo = Math.min(lo, blo);
            hi = Math.max(hi, bhi);
            // The alert threshold too, but at most one span of the rest beyond it on each side:
            // a far threshold must not flatten the values (its lines leave the lane instead).
            const [tlo, thi] = pairedExtent(cols.thrLo, cols.thrHi);
            if (tlo <= thi) {
              if (Number.isFinite(lo) && Number.isFinite(hi)) {
                const span = hi - lo || Math.abs(hi) || 1;
                lo = Math.min(lo, Math.max(tlo, lo - span));
                hi = Math.max(hi, Math.min(thi, hi + span));
              } else {
                lo = tlo;
                hi = thi;
              }
            }
            if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
              lo = 0;
              hi = 1;
            }
            const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
            const top = hi + pad;
            valueFloor = lo - pad;
            const whole = (top - valueFloor) / (1 - VALUE_FROM);
            return [top - whole, top];
          },
        },
        score: { auto: false, range: [SCORE_MIN, SCORE_MAX] },
        // The threshold's legend entry only: its lines are drawn on `y` by drawThreshold.
        threshold: { auto: false, range: [0, 1] },
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
        {
          label: 'alert threshold',
          scale: 'threshold',
          stroke: COLORS.threshold,
          width: 1,
          dash: [6, 4],
          paths: () => null,
          points: { show: false },
          value: (_u, _v, _si, idx) => {
            const lo = idx == null ? null : cols.thrLo[idx];
            const hi = idx == null ? null : cols.thrHi[idx];
            if (lo == null || hi == null) return '—';
            const range = `${formatNumber(lo)} – ${formatNumber(hi)}`;
            return unit === undefined ? range : `${range} ${unit}`;
          },
        },
      ],
      bands: [{ series: [2, 1], fill: COLORS.valueBand }],
      axes: [
        {
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid },
          ticks: { stroke: COLORS.grid },
          label: `time (${zoneShort(from)})`,
          labelSize: 20,
          // Wide enough apart that "MM-DD HH:MM" labels never touch.
          space: 90,
          values: (u, splits, _axis, _space, incr) => {
            let day = '';
            const labels = splits.map((sec, i) => {
              const ms = sec * 1000;
              const date = formatTime(ms).slice(0, 10);
              const withDate = i === 0 || date !== day;
              day = date;
              return formatTick(ms, incr * 1000, withDate);
            });
            // The labels drawn, for the tests and for screen readers' page text tools.
            element.dataset.xTicks = labels.join('|');
            const [a, b] = splits;
            if (a !== undefined && b !== undefined) {
              element.dataset.xTickGap = String(
                Math.round(u.valToPos(b, 'x') - u.valToPos(a, 'x')),
              );
            }
            return labels;
          },
        },
        {
          label: metric,
          stroke: COLORS.axis,
          size: 60,
          labelSize: 20,
          // Value ticks, labels and grid lines only in the value lane.
          grid: { stroke: COLORS.grid, filter: inValueLane },
          ticks: { stroke: COLORS.grid, filter: inValueLane },
          filter: inValueLane,
        },
        {
          scale: 'score',
          side: 1,
          label: 'score',
          stroke: COLORS.score,
          grid: { show: false },
          size: 50,
          splits: () => [0, 0.5, 1],
          values: (_u, splits) => splits.map((v) => String(v)),
        },
      ],
      cursor: {
        drag: { x: true, y: false },
        // A double-click goes back to the range before the last drag-zoom (below), not to the
        // loaded data's extent (uPlot's default, which is where the chart already is).
        bind: { dblclick: () => null },
      },
      hooks: {
        drawClear: [drawSpans],
        draw: [drawOverlays],
        setScale: [
          (u, key) => {
            if (key !== 'x') return;
            const min = u.scales.x?.min;
            const max = u.scales.x?.max;
            if (min === undefined || max === undefined) return;
            // Our own range (show()): uPlot reports it a tick later, so it is recognised by value.
            if (Math.abs(min * 1000 - from) < 1 && Math.abs(max * 1000 - to) < 1) return;
            // A click (each half of a double-click) is a zero-width "drag": put the range back.
            if (max - min < 1) {
              queueMicrotask(show);
              return;
            }
            // The user zoomed (a drag): fetch that range at its own resolution.
            if (zoomTimer === undefined) zoomStack.push({ from, to });
            window.clearTimeout(zoomTimer);
            zoomTimer = window.setTimeout(() => {
              zoomTimer = undefined;
              void load(Math.round(min * 1000), Math.round(max * 1000));
            }, 150);
          },
        ],
      },
    },
    data(),
    element,
  );
  function setUnit(next: string | undefined): void {
    unit = next;
    const label = unit === undefined ? metric : `${metric} (${unit})`;
    const axis = plot.axes[1];
    if (axis !== undefined) axis.label = label;
    const avgLabel = unit === undefined ? `${metric} (avg)` : `${metric} (avg, ${unit})`;
    const avg = plot.series[3];
    if (avg !== undefined) avg.label = avgLabel;
    const legend = element.querySelectorAll('.u-legend .u-series .u-label')[3];
    if (legend !== undefined) legend.textContent = avgLabel;
    element.dataset.unit = unit ?? '';
    element.dataset.valueAxis = label;
    plot.redraw(false);
  }
  element.dataset.valueAxis = metric;
  void unitsOf(device).then((units) => setUnit(units.get(metric)));

  plot.over.addEventListener('dblclick', () => {
    if (!zoomBack()) {
      const span = to - from;
      void load(from - span / 2, to + span / 2);
    }
  });

  function zoomBack(): boolean {
    const previous = zoomStack.pop();
    if (previous === undefined) return false;
    window.clearTimeout(zoomTimer);
    zoomTimer = undefined;
    void load(previous.from, previous.to);
    return true;
  }

  function show(): void {
    plot.setData(data(), false);
    plot.setScale('x', { min: from / 1000, max: to / 1000 });
  }

  async function load(nextFrom: number, nextTo: number): Promise<void> {
    const seq = ++loadSeq;
    const width = Math.max(200, plot.bbox.width / (devicePixelRatio || 1));
    const bucket = pickBucket(nextTo - nextFrom, width);
    try {
      const q = { device, metric, from: Math.floor(nextFrom), to: Math.ceil(nextTo), bucket };
      // The band is context: without it (an older server, an error) the chart still draws.
      const [points, scores, band] = await Promise.all([
        api.buckets(q),
        api.scores(q),
        api.band(q).catch((): ExpectedBandColumns | null => null),
      ]);
      if (seq !== loadSeq) return; // a newer zoom won
      const byTime = new Map<number, number>();
      scores.times.forEach((t, i) => byTime.set(t, i));
      const bandAt = new Map<number, number>();
      band?.times.forEach((t, i) => bandAt.set(t, i));
      // Thresholds by minute, for buckets finer than a minute (one is read per minute).
      const thresholdOf = thresholdLookup(scores, byTime);
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
        const b = bandAt.get(t);
        next.lower.push(b === undefined ? null : (band?.lower[b] ?? null));
        next.upper.push(b === undefined ? null : (band?.upper[b] ?? null));
        const th = thresholdOf(t);
        next.thrLo.push(th === undefined ? null : th[0]);
        next.thrHi.push(th === undefined ? null : th[1]);
      });
      cols = next;
      from = nextFrom;
      to = nextTo;
      bucketMs = points.bucket_ms;
      following = to >= Date.now() - Math.max(FOLLOW_SLACK_MS, 2 * bucketMs);
      element.dataset.from = String(from);
      element.dataset.to = String(to);
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
    // Follow "now" only when the last load ended (nearly) at now; a zoom into the past stays
    // put. Decided at load, not here: after an outage the edge lags but the chart still follows.
    if (!following) return;
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
      if (s.threshold !== undefined && cols.thrLo[last] == null) {
        [cols.thrLo[last], cols.thrHi[last]] = s.threshold;
      }
    } else if (last < 0 || xs > (cols.x[last] as number)) {
      // A bucket in the minute of the one before keeps its threshold until the next is read.
      const sameMinute =
        last >= 0 &&
        Math.floor(at / THRESHOLD_EVERY_MS) ===
          Math.floor(((cols.x[last] as number) * 1000) / THRESHOLD_EVERY_MS);
      const th =
        s.threshold ??
        (sameMinute && cols.thrLo[last] != null
          ? ([cols.thrLo[last], cols.thrHi[last]] as [number, number])
          : undefined);
      cols.x.push(xs);
      cols.min.push(s.value);
      cols.max.push(s.value);
      cols.avg.push(s.value);
      cols.count.push(1);
      cols.score.push(s.score);
      cols.level.push(s.level);
      cols.lower.push(null);
      cols.upper.push(null);
      cols.thrLo.push(th === undefined ? null : th[0]);
      cols.thrHi.push(th === undefined ? null : th[1]);
    } else {
      return;
    }
    if (s.timestamp >= to) {
      const span = to - from;
      to = s.timestamp + bucketMs;
      from = to - span;
      element.dataset.from = String(from);
      element.dataset.to = String(to);
    }
    scheduleRedraw();
  }

  function resync(): Promise<void> {
    if (!following) return load(from, to);
    const span = to - from;
    const now = Date.now();
    return load(now - span, now);
  }

  const resize = new ResizeObserver(() => {
    const width = Math.floor(element.clientWidth);
    if (width > 0) plot.setSize({ width, height: options.height ?? 360 });
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
    resync,
    zoomBack,
    setUnit,
    destroy() {
      window.clearTimeout(zoomTimer);
      window.clearTimeout(redrawTimer);
      resize.disconnect();
      plot.destroy();
    },
  };
}

/**
 * The alert threshold of a chart bucket starting at `t`: the scores' bucket at `t` when it has
 * one, else the one read in `t`'s minute (the chart's buckets can be finer than a minute; the
 * engine reads one threshold per series and minute).
 */
function thresholdLookup(
  scores: Scores,
  byTime: ReadonlyMap<number, number>,
): (t: number) => readonly [number, number] | undefined {
  const lower = scores.threshold_lower ?? [];
  const upper = scores.threshold_upper ?? [];
  const at = (k: number | undefined): readonly [number, number] | undefined => {
    if (k === undefined) return undefined;
    const lo = lower[k];
    const hi = upper[k];
    return lo == null || hi == null ? undefined : [lo, hi];
  };
  const byMinute = new Map<number, readonly [number, number]>();
  scores.times.forEach((t, k) => {
    const th = at(k);
    const minute = Math.floor(t / THRESHOLD_EVERY_MS) * THRESHOLD_EVERY_MS;
    if (th !== undefined && !byMinute.has(minute)) byMinute.set(minute, th);
  });
  return (t) =>
    at(byTime.get(t)) ?? byMinute.get(Math.floor(t / THRESHOLD_EVERY_MS) * THRESHOLD_EVERY_MS);
}

/** The lowest low and highest high over the buckets that have both; [∞, −∞] when none does. */
function pairedExtent(
  lows: readonly (number | null | undefined)[],
  highs: readonly (number | null | undefined)[],
): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < lows.length; i++) {
    const l = lows[i];
    const h = highs[i];
    if (l != null && h != null) {
      lo = Math.min(lo, l);
      hi = Math.max(hi, h);
    }
  }
  return [lo, hi];
}
