/** Fleet overview: totals, and per device its series (current level) and event counts. */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatNumber, formatTime } from '../format.js';
import { levelBadge } from '../level-badge.js';
import { onLiveEvent } from '../live.js';
import { href, seriesHref } from '../router.js';
import type { Overview } from '../types.js';

const REFRESH_MS = 5_000;

function stat(label: string, value: string, id: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('dt', { id }, label),
    h('dd', { 'aria-labelledby': id }, value),
  );
}

function render(o: Overview): HTMLElement[] {
  const seriesCount = o.devices.reduce((n, d) => n + d.series.length, 0);
  const rate = o.ingest.points_per_second;
  const stats = h(
    'dl',
    { class: 'stats' },
    stat('Devices', String(o.devices.length), 'st-devices'),
    stat('Series', String(seriesCount), 'st-series'),
    stat('Events, last hour', `${o.events.hour}${o.events.capped ? '+' : ''}`, 'st-hour'),
    stat('Events, last day', `${o.events.day}${o.events.capped ? '+' : ''}`, 'st-day'),
    stat('Open events', String(o.events.open), 'st-open'),
    stat('Ingest', rate === null ? 'measuring…' : `${formatNumber(rate)} points/s`, 'st-rate'),
  );
  if (o.devices.length === 0) {
    return [stats, h('p', {}, 'No data yet: send points to POST /v1/points (docs/api.md).')];
  }
  const table = h(
    'table',
    { class: 'fleet' },
    h('caption', {}, `Devices and series, updated ${formatTime(o.now)}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Device'),
        h('th', { scope: 'col' }, 'Series and current level'),
        h('th', { scope: 'col', class: 'num' }, 'Events 1 h'),
        h('th', { scope: 'col', class: 'num' }, 'Events 24 h'),
        h('th', { scope: 'col', class: 'num' }, 'Open'),
      ),
    ),
    h(
      'tbody',
      {},
      o.devices.map((d) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, d.device),
          h(
            'td',
            {},
            h(
              'ul',
              { class: 'series-list' },
              d.series.map((s) =>
                h(
                  'li',
                  {},
                  h('a', { href: seriesHref(d.device, s.metric) }, s.metric),
                  ' ',
                  levelBadge(s.level),
                  s.value === undefined
                    ? null
                    : h('span', { class: 'muted' }, ` ${formatNumber(s.value)}`),
                ),
              ),
            ),
          ),
          h(
            'td',
            { class: 'num' },
            d.events_hour > 0
              ? h(
                  'a',
                  { href: href(['events'], { device: d.device, from: o.now - 3_600_000 }) },
                  String(d.events_hour),
                )
              : '0',
          ),
          h('td', { class: 'num' }, String(d.events_day)),
          h('td', { class: 'num' }, String(d.open_events)),
        ),
      ),
    ),
  );
  return [stats, table];
}

export function renderFleet(main: HTMLElement): () => void {
  const body = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  const status = h('p', { class: 'error', role: 'alert', hidden: true });
  main.append(h('h1', { tabindex: '-1' }, 'Fleet'), status, body);
  let timer: number | undefined;
  let stopped = false;
  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    try {
      const o = await api.overview();
      if (stopped) return;
      replaceChildren(body, render(o));
      body.setAttribute('aria-busy', 'false');
      status.hidden = true;
    } catch (err) {
      status.hidden = false;
      status.textContent = `Cannot load the overview: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!stopped) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  }
  void refresh();
  // An event change refreshes the counts at once (debounced: events come in bursts).
  let soon: number | undefined;
  const off = onLiveEvent(() => {
    window.clearTimeout(soon);
    soon = window.setTimeout(() => void refresh(), 1_000);
  });
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    window.clearTimeout(soon);
    off();
  };
}
