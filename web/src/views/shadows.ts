/**
 * Shadow runs (docs/shadow.md): the list, a form that starts a stored strategy version in shadow,
 * and for one run its comparison with the active strategies side by side (alarm rate, overlap,
 * detection delay, per-point latency, precision on labels) with Promote and Discard, each
 * confirmed first with what it changes (and a warning while the candidate has seen too little).
 */
import { api, ApiError } from '../api.js';
import { confirmAction } from '../confirm.js';
import { h, replaceChildren } from '../dom.js';
import { formatDuration, formatNumber, formatPercent, formatTime } from '../format.js';
import { href, type Route } from '../router.js';
import type { ActiveStrategies, ShadowDetail, ShadowRun, ShadowSide } from '../types.js';

/** Running comparisons refresh this often (ms). */
const REFRESH_MS = 3_000;
/**
 * Below these a candidate's numbers say little: detectors warm up over their first points per
 * series (ewzscore 30, extreme-value 150 by default, docs/detectors.md), and a comparison on
 * fewer than 1,000 points has seen too few events either way.
 */
export const WARMUP_POINTS_PER_SERIES = 150;
export const MIN_POINTS = 1_000;

/** Why promoting this candidate now may be too early; empty when it has seen enough. */
export function earlyWarnings(d: ShadowDetail): string[] {
  const c = d.comparison;
  const out: string[] = [];
  const perSeries = c.series === 0 ? 0 : c.candidate.points / c.series;
  if (perSeries < WARMUP_POINTS_PER_SERIES) {
    out.push(
      `The candidate is still warming up: ${Math.floor(perSeries)} points per series so far ` +
        `(detectors need up to ${WARMUP_POINTS_PER_SERIES} before they flag anything).`,
    );
  }
  if (c.candidate.points < MIN_POINTS) {
    out.push(
      `It has scored ${c.candidate.points} points, fewer than ${MIN_POINTS.toLocaleString('en-US')}.`,
    );
  }
  if (c.candidate.events === 0) {
    out.push('It has raised no event yet, so how often it would alert is unknown.');
  }
  return out;
}

const message = (err: unknown): string =>
  err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);

function statusBadge(status: ShadowRun['status']) {
  return h('span', { class: `badge shadow-${status}` }, status);
}

function runsTable(runs: readonly ShadowRun[]) {
  if (runs.length === 0) return h('p', {}, 'No shadow runs yet.');
  return h(
    'table',
    { class: 'shadow-runs' },
    h('caption', { class: 'sr-only' }, 'Shadow runs'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Run', 'Candidate', 'Status', 'Started', 'Points', 'Series'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      runs.map((r) =>
        h(
          'tr',
          { 'data-run-id': r.id },
          h('td', {}, h('a', { href: href(['shadows', String(r.id)]) }, `Run ${r.id}`)),
          h('td', {}, `${r.strategy}@${r.version}`),
          h('td', {}, statusBadge(r.status)),
          h('td', {}, formatTime(r.started_at)),
          h('td', { class: 'num' }, r.counters?.points ?? '—'),
          h('td', { class: 'num' }, r.counters?.series ?? '—'),
        ),
      ),
    ),
  );
}

/** Stored versions that are not active, newest first, as `name@version` options. */
async function candidates(active: ActiveStrategies): Promise<[string, number][]> {
  const { strategies } = await api.strategies();
  const activeOf = new Map(
    [...active.strategies, active.default].map((s) => [s.name, s.version] as const),
  );
  const out: [string, number][] = [];
  for (const s of strategies) {
    for (const v of [...s.versions].sort((a, b) => b.version - a.version)) {
      if (activeOf.get(s.name) !== v.version) out.push([s.name, v.version]);
    }
  }
  return out;
}

function startForm(onStarted: (run: ShadowRun) => void) {
  const status = h('p', { role: 'status' });
  const choice = h('select', { id: 'shadow-candidate', name: 'candidate' });
  const button = h('button', { type: 'submit' }, 'Start shadow run');
  const form = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'shadow-start-h' },
    h('h2', { id: 'shadow-start-h' }, 'Start a shadow run'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'shadow-candidate' }, 'Candidate (a stored version, not active)'),
      choice,
    ),
    h('div', { class: 'field actions' }, button),
    status,
  );
  void Promise.all([api.active()])
    .then(([active]) => candidates(active))
    .then((list) => {
      replaceChildren(
        choice,
        list.length === 0
          ? h('option', { value: '' }, 'No stored version to try')
          : list.map(([name, version]) =>
              h('option', { value: `${name}@${version}` }, `${name} version ${version}`),
            ),
      );
    })
    .catch((err: unknown) => {
      status.className = 'error';
      status.textContent = `Cannot list strategies: ${message(err)}`;
    });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = choice.value;
    const at = value.lastIndexOf('@');
    if (at <= 0) return;
    button.disabled = true;
    status.className = '';
    status.textContent = 'Starting…';
    api
      .startShadow(value.slice(0, at), Number(value.slice(at + 1)))
      .then(onStarted)
      .catch((err: unknown) => {
        status.className = 'error';
        status.textContent = message(err);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return form;
}

function renderList(main: HTMLElement): () => void {
  const list = h('div', {}, h('p', {}, 'Loading…'));
  main.append(
    h('h1', { tabindex: '-1' }, 'Shadow runs'),
    h(
      'p',
      { class: 'muted' },
      'A candidate strategy scores the same points as the active one; its events are stored as ' +
        'shadow events and never alerted.',
    ),
    startForm((run) => {
      location.hash = href(['shadows', String(run.id)]);
    }),
    h('h2', {}, 'Runs'),
    list,
  );
  let stopped = false;
  api
    .shadows()
    .then(({ runs }) => {
      if (!stopped) replaceChildren(list, runsTable(runs));
    })
    .catch((err: unknown) => {
      replaceChildren(list, h('p', { class: 'error', role: 'alert' }, message(err)));
    });
  return () => {
    stopped = true;
  };
}

const ns = (v: number | null) => (v === null ? '—' : `${formatNumber(v)} ns`);
const share = (n: number, s: number | null) =>
  s === null ? String(n) : `${n} (${formatPercent(s)})`;

function comparisonTable(d: ShadowDetail) {
  const { active, candidate } = d.comparison;
  const rows: [string, (s: ShadowSide) => string][] = [
    ['Points scored', (s) => String(s.points)],
    ['Events', (s) => String(s.events)],
    ['Alarms per 10k points', (s) => formatNumber(s.alarms_per_10k)],
    ['Events overlapping the other side', (s) => share(s.overlapping, s.overlap_share)],
    ['Scoring time per point', (s) => ns(s.ns_per_point)],
    [
      'Precision on labelled events',
      (s) =>
        s.precision === null
          ? `— (${s.labelled} labelled)`
          : `${formatPercent(s.precision)} (${s.labelled} labelled)`,
    ],
  ];
  return h(
    'table',
    { class: 'shadow-compare' },
    h('caption', {}, 'Active and candidate on the same points'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Measure'),
        h('th', { scope: 'col' }, 'Active'),
        h('th', { scope: 'col' }, `Candidate ${d.strategy}@${d.version}`),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map(([label, value]) =>
        h(
          'tr',
          { 'data-measure': label },
          h('th', { scope: 'row' }, label),
          h('td', { class: 'num', 'data-side': 'active' }, value(active)),
          h('td', { class: 'num', 'data-side': 'candidate' }, value(candidate)),
        ),
      ),
    ),
  );
}

function delayText(d: ShadowDetail): string {
  const c = d.comparison;
  if (c.mean_delay_ms === null) return 'Detection delay: no overlapping events yet.';
  const ms = c.mean_delay_ms;
  const when = ms === 0 ? 'at the same time as' : ms < 0 ? 'earlier than' : 'later than';
  return (
    `Detection delay: the candidate flags ${ms === 0 ? '' : `${formatDuration(Math.abs(ms))} `}` +
    `${when} the active strategy on average (${c.delay_pairs} overlapping event${c.delay_pairs === 1 ? '' : 's'}).`
  );
}

function renderDetail(main: HTMLElement, id: number): () => void {
  const body = h('div', {}, h('p', {}, 'Loading…'));
  const status = h('p', { role: 'status' });
  main.append(
    h('h1', { tabindex: '-1' }, `Shadow run ${id}`),
    h('p', {}, h('a', { href: '#/shadows' }, 'All shadow runs')),
    status,
    body,
  );
  let stopped = false;
  let timer: number | undefined;

  const act = async (verb: 'Promote' | 'Discard', button: HTMLButtonElement, d: ShadowDetail) => {
    const c = d.comparison;
    const candidate = `${d.strategy} version ${d.version}`;
    const sure = await confirmAction(
      verb === 'Promote'
        ? {
            title: `Promote ${candidate}?`,
            changes: [
              `${candidate} becomes the active version of ${d.strategy}: it scores and alerts on every series the strategy matches (${c.series} series in this run).`,
              'The version active now stops scoring; you can roll back to it on the Strategies page.',
              `Shadow run ${d.id} ends as promoted.`,
            ],
            warnings: earlyWarnings(d),
            confirm: 'Promote',
          }
        : {
            title: `Discard shadow run ${d.id}?`,
            changes: [
              `${candidate} stops scoring in shadow; run ${d.id} ends as discarded.`,
              `Its ${c.candidate.events} shadow events stay stored; the active strategy is unchanged.`,
            ],
            confirm: 'Discard',
          },
    );
    if (!sure) return;
    button.disabled = true;
    status.className = '';
    status.textContent = `${verb === 'Promote' ? 'Promoting' : 'Discarding'}…`;
    const done =
      verb === 'Promote'
        ? api
            .promoteShadow(id)
            .then(
              (r) =>
                `Promoted: ${r.reload.name}@${r.reload.version} is active (${r.reload.moved} series moved).`,
            )
        : api.discardShadow(id).then(() => 'Discarded: the candidate no longer scores.');
    done
      .then((text) => {
        status.className = 'ok';
        status.textContent = text;
        return load();
      })
      .catch((err: unknown) => {
        status.className = 'error';
        status.textContent = message(err);
        button.disabled = false;
      });
  };

  async function load(): Promise<void> {
    window.clearTimeout(timer);
    try {
      const d = await api.shadow(id);
      if (stopped) return;
      const c = d.comparison;
      const promote = h('button', { type: 'button', class: 'primary' }, 'Promote');
      const discard = h('button', { type: 'button' }, 'Discard');
      promote.addEventListener('click', () => void act('Promote', promote, d));
      discard.addEventListener('click', () => void act('Discard', discard, d));
      replaceChildren(
        body,
        h(
          'p',
          {},
          `Candidate ${d.strategy}@${d.version} `,
          statusBadge(d.status),
          ` · started ${formatTime(d.started_at)}`,
          d.ended_at === null ? '' : ` · ended ${formatTime(d.ended_at)}`,
          ` · ${c.series} series`,
          c.first_time === null
            ? ' · no points yet'
            : ` · points from ${formatTime(c.first_time)} to ${formatTime(c.last_time ?? c.first_time)}`,
        ),
        comparisonTable(d),
        h('p', { class: 'shadow-delay' }, delayText(d)),
        h(
          'p',
          {},
          h('a', { href: href(['events'], { shadow_run: d.id }) }, 'Candidate events'),
          ' (listed as shadow events)',
        ),
        d.status === 'running' ? h('div', { class: 'field actions' }, promote, discard) : null,
      );
      if (d.status === 'running') timer = window.setTimeout(() => void load(), REFRESH_MS);
    } catch (err) {
      replaceChildren(body, h('p', { class: 'error', role: 'alert' }, message(err)));
    }
  }
  void load();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

export function renderShadows(main: HTMLElement, route: Route): () => void {
  const id = route.path[1];
  if (id === undefined) return renderList(main);
  return renderDetail(main, Number(id));
}
