/**
 * One event: what, when and how strong; why (the explanation of its peak: contributing metrics
 * with their shares, expected band against the observed value, the detectors' evidence); the
 * chart around it with the band drawn; and the feedback buttons.
 */
import { api, ApiError } from '../api.js';
import { createSeriesChart, type ExpectedBand } from '../chart.js';
import { unitsOf, withUnit } from '../units.js';
import { h, replaceChildren } from '../dom.js';
import { formatDuration, formatNumber, formatPercent, formatTime } from '../format.js';
import { labelButtons } from '../label-buttons.js';
import { onLiveResync, onLiveScores } from '../live.js';
import { href, seriesHref, type Route } from '../router.js';
import type { MetricContribution, VigilEvent } from '../types.js';

/** The store writes events a moment after the live stream announces them. */
async function fetchEvent(id: string): Promise<VigilEvent> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.event(id);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404) || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function bar(share: number, label: string): HTMLElement {
  return h(
    'span',
    {
      class: 'bar',
      role: 'meter',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-valuenow': String(Math.round(share * 100)),
      'aria-label': label,
    },
    h('span', { class: 'bar-fill', style: `width: ${Math.max(0, Math.min(1, share)) * 100}%` }),
  );
}

function verdict(m: MetricContribution, unit: string | undefined): string {
  if (m.band === undefined) return '';
  const [lo, hi] = m.band;
  if (m.observed > hi) return `above the band by ${withUnit(m.observed - hi, unit)}`;
  if (m.observed < lo) return `below the band by ${withUnit(lo - m.observed, unit)}`;
  return 'inside the band';
}

function explanation(e: VigilEvent, units: ReadonlyMap<string, string>): HTMLElement[] {
  const x = e.explanation;
  if (x === null) return [h('p', {}, 'This event carries no explanation.')];
  const metrics = h(
    'table',
    {},
    h('caption', {}, 'Contributing metrics at the peak'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Metric', 'Share', 'Observed', 'Expected', 'Band (not flagged)', 'Verdict'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      x.metrics.map((m) => {
        const unit = units.get(m.name);
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, m.name, unit === undefined ? '' : ` (${unit})`),
          h('td', {}, bar(m.share, `${m.name} share`), ' ', formatPercent(m.share)),
          h('td', { class: 'num', 'data-observed': '' }, withUnit(m.observed, unit)),
          h('td', { class: 'num' }, m.expected === undefined ? '—' : withUnit(m.expected, unit)),
          h(
            'td',
            { class: 'num' },
            m.band === undefined
              ? '—'
              : `${formatNumber(m.band[0])} … ${withUnit(m.band[1], unit)}`,
          ),
          h('td', {}, verdict(m, unit)),
        );
      }),
    ),
  );
  const evidence = h(
    'table',
    {},
    h('caption', {}, 'Evidence (detector scores at the peak; 0.5 is the alert boundary)'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Detector / evidence', 'Score'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      x.detectors.map((d) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, d.name),
          h('td', {}, bar(d.score, `${d.name} score`), ' ', d.score.toFixed(3)),
        ),
      ),
    ),
  );
  return [metrics, evidence];
}

function facts(e: VigilEvent): HTMLElement {
  const item = (term: string, value: string | Node) => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'dl',
    { class: 'facts' },
    item('Level', h('span', { class: `badge level-${e.level}` }, e.level)),
    item('Strategy', `${e.strategy}@${e.strategy_version}`),
    item('Start', formatTime(e.start)),
    item(
      'End',
      e.end === null
        ? 'open (still going)'
        : `${formatTime(e.end)} (${formatDuration(e.end - e.start)})`,
    ),
    item('Flagged points', String(e.points)),
    item('Peak', `${formatTime(e.peak.time)}, score ${e.peak.score.toFixed(3)}`),
  );
}

export function renderEvent(main: HTMLElement, route: Route): () => void {
  const id = route.path[1] ?? '';
  const heading = h('h1', { tabindex: '-1' }, 'Event');
  const body = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: href(['events']) }, 'Events'), ' › event'),
    heading,
    body,
  );
  let cleanup: (() => void) | undefined;
  let stopped = false;
  /** The event as last shown (undefined until it loaded). */
  let shown: VigilEvent | undefined;

  const loadEvent = () =>
    void fetchEvent(id)
      .then(async (e) => ({ e, units: await unitsOf(e.device) }))
      .then(
        ({ e, units }) => {
          if (stopped) return;
          cleanup?.();
          cleanup = undefined;
          shown = e;
          const series = e.metric === null ? e.device : `${e.device} / ${e.metric}`;
          heading.textContent = `${e.level === 'severe' ? 'Severe' : 'Alert'} event on ${series}`;
          document.title = `${heading.textContent} · Vigil`;
          const parts: (HTMLElement | null)[] = [
            facts(e),
            h('h2', {}, 'Why'),
            ...explanation(e, units),
          ];
          const metric = e.metric ?? e.explanation?.metrics[0]?.name ?? null;
          if (metric !== null) {
            const end = e.end ?? Date.now();
            const margin = Math.max(5 * 60_000, 2 * (end - e.start));
            const m = e.explanation?.metrics.find((x) => x.name === metric);
            const band: ExpectedBand | undefined =
              m?.band === undefined
                ? undefined
                : {
                    from: e.start - Math.max(30_000, (end - e.start) / 2),
                    to: end + Math.max(30_000, (end - e.start) / 2),
                    lo: m.band[0],
                    hi: m.band[1],
                    ...(m.expected === undefined ? {} : { expected: m.expected }),
                    observed: { time: e.peak.time, value: m.observed },
                  };
            const chart = createSeriesChart({
              device: e.device,
              metric,
              height: 260,
              ...(band ? { band } : {}),
            });
            chart.setSpans([{ start: e.start, end: e.end, level: e.level }]);
            void chart.load(e.start - margin, end + margin);
            const off =
              e.end === null ? onLiveScores(e.device, (s) => chart.addLive(s)) : () => undefined;
            cleanup = () => {
              off();
              chart.destroy();
            };
            parts.push(
              h('h2', {}, 'Around the event'),
              h(
                'figure',
                { class: 'chart-figure' },
                h(
                  'div',
                  {
                    role: 'img',
                    'aria-label': `Chart of ${metric} around the event; the shaded span is the event, the green box the detector's band at the peak, the green shade the expected band over time`,
                  },
                  chart.element,
                ),
                h(
                  'figcaption',
                  { class: 'muted' },
                  'Shaded: the event. Green box: the values the detector would not have flagged at the peak; dotted: expected; red dot: the peak; green shade: the band expected from the values before each bucket. ',
                  h('a', { href: seriesHref(e.device, metric) }, `Open ${metric} on ${e.device}`),
                ),
              ),
            );
          }
          parts.push(labelButtons(e));
          replaceChildren(body, parts);
          body.setAttribute('aria-busy', 'false');
        },
        (err: unknown) => {
          replaceChildren(
            body,
            h(
              'p',
              { class: 'error', role: 'alert' },
              `Cannot load the event: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
        },
      );
  loadEvent();
  // After a reconnect an event that was open (or never loaded) may have changed: show it again.
  const offResync = onLiveResync(() => {
    if (shown === undefined || shown.end === null) loadEvent();
  });
  return () => {
    stopped = true;
    offResync();
    cleanup?.();
  };
}
