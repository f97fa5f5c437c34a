/**
 * Events: a filter form (device, minimum level, strategy, time range, shadow events; kept in the
 * address) and
 * the list, newest first. Events opened or changed while the page is open appear at once, from
 * the live stream, and are announced. After the stream reconnects (or when the page opened while
 * the server was away) the filters' choices and the list are fetched again.
 */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import {
  formatDuration,
  formatNumber,
  formatTime,
  fromLocalInput,
  toLocalInput,
} from '../format.js';
import { fromLive } from '../live-event.js';
import { onLiveEvent, onLiveResync } from '../live.js';
import { zoneShort } from '../time-zone.js';
import { eventHref, href, seriesHref, type Route } from '../router.js';
import type { VigilEvent } from '../types.js';

/** Device ids suggested while typing in the device filter. */
const DEVICE_SUGGESTIONS = 20;

interface Filters {
  device: string;
  level: string;
  strategy: string;
  from: number | undefined;
  to: number | undefined;
  /** Shadow-run events (docs/shadow.md): '' leaves them out, `include` or `only`. */
  shadow: string;
  shadowRun: string;
}

function readFilters(q: URLSearchParams): Filters {
  const time = (name: string) => {
    const n = Number(q.get(name));
    return q.get(name) !== null && Number.isFinite(n) ? n : undefined;
  };
  return {
    device: q.get('device') ?? '',
    level: q.get('level') ?? '',
    strategy: q.get('strategy') ?? '',
    from: time('from'),
    to: time('to'),
    shadow: q.get('shadow') ?? '',
    shadowRun: q.get('shadow_run') ?? '',
  };
}

function matches(e: VigilEvent, f: Filters): boolean {
  // The live stream never carries shadow events.
  if (f.shadow === 'only' || f.shadowRun !== '') return false;
  if (f.device !== '' && e.device !== f.device) return false;
  if (f.level === 'severe' && e.level !== 'severe') return false;
  if (f.strategy !== '' && e.strategy !== f.strategy) return false;
  if (f.to !== undefined && e.start >= f.to) return false;
  if (f.from !== undefined && e.end !== null && e.end < f.from) return false;
  return true;
}

function select(id: string, label: string, value: string, options: readonly [string, string][]) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, name: id },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
    ),
  );
}

function timeInput(id: string, label: string, value: number | undefined) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    // Text in the dashboard's one format, not datetime-local (shown in the browser's locale,
    // often 12-hour, and always in the browser's zone).
    h('input', {
      id,
      name: id,
      type: 'text',
      inputmode: 'numeric',
      size: 17,
      placeholder: 'YYYY-MM-DD HH:MM',
      pattern: '\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2})?',
      title: 'A time as YYYY-MM-DD HH:MM (24-hour)',
      autocomplete: 'off',
      value: value === undefined ? '' : toLocalInput(value),
    }),
  );
}

function row(e: VigilEvent, fresh: boolean): HTMLTableRowElement {
  const series = e.metric === null ? e.device : `${e.device} / ${e.metric}`;
  return h(
    'tr',
    { class: fresh ? 'fresh' : '', 'data-event-id': e.id },
    h('td', {}, h('a', { href: eventHref(e.id) }, formatTime(e.start))),
    h(
      'td',
      {},
      e.metric === null ? series : h('a', { href: seriesHref(e.device, e.metric) }, series),
    ),
    h('td', {}, h('span', { class: `badge level-${e.level}` }, e.level)),
    h('td', {}, e.end === null ? h('strong', {}, 'open') : formatDuration(e.end - e.start)),
    h('td', { class: 'num' }, formatNumber(e.peak.score)),
    h(
      'td',
      {},
      `${e.strategy}@${e.strategy_version}`,
      e.shadow_run === null || e.shadow_run === undefined
        ? ''
        : [
            ' ',
            h('span', { class: 'badge shadow', title: `shadow run ${e.shadow_run}` }, 'shadow'),
          ],
    ),
    h('td', {}, e.label ? e.label.replace('_', ' ') : '—'),
    h('td', {}, fresh ? h('span', { class: 'badge new' }, 'new') : ''),
  );
}

export function renderEvents(main: HTMLElement, route: Route): () => void {
  const filters = readFilters(route.query);
  const form = h('form', { class: 'filters', 'aria-label': 'Filter events' });
  const body = h('tbody');
  const count = h('p', { class: 'muted' });
  const announce = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  let devices: string[] = [];
  let shown: VigilEvent[] = [];
  const freshIds = new Set<string>();

  function draw(): void {
    replaceChildren(
      body,
      shown.map((e) => row(e, freshIds.has(e.id))),
    );
    count.textContent = `${shown.length} event${shown.length === 1 ? '' : 's'}, newest first`;
  }

  async function load(): Promise<void> {
    try {
      const { events } = await api.events({
        device: filters.device,
        level: filters.level,
        strategy: filters.strategy,
        from: filters.from,
        to: filters.to,
        shadow: filters.shadow,
        shadow_run: filters.shadowRun,
        limit: 500,
      });
      // Keep live events the store has not written yet (it writes them asynchronously).
      const ids = new Set(events.map((e) => e.id));
      shown = [...shown.filter((e) => freshIds.has(e.id) && !ids.has(e.id)), ...events];
      error.hidden = true;
      draw();
    } catch (err) {
      error.hidden = false;
      error.textContent = `Cannot load events: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /**
   * The device: typed, with suggestions searched on the server as one types (a fleet of 100,000
   * devices is never listed whole).
   */
  function deviceField(): HTMLElement {
    const list = h('datalist', { id: 'f-device-list' });
    const input = h('input', {
      id: 'f-device',
      name: 'f-device',
      type: 'search',
      list: 'f-device-list',
      value: filters.device,
      placeholder: 'All devices',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    let typing: number | undefined;
    let asked = 0;
    input.addEventListener('input', () => {
      window.clearTimeout(typing);
      typing = window.setTimeout(() => {
        const ticket = ++asked;
        const q = input.value.trim();
        api
          .devicePage({ q: q === '' ? undefined : q, limit: DEVICE_SUGGESTIONS })
          .then(({ devices: found }) => {
            if (ticket !== asked) return;
            devices = [...new Set([...(filters.device === '' ? [] : [filters.device]), ...found])];
            replaceChildren(
              list,
              found.map((d) => h('option', { value: d })),
            );
          })
          .catch(() => undefined);
      }, 300);
    });
    return h('div', { class: 'field' }, h('label', { for: 'f-device' }, 'Device'), input, list);
  }

  /** Whether the strategy choices came from the server (else they are fetched again on resync). */
  let formFilled = false;

  async function buildForm(): Promise<void> {
    const s = await api.strategies().then(
      (answer) => {
        formFilled = true;
        return answer;
      },
      () => ({ strategies: [] }),
    );
    if (filters.device !== '') devices = [filters.device];
    replaceChildren(
      form,
      deviceField(),
      select('f-level', 'Level', filters.level, [
        ['', 'Alert and severe'],
        ['severe', 'Severe only'],
      ]),
      select('f-strategy', 'Strategy', filters.strategy, [
        ['', 'All strategies'],
        ...s.strategies.map((x): [string, string] => [x.name, x.name]),
      ]),
      select('f-shadow', 'Shadow runs', filters.shadow, [
        ['', 'Live events only'],
        ['include', 'Live and shadow events'],
        ['only', 'Shadow events only'],
      ]),
      timeInput('f-from', `From (${zoneShort()})`, filters.from),
      timeInput('f-to', `To (${zoneShort()})`, filters.to),
      h(
        'div',
        { class: 'field actions' },
        h('button', { type: 'submit' }, 'Apply'),
        h('a', { href: '#/events' }, 'Clear'),
      ),
    );
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const time = (name: string) => fromLocalInput(String(data.get(name) ?? ''));
    location.hash = href(['events'], {
      device: String(data.get('f-device') ?? ''),
      level: String(data.get('f-level') ?? ''),
      strategy: String(data.get('f-strategy') ?? ''),
      from: time('f-from'),
      to: time('f-to'),
      shadow: String(data.get('f-shadow') ?? ''),
    });
  });

  main.append(
    h('h1', { tabindex: '-1' }, 'Events'),
    form,
    error,
    count,
    announce,
    h(
      'table',
      { class: 'events' },
      h('caption', { class: 'sr-only' }, 'Events'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Start', 'Series', 'Level', 'Duration', 'Peak score', 'Strategy', 'Label', ''].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      body,
    ),
  );
  void buildForm().then(load);

  // Events opened, changed or closed while the stream was down never arrive live: fetch again.
  const offResync = onLiveResync(() => {
    void (formFilled ? load() : buildForm().then(load));
  });

  let soon: number | undefined;
  const off = onLiveEvent((m) => {
    const e = fromLive(m.event, devices);
    if (!matches(e, filters)) return;
    const known = shown.findIndex((x) => x.id === e.id);
    if (known >= 0) shown[known] = { ...e, label: shown[known]?.label ?? null };
    else {
      shown = [e, ...shown];
      freshIds.add(e.id);
      announce.textContent = `New ${e.level} event on ${m.event.series}`;
    }
    draw();
    window.clearTimeout(soon);
    soon = window.setTimeout(() => void load(), 1_500);
  });
  return () => {
    off();
    offResync();
    window.clearTimeout(soon);
  };
}
