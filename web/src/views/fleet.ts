/**
 * Fleet overview: totals, and one page of devices at a time with their series (current level)
 * and event counts. Pages and search are the server's (GET /v1/overview with a cursor, `q` for a
 * part of the device id and `tag` for `key:value`; both kept in the address), so a fleet of 100,000 devices costs the page one screenful, never the whole list. A series
 * without a point for a minute says how long ago its last one came. After the live stream
 * reconnects the page is fetched again at once.
 */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatAgo, formatNumber, formatTime } from '../format.js';
import { levelBadge } from '../level-badge.js';
import { onLiveEvent, onLiveResync } from '../live.js';
import { href, replaceQuietly, seriesHref, type Route } from '../router.js';
import type { Overview, OverviewSeries } from '../types.js';
import { STALE_AFTER_MS } from './series.js';

const REFRESH_MS = 5_000;
const PAGE_SIZE = 50;
const SEARCH_DEBOUNCE_MS = 300;

/** A tag search as the server takes it: `key:value`, the key not empty (split at the first colon). */
const isTag = (text: string): boolean => text.indexOf(':') > 0;

/** "matching “pump” with site:berlin" — what the page shows, for the caption and the empty text. */
function describeSearch(query: string, tag: string): string {
  const parts = [query === '' ? '' : `matching “${query}”`, tag === '' ? '' : `tagged ${tag}`];
  return parts.filter((p) => p !== '').join(' and ');
}

function stat(label: string, value: string, id: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('dt', { id }, label),
    h('dd', { 'aria-labelledby': id }, value),
  );
}

function renderStats(o: Overview): HTMLElement {
  const rate = o.ingest.points_per_second;
  return h(
    'dl',
    { class: 'stats' },
    stat('Devices', formatCount(o.totals.devices), 'st-devices'),
    stat('Series', formatCount(o.totals.series), 'st-series'),
    stat('Events, last hour', `${o.events.hour}${o.events.capped ? '+' : ''}`, 'st-hour'),
    stat('Events, last day', `${o.events.day}${o.events.capped ? '+' : ''}`, 'st-day'),
    stat('Open events', String(o.events.open), 'st-open'),
    stat('Ingest', rate === null ? 'measuring…' : `${formatNumber(rate)} points/s`, 'st-rate'),
  );
}

const formatCount = (n: number): string => n.toLocaleString('en-US');

/** "last point 4 min ago" for a series silent for over a minute (by the server's clock). */
function staleness(s: OverviewSeries, now: number): HTMLElement | null {
  const last = Math.max(s.last, s.scored_at ?? -Infinity);
  if (now - last <= STALE_AFTER_MS) return null;
  return h(
    'span',
    { class: 'stale', title: `last point ${formatTime(last)}` },
    ` last point ${formatAgo(last, now)}`,
  );
}

function renderTable(o: Overview, caption: string): HTMLElement {
  return h(
    'table',
    { class: 'fleet' },
    h('caption', {}, caption),
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
                    : h(
                        'span',
                        { class: 'muted' },
                        ` ${formatNumber(s.value)}${s.unit === undefined ? '' : ` ${s.unit}`}`,
                      ),
                  staleness(s, o.now),
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
}

export function renderFleet(main: HTMLElement, route?: Route): () => void {
  let query = route?.query.get('q') ?? '';
  /** The tag searched for (`key:value`); '' while the field is empty or not yet a tag. */
  let tag = route?.query.get('tag') ?? '';
  if (!isTag(tag)) tag = '';
  /** Cursors of the pages before this one (undefined: the first page). */
  const behind: (string | undefined)[] = [];
  let cursor: string | undefined;
  let next: string | null = null;

  const body = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  const status = h('p', { class: 'error', role: 'alert', hidden: true });
  const announce = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const search = h('input', {
    id: 'fleet-q',
    type: 'search',
    value: query,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'part of a device id',
  });
  const tagHint = h('p', { id: 'fleet-tag-hint', class: 'muted', hidden: true }, '');
  const tagField = h('input', {
    id: 'fleet-tag',
    type: 'search',
    value: tag,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'site:north',
    'aria-describedby': 'fleet-tag-hint',
  });
  const previous = h('button', { type: 'button', disabled: true }, '← Previous page');
  const following = h('button', { type: 'button', disabled: true }, 'Next page →');
  const pager = h(
    'div',
    { class: 'toolbar', role: 'group', 'aria-label': 'Pages' },
    previous,
    following,
  );
  main.append(
    h('h1', { tabindex: '-1' }, 'Fleet'),
    status,
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (e: Event) => e.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: 'fleet-q' }, 'Search devices'), search),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'fleet-tag' }, 'Tag (key:value)'),
        tagField,
        tagHint,
      ),
    ),
    announce,
    body,
    pager,
  );

  let timer: number | undefined;
  let stopped = false;
  /** Answers to superseded requests (an older search) are dropped. */
  let asked = 0;
  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    const ticket = ++asked;
    try {
      const o = await api.overview({
        limit: PAGE_SIZE,
        cursor,
        q: query || undefined,
        tag: tag || undefined,
      });
      if (stopped || ticket !== asked) return;
      next = o.next_cursor;
      const first = behind.length * PAGE_SIZE + 1;
      const range = o.devices.length === 0 ? '' : `${first}–${first + o.devices.length - 1}`;
      const searched = describeSearch(query, tag);
      const caption =
        searched === ''
          ? `Devices ${range} of ${formatCount(o.totals.devices)}, updated ${formatTime(o.now)}`
          : `Devices ${searched}, ${range}, updated ${formatTime(o.now)}`;
      replaceChildren(
        body,
        renderStats(o),
        o.devices.length > 0
          ? renderTable(o, caption)
          : h(
              'p',
              {},
              searched !== ''
                ? `No device ${searched}.`
                : 'No data yet: send points to POST /v1/points (docs/api.md).',
            ),
      );
      previous.disabled = behind.length === 0;
      following.disabled = next === null;
      body.setAttribute('aria-busy', 'false');
      status.hidden = true;
    } catch (err) {
      if (ticket !== asked) return;
      status.hidden = false;
      status.textContent = `Cannot load the overview: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!stopped && ticket === asked) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  }

  function turn(to: string | undefined): void {
    cursor = to;
    body.setAttribute('aria-busy', 'true');
    void refresh().then(() => {
      announce.textContent = `Page ${behind.length + 1}`;
    });
  }
  following.addEventListener('click', () => {
    if (next === null) return;
    behind.push(cursor);
    turn(next);
  });
  previous.addEventListener('click', () => {
    if (behind.length === 0) return;
    turn(behind.pop());
  });

  let typing: number | undefined;
  /** Both fields, 300 ms after the last key; a half-typed tag (no `key:` yet) waits, with a hint. */
  function searchAgain(): void {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => {
      const text = search.value.trim();
      const tagText = tagField.value.trim();
      const wanted = isTag(tagText) ? tagText : '';
      const unfinished = tagText !== '' && wanted === '';
      tagHint.hidden = !unfinished;
      tagHint.textContent = unfinished ? 'Write the tag as key:value, e.g. site:north.' : '';
      tagField.setAttribute('aria-invalid', String(unfinished));
      if (unfinished || (text === query && wanted === tag)) return;
      query = text;
      tag = wanted;
      behind.length = 0;
      replaceQuietly(href([], { q: query, tag }));
      turn(undefined);
    }, SEARCH_DEBOUNCE_MS);
  }
  search.addEventListener('input', searchAgain);
  tagField.addEventListener('input', searchAgain);

  void refresh();
  // An event change refreshes the counts at once (debounced: events come in bursts).
  let soon: number | undefined;
  const off = onLiveEvent(() => {
    window.clearTimeout(soon);
    soon = window.setTimeout(() => void refresh(), 1_000);
  });
  const offResync = onLiveResync(() => void refresh());
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    window.clearTimeout(soon);
    window.clearTimeout(typing);
    off();
    offResync();
  };
}
