/**
 * One series: the zoomable chart (drag to zoom, double-click or *Undo zoom* to go back, buttons
 * for keyboard users), how long ago its last point came, its events in the visible range, live
 * updates over SSE. After the live stream reconnects the range and the events are fetched again.
 */
import { api } from '../api.js';
import { createSeriesChart, type Span } from '../chart.js';
import { h, replaceChildren } from '../dom.js';
import { formatAgo, formatDuration, formatNumber, formatTime } from '../format.js';
import { onLiveEvent, onLiveResync, onLiveScores } from '../live.js';
import { zoneLabel } from '../time-zone.js';
import { forgetUnits, unitsOf } from '../units.js';
import { eventHref, href, replaceQuietly, type Route } from '../router.js';
import type { VigilEvent } from '../types.js';

/** A series with no point for this long is marked stale. */
export const STALE_AFTER_MS = 60_000;
const AGE_TICK_MS = 5_000;

const RANGES: readonly [string, number][] = [
  ['15 min', 15 * 60_000],
  ['1 h', 3_600_000],
  ['6 h', 6 * 3_600_000],
  ['24 h', 24 * 3_600_000],
  ['7 d', 7 * 24 * 3_600_000],
];

export function renderSeries(main: HTMLElement, route: Route): () => void {
  const [, device = '', metric = ''] = route.path;
  const now = Date.now();
  const qTo = Number(route.query.get('to'));
  const qFrom = Number(route.query.get('from'));
  const initialTo = Number.isFinite(qTo) && qTo > 0 ? qTo : now;
  const initialFrom =
    Number.isFinite(qFrom) && qFrom > 0 && qFrom < initialTo ? qFrom : initialTo - 3_600_000;

  const info = h('p', { class: 'muted', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const eventsBox = h('div');
  const age = h('p', { class: 'age', 'data-last-point': '' }, 'Last point: …');
  let events: VigilEvent[] = [];
  /** The newest point's time (from the catalogue, then from live scores). */
  let lastPoint: number | undefined;

  function showAge(): void {
    if (lastPoint === undefined) {
      age.textContent = 'No point stored yet.';
      age.className = 'age stale';
      return;
    }
    const now = Date.now();
    const stale = now - lastPoint > STALE_AFTER_MS;
    age.textContent = `Last point ${formatAgo(lastPoint, now)} (${formatTime(lastPoint)})${stale ? ' · stale' : ''}`;
    age.className = stale ? 'age stale' : 'age';
    age.dataset.lastPoint = String(lastPoint);
  }

  async function loadLastPoint(): Promise<void> {
    try {
      const { series } = await api.series(device);
      const found = series.find((s) => s.metric === metric);
      if (found !== undefined) lastPoint = Math.max(lastPoint ?? -Infinity, found.last);
    } catch {
      // The chart reports the server's errors; the age keeps what it knew.
    }
    showAge();
  }

  const chart = createSeriesChart({
    device,
    metric,
    onLoad: ({ from, to, bucketMs, buckets }) => {
      info.textContent =
        `${formatTime(from)} – ${formatTime(to)} ${zoneLabel(to)} · ${buckets} buckets of ${formatDuration(bucketMs)} ` +
        '(min–max band and average line; green: the expected band from the values before each bucket; red dashed: the alert threshold, the values the strategy would not alert on; the score in the lane below, alert boundary 0.5 dashed)';
      error.hidden = true;
      replaceQuietly(
        href(['series', device, metric], { from: Math.round(from), to: Math.round(to) }),
      );
      void loadEvents(from, to);
    },
    onError: (err) => {
      error.hidden = false;
      error.textContent = `Cannot load the series: ${err instanceof Error ? err.message : String(err)}`;
    },
  });

  async function loadEvents(from: number, to: number): Promise<void> {
    try {
      const answer = await api.events({
        device,
        metric,
        from: Math.floor(from),
        to: Math.ceil(to),
        limit: 500,
      });
      events = answer.events;
      chart.setSpans(events.map((e): Span => ({ start: e.start, end: e.end, level: e.level })));
      replaceChildren(eventsBox, eventsTable(events));
    } catch (err) {
      replaceChildren(eventsBox, h('p', { class: 'error' }, `Cannot load events: ${String(err)}`));
    }
  }

  const zoom = (factor: number, shift = 0) => {
    const { from, to } = chart.range();
    const span = to - from;
    const mid = from + span / 2 + shift * span;
    const next = Math.max(1_000, span * factor);
    void chart.load(mid - next / 2, mid + next / 2);
  };
  const button = (label: string, onclick: () => void, title?: string) =>
    h(
      'button',
      { type: 'button', onclick, ...(title === undefined ? {} : { 'aria-label': title }) },
      label,
    );

  const controls = h(
    'div',
    { class: 'toolbar', role: 'group', 'aria-label': 'Time range' },
    RANGES.map(([label, ms]) =>
      button(`Last ${label}`, () => {
        const t = Date.now();
        void chart.load(t - ms, t);
      }),
    ),
    button('Zoom in', () => zoom(0.5)),
    button('Zoom out', () => zoom(2)),
    button('◀ Earlier', () => zoom(1, -0.5), 'Earlier'),
    button('Later ▶', () => zoom(1, 0.5), 'Later'),
    button('Undo zoom', () => {
      if (!chart.zoomBack()) zoom(2);
    }),
  );

  // The metric's unit, declared here for every device (the API refuses it without admin).
  const unitInput = h('input', {
    id: 'series-unit',
    name: 'unit',
    type: 'text',
    maxlength: '32',
    autocomplete: 'off',
    placeholder: 'e.g. °C',
  });
  const unitStatus = h('span', { class: 'muted', 'aria-live': 'polite', id: 'series-unit-status' });
  void unitsOf(device).then((units) => {
    if (unitInput.value === '') unitInput.value = units.get(metric) ?? '';
  });
  const unitForm = h(
    'form',
    {
      class: 'filters unit-form',
      'aria-label': 'Unit',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        unitStatus.textContent = 'Saving…';
        api.setUnit(metric, unitInput.value).then(
          (saved) => {
            forgetUnits();
            unitInput.value = saved.unit;
            chart.setUnit(saved.unit);
            unitStatus.textContent = `Saved: ${metric} is in ${saved.unit} on every device.`;
          },
          (err: unknown) => {
            unitStatus.textContent = `Not saved: ${err instanceof Error ? err.message : String(err)}`;
          },
        );
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'series-unit' }, `Unit of ${metric} (every device)`),
      unitInput,
    ),
    h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Save unit')),
    unitStatus,
  );

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Fleet'), ' › ', device),
    h('h1', { tabindex: '-1' }, `${device} / ${metric}`),
    age,
    controls,
    error,
    h(
      'figure',
      { class: 'chart-figure' },
      h(
        'div',
        {
          role: 'img',
          'aria-label': `Chart of ${metric} on ${device} with its score below; drag across it to zoom, double-click to zoom back out`,
        },
        chart.element,
      ),
      h('figcaption', {}, info),
    ),
    unitForm,
    h('h2', {}, 'Events in this range'),
    eventsBox,
  );
  void chart.load(initialFrom, initialTo);
  void loadLastPoint();
  const ageTimer = window.setInterval(showAge, AGE_TICK_MS);

  const offScores = onLiveScores(device, (s) => {
    if (s.metric === metric && (lastPoint === undefined || s.timestamp > lastPoint)) {
      lastPoint = s.timestamp;
      showAge();
    }
    chart.addLive(s);
  });
  // Whatever was scored while the stream was down never arrives live: fetch it.
  const offResync = onLiveResync(() => {
    void chart.resync();
    void loadLastPoint();
  });
  const offEvents = onLiveEvent((m) => {
    if (m.event.series !== `${device}/${metric}`) return;
    const { from, to } = chart.range();
    void loadEvents(from, Math.max(to, Date.now()));
  });
  return () => {
    offScores();
    offEvents();
    offResync();
    window.clearInterval(ageTimer);
    chart.destroy();
  };
}

function eventsTable(events: readonly VigilEvent[]): HTMLElement {
  if (events.length === 0) return h('p', {}, 'No events in this range.');
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Start', 'Level', 'Duration', 'Peak score', 'Strategy'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      events.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: eventHref(e.id) }, formatTime(e.start))),
          h('td', {}, h('span', { class: `badge level-${e.level}` }, e.level)),
          h('td', {}, e.end === null ? 'open' : formatDuration(e.end - e.start)),
          h('td', { class: 'num' }, formatNumber(e.peak.score)),
          h('td', {}, `${e.strategy}@${e.strategy_version}`),
        ),
      ),
    ),
  );
}
