/**
 * Incidents: what is wrong now and what was (`#/incidents`), and one incident's page
 * (`#/incidents/<id>`) with acknowledge, assign, comment and resolve. The list shows firing and
 * acknowledged incidents first — since when, device, metrics, severity, acknowledged by whom —
 * then the history, filterable by device, tag, state and time (kept in the address). Both
 * re-read on every live event: an incident is stored before the event that changed it is
 * streamed (docs/dashboard.md, "Incidents").
 */
import { api, ApiError } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatDuration, formatNumber, formatTime, toLocalInput } from '../format.js';
import { onLiveEvent } from '../live.js';
import type { VigilEvent } from '../types.js';
import { unitSuffix, unitsOf, withUnit } from '../units.js';
import { eventHref, href, seriesHref, type Route } from '../router.js';

export interface Incident {
  readonly id: string;
  readonly device: string;
  readonly metrics: readonly string[];
  readonly severity: 'alert' | 'severe';
  readonly state: 'firing' | 'acknowledged' | 'resolved';
  readonly firing_since: number;
  readonly last: number;
  readonly end: number | null;
  readonly event_ids: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly acknowledged_by: string | null;
  readonly acknowledged_at: number | null;
  readonly assignee: string | null;
  readonly resolved_by: string | null;
  readonly resolved_at: number | null;
  readonly comments: readonly {
    readonly id: number;
    readonly by: string | null;
    readonly text: string;
    readonly at: number;
  }[];
}

export const incidentHref = (id: string) => href(['incidents', id]);

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `cannot reach the server (${String(err)})`);
  }
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  // The session ended: the entry page asks for a token again.
  if (res.status === 401) location.reload();
  if (!res.ok) {
    throw new ApiError(
      res.status,
      body.code ?? `HTTP_${res.status}`,
      body.message ?? res.statusText,
    );
  }
  return body as T;
}

const post = <T>(path: string, body?: unknown) =>
  call<T>(path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const incidentPath = (id: string) => `/v1/incidents/${encodeURIComponent(id)}`;

function stateBadge(i: Incident): HTMLElement {
  return h('span', { class: `badge incident-${i.state}` }, i.state);
}

function metricsOf(i: Incident): (HTMLElement | string)[] {
  if (i.metrics.length === 0) return ['—'];
  return i.metrics.flatMap((m, k) => [
    k === 0 ? '' : ', ',
    h('a', { href: seriesHref(i.device, m, { from: i.firing_since - 600_000 }) }, m),
    unitSuffix(i.device, m),
  ]);
}

function row(i: Incident): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-incident-id': i.id, 'data-state': i.state },
    h('td', {}, h('a', { href: incidentHref(i.id) }, formatTime(i.firing_since))),
    h('td', {}, i.device),
    h('td', {}, metricsOf(i)),
    h('td', {}, h('span', { class: `badge level-${i.severity}` }, i.severity)),
    h('td', {}, stateBadge(i)),
    h(
      'td',
      {},
      i.end === null ? h('strong', {}, 'ongoing') : formatDuration(i.end - i.firing_since),
    ),
    h('td', {}, i.acknowledged_by ?? (i.state === 'acknowledged' ? 'yes' : '—')),
    h('td', {}, i.assignee ?? '—'),
  );
}

function table(caption: string, body: HTMLElement): HTMLTableElement {
  return h(
    'table',
    { class: 'incidents' },
    h('caption', { class: 'sr-only' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'Firing since',
          'Device',
          'Metrics',
          'Severity',
          'State',
          'Duration',
          'Acknowledged by',
          'Assignee',
        ].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    body,
  );
}

function field(id: string, label: string, input: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/** `#/incidents`: open incidents, then the filtered history. */
export function renderIncidents(main: HTMLElement, route: Route): () => void {
  const q = route.query;
  const time = (name: string) => {
    const n = Number(q.get(name));
    return q.get(name) !== null && Number.isFinite(n) ? n : undefined;
  };
  const filters = {
    device: q.get('device') ?? '',
    tag: q.get('tag') ?? '',
    state: q.get('state') ?? '',
    from: time('from'),
    to: time('to'),
  };
  const openBody = h('tbody');
  const historyBody = h('tbody');
  const openCount = h('p', { class: 'muted', id: 'open-count' });
  const more = h('p', {});
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const announce = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  let cursor: string | null = null;
  let known = new Set<string>();

  const query = (extra: Record<string, string | number | undefined>) => {
    const params = new URLSearchParams();
    const all = { device: filters.device, tag: filters.tag, ...extra };
    for (const [k, v] of Object.entries(all))
      if (v !== undefined && v !== '') params.set(k, String(v));
    return `/v1/incidents?${params.toString()}`;
  };

  async function load(): Promise<void> {
    try {
      const open = await call<{ incidents: Incident[] }>(query({ state: 'open', limit: 500 }));
      const history = await call<{ incidents: Incident[]; next_cursor: string | null }>(
        query({ state: filters.state, from: filters.from, to: filters.to, limit: 100 }),
      );
      const fresh = open.incidents.filter((i) => !known.has(i.id));
      if (known.size > 0 && fresh.length > 0) {
        announce.textContent = `New incident on ${fresh.map((i) => i.device).join(', ')}`;
      }
      known = new Set(open.incidents.map((i) => i.id));
      replaceChildren(openBody, open.incidents.map(row));
      openCount.textContent =
        open.incidents.length === 0
          ? 'Nothing is firing.'
          : `${open.incidents.length} open incident${open.incidents.length === 1 ? '' : 's'}`;
      replaceChildren(historyBody, history.incidents.map(row));
      cursor = history.next_cursor;
      drawMore();
      error.hidden = true;
    } catch (err) {
      error.hidden = false;
      error.textContent = `Cannot load incidents: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  function drawMore(): void {
    replaceChildren(
      more,
      cursor === null
        ? ''
        : h(
            'button',
            {
              type: 'button',
              onclick: () => {
                if (cursor === null) return;
                void call<{ incidents: Incident[]; next_cursor: string | null }>(
                  query({
                    state: filters.state,
                    from: filters.from,
                    to: filters.to,
                    limit: 100,
                    cursor,
                  }),
                ).then((page) => {
                  historyBody.append(...page.incidents.map(row));
                  cursor = page.next_cursor;
                  drawMore();
                });
              },
            },
            'Older incidents',
          ),
    );
  }

  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter incidents' },
    field(
      'i-device',
      'Device',
      h('input', {
        id: 'i-device',
        name: 'i-device',
        type: 'search',
        value: filters.device,
        placeholder: 'All devices',
      }),
    ),
    field(
      'i-tag',
      'Tag',
      h('input', {
        id: 'i-tag',
        name: 'i-tag',
        type: 'search',
        value: filters.tag,
        placeholder: 'site:north',
      }),
    ),
    field(
      'i-state',
      'State',
      h(
        'select',
        { id: 'i-state', name: 'i-state' },
        [
          ['', 'Any state'],
          ['open', 'Open'],
          ['firing', 'Firing'],
          ['acknowledged', 'Acknowledged'],
          ['resolved', 'Resolved'],
        ].map(([v, text]) =>
          h('option', { value: v ?? '', selected: v === filters.state }, text ?? ''),
        ),
      ),
    ),
    field(
      'i-from',
      'From',
      h('input', {
        id: 'i-from',
        name: 'i-from',
        type: 'datetime-local',
        value: filters.from === undefined ? '' : toLocalInput(filters.from),
      }),
    ),
    field(
      'i-to',
      'To',
      h('input', {
        id: 'i-to',
        name: 'i-to',
        type: 'datetime-local',
        value: filters.to === undefined ? '' : toLocalInput(filters.to),
      }),
    ),
    h(
      'div',
      { class: 'field actions' },
      h('button', { type: 'submit' }, 'Apply'),
      h('a', { href: '#/incidents' }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const at = (name: string) => {
      const v = String(data.get(name) ?? '');
      return v === '' ? undefined : new Date(v).getTime();
    };
    location.hash = href(['incidents'], {
      device: String(data.get('i-device') ?? '').trim(),
      tag: String(data.get('i-tag') ?? '').trim(),
      state: String(data.get('i-state') ?? ''),
      from: at('i-from'),
      to: at('i-to'),
    });
  });

  main.append(
    h('h1', { tabindex: '-1' }, 'Incidents'),
    error,
    announce,
    h('h2', {}, 'Open now'),
    openCount,
    table('Open incidents', openBody),
    h('h2', {}, 'History'),
    form,
    table('Incident history', historyBody),
    more,
  );
  void load();

  let soon: number | undefined;
  const off = onLiveEvent(() => {
    window.clearTimeout(soon);
    soon = window.setTimeout(() => void load(), 300);
  });
  return () => {
    off();
    window.clearTimeout(soon);
  };
}

/** Most events an incident page reads and lists (the newest); the rest are counted. */
const EVENTS_SHOWN = 50;

/**
 * The incident's events as a table — when, which metric, level, how long, peak score and value
 * with its unit — read by id (`GET /v1/events/:id`). Closed events are read once per page; open
 * ones again at every redraw (their end and peak still move).
 */
function eventsTable(
  i: Incident,
  known: Map<string, VigilEvent | 'missing'>,
): { table: HTMLElement; more: HTMLElement | string } {
  const ids = i.event_ids.slice(-EVENTS_SHOWN).reverse();
  const body = h('tbody');
  const rows = ids.map((id) => {
    const tr = h(
      'tr',
      { 'data-event-id': id },
      h('td', { colspan: 6 }, h('a', { href: eventHref(id) }, id)),
    );
    body.append(tr);
    return tr;
  });
  const fill = (tr: HTMLElement, e: VigilEvent, units: Map<string, string>) => {
    const values =
      e.metric === null
        ? Object.entries(e.peak.values)
        : [[e.metric, e.peak.values[e.metric]] as const];
    replaceChildren(
      tr,
      h('td', {}, h('a', { href: eventHref(e.id) }, formatTime(e.start))),
      h(
        'td',
        {},
        e.metric === null
          ? 'all metrics'
          : h('a', { href: seriesHref(e.device, e.metric, { from: e.start - 600_000 }) }, e.metric),
      ),
      h('td', {}, h('span', { class: `badge level-${e.level}` }, e.level)),
      h('td', {}, e.end === null ? h('strong', {}, 'open') : formatDuration(e.end - e.start)),
      h('td', { class: 'num' }, formatNumber(e.peak.score)),
      h(
        'td',
        { class: 'num' },
        values
          .slice(0, 3)
          .map(([m, v]) => (e.metric === null ? `${m} ` : '') + withUnit(v, units.get(m)))
          .join(', ') || '—',
      ),
    );
  };
  void unitsOf(i.device).then(
    (units) =>
      Promise.all(
        ids.map(async (id, k) => {
          let e = known.get(id);
          if (e === undefined || (e !== 'missing' && e.end === null)) {
            e = await api.event(id).catch((err: unknown) => {
              if (err instanceof ApiError && err.status === 404) return 'missing' as const;
              throw err;
            });
            known.set(id, e);
          }
          if (e === 'missing') rows[k]!.append(h('td', { class: 'muted' }, 'no longer stored'));
          else fill(rows[k]!, e, units);
        }),
      ).catch(() => undefined), // a failed read leaves that row as its id (a link)
  );
  return {
    table: h(
      'table',
      { class: 'incident-events' },
      h('caption', { class: 'sr-only' }, 'Events of this incident'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Start', 'Metric', 'Level', 'Duration', 'Peak score', 'Peak value'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      body,
    ),
    more:
      i.event_ids.length > ids.length
        ? h('p', { class: 'muted' }, `The newest ${ids.length} of ${i.event_ids.length} events.`)
        : '',
  };
}

/** `#/incidents/<id>`: the incident, its events and comments, and what to do about it. */
export function renderIncident(main: HTMLElement, route: Route): () => void {
  const id = route.path[1] ?? '';
  const heading = h('h1', { tabindex: '-1' }, `Incident ${id}`);
  const body = h('div', {});
  const status = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'incident-status' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  main.append(heading, error, status, body);

  const fail = (err: unknown) => {
    error.hidden = false;
    error.textContent = err instanceof Error ? err.message : String(err);
  };

  const events = new Map<string, VigilEvent | 'missing'>();
  const act = (what: string, run: () => Promise<Incident>) =>
    run().then((i) => {
      error.hidden = true;
      status.textContent = what;
      draw(i);
    }, fail);

  function draw(i: Incident): void {
    heading.textContent = `Incident on ${i.device}`;
    document.title = `${heading.textContent} · Vigil`;
    const assignee = h('input', {
      id: 'incident-assignee',
      name: 'assignee',
      type: 'text',
      value: i.assignee ?? '',
      autocomplete: 'off',
    });
    const comment = h('textarea', { id: 'incident-comment', name: 'comment', rows: 3 });
    const resolved = i.state === 'resolved';
    const listed = eventsTable(i, events);
    replaceChildren(
      body,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'State'),
        h('dd', { id: 'incident-state' }, stateBadge(i)),
        h('dt', {}, 'Severity'),
        h('dd', {}, h('span', { class: `badge level-${i.severity}` }, i.severity)),
        h('dt', {}, 'Firing since'),
        h('dd', {}, formatTime(i.firing_since)),
        h('dt', {}, 'Ended'),
        h('dd', {}, i.end === null ? 'ongoing' : formatTime(i.end)),
        h('dt', {}, 'Metrics'),
        h('dd', {}, metricsOf(i)),
        h('dt', {}, 'Acknowledged by'),
        h(
          'dd',
          { id: 'incident-acknowledged' },
          i.acknowledged_at === null
            ? '—'
            : `${i.acknowledged_by ?? 'someone'} at ${formatTime(i.acknowledged_at)}`,
        ),
        h('dt', {}, 'Assignee'),
        h('dd', {}, i.assignee ?? '—'),
        h('dt', {}, 'Resolved'),
        h(
          'dd',
          {},
          i.resolved_at === null
            ? '—'
            : `${formatTime(i.resolved_at)}${i.resolved_by === null ? ' (all events closed)' : ` by ${i.resolved_by}`}`,
        ),
        h('dt', {}, 'Tags'),
        h(
          'dd',
          {},
          Object.keys(i.tags).length === 0
            ? '—'
            : Object.entries(i.tags)
                .map(([k, v]) => `${k}:${v}`)
                .join(', '),
        ),
      ),
      h(
        'div',
        { class: 'incident-actions', role: 'group', 'aria-label': 'Incident actions' },
        h(
          'button',
          {
            type: 'button',
            id: 'incident-ack',
            disabled: i.state !== 'firing',
            onclick: () =>
              void act('Acknowledged', () => post<Incident>(`${incidentPath(id)}/acknowledge`)),
          },
          'Acknowledge',
        ),
        h(
          'button',
          {
            type: 'button',
            id: 'incident-resolve',
            disabled: resolved,
            onclick: () =>
              void act('Resolved', () => post<Incident>(`${incidentPath(id)}/resolve`)),
          },
          'Resolve',
        ),
      ),
      h(
        'form',
        {
          class: 'filters',
          'aria-label': 'Assign',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const who = assignee.value.trim();
            void act('Assigned', () =>
              post<Incident>(`${incidentPath(id)}/assign`, { assignee: who === '' ? null : who }),
            );
          },
        },
        field('incident-assignee', 'Assignee', assignee),
        h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Assign')),
      ),
      h('h2', {}, `Events (${i.event_ids.length})`),
      listed.table,
      listed.more,
      h('h2', {}, 'Comments'),
      i.comments.length === 0
        ? h('p', { class: 'muted' }, 'No comments yet.')
        : h(
            'ol',
            { class: 'comments' },
            i.comments.map((c) =>
              h(
                'li',
                {},
                h('p', { class: 'muted' }, `${c.by ?? 'someone'}, ${formatTime(c.at)}`),
                h('p', {}, c.text),
              ),
            ),
          ),
      h(
        'form',
        {
          'aria-label': 'Add a comment',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const text = comment.value.trim();
            if (text === '') return;
            void act('Comment added', () =>
              post<Incident>(`${incidentPath(id)}/comments`, { text }),
            );
          },
        },
        field('incident-comment', 'Comment', comment),
        h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Add comment')),
      ),
      h('p', {}, h('a', { href: '#/incidents' }, 'All incidents')),
    );
  }

  const load = () =>
    call<Incident>(incidentPath(id)).then(draw, (err: unknown) => {
      if (err instanceof ApiError && err.status === 404) {
        heading.textContent = 'Incident not found';
        replaceChildren(body, h('p', {}, h('a', { href: '#/incidents' }, 'All incidents')));
        return;
      }
      fail(err);
    });
  void load();
  let soon: number | undefined;
  const off = onLiveEvent((m) => {
    if (!m.event.series.startsWith(id.split('|')[0] ?? '')) return;
    window.clearTimeout(soon);
    soon = window.setTimeout(() => {
      // Never redraw under someone typing a comment or an assignee.
      const typing = document.activeElement;
      if (typing instanceof HTMLInputElement || typing instanceof HTMLTextAreaElement) return;
      void load();
    }, 300);
  });
  return () => {
    off();
    window.clearTimeout(soon);
  };
}
