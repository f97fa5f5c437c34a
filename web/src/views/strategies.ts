/**
 * Strategies: the list with the active version of each; for one strategy its YAML in an editor
 * (saved through the API's validation and health check, errors shown beside the editor), the
 * version history, a diff between any two versions, and roll back.
 */
import { api, ApiError } from '../api.js';
import { diffView } from '../diff-view.js';
import { h, replaceChildren } from '../dom.js';
import { formatTime } from '../format.js';
import { href, type Route } from '../router.js';
import type { ActiveStrategies, StrategySummary, StrategyVersion } from '../types.js';
import { readVersion, withVersion } from '../yaml-version.js';
import { confirmAction } from '../confirm.js';

function activeVersion(active: ActiveStrategies, name: string): number | undefined {
  if (active.default.name === name) return active.default.version;
  return active.strategies.find((s) => s.name === name)?.version;
}

function list(strategies: readonly StrategySummary[], active: ActiveStrategies, selected: string) {
  return h(
    'nav',
    { 'aria-label': 'Strategies', class: 'strategy-list' },
    h(
      'ul',
      {},
      strategies.map((s) => {
        const v = activeVersion(active, s.name);
        return h(
          'li',
          {},
          h(
            'a',
            {
              href: href(['strategies', s.name]),
              'aria-current': s.name === selected ? 'page' : undefined,
            },
            s.name,
          ),
          h(
            'span',
            { class: 'muted' },
            v === undefined ? ` · v${s.latest} (not active)` : ` · v${v} active`,
          ),
        );
      }),
    ),
  );
}

export function renderStrategies(main: HTMLElement, route: Route): () => void {
  const selected = route.path[1];
  const aside = h('div', { class: 'strategy-aside' }, h('p', {}, 'Loading…'));
  const detail = h('div', { class: 'strategy-detail' });
  main.append(
    h('h1', { tabindex: '-1' }, selected === undefined ? 'Strategies' : `Strategy ${selected}`),
    h('div', { class: 'two-columns' }, aside, detail),
  );
  let stopped = false;

  async function refresh(focusMessage?: { text: string; ok: boolean }): Promise<void> {
    const [{ strategies }, active] = await Promise.all([api.strategies(), api.active()]);
    if (stopped) return;
    replaceChildren(aside, list(strategies, active, selected ?? ''));
    if (selected === undefined) {
      replaceChildren(detail, h('p', {}, 'Choose a strategy to view its YAML, history and diffs.'));
      return;
    }
    const summary = strategies.find((s) => s.name === selected);
    if (summary === undefined) {
      replaceChildren(
        detail,
        h('p', { class: 'error', role: 'alert' }, `No strategy named ${selected}.`),
      );
      return;
    }
    const { versions } = await api.versions(selected);
    if (stopped) return;
    replaceChildren(
      detail,
      strategyDetail(selected, versions, activeVersion(active, selected), refresh, focusMessage),
    );
  }
  refresh().catch((err: unknown) => {
    replaceChildren(
      detail,
      h('p', { class: 'error', role: 'alert' }, `Cannot load strategies: ${String(err)}`),
    );
  });
  return () => {
    stopped = true;
  };
}

function strategyDetail(
  name: string,
  versions: readonly StrategyVersion[],
  active: number | undefined,
  refresh: (message?: { text: string; ok: boolean }) => Promise<void>,
  message?: { text: string; ok: boolean },
): HTMLElement[] {
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  const latest = sorted[0];
  const shown = sorted.find((v) => v.version === active) ?? latest;
  const editor = h(
    'textarea',
    {
      id: 'yaml',
      name: 'yaml',
      rows: '14',
      spellcheck: 'false',
      autocapitalize: 'off',
      'aria-describedby': 'yaml-help yaml-errors',
    },
    shown?.yaml ?? '',
  );
  const bump = h('input', { id: 'bump', type: 'checkbox', checked: true });
  const errors = h('div', { id: 'yaml-errors', role: 'alert' });
  const status = h(
    'p',
    { role: 'status', class: message?.ok === false ? 'error' : 'ok' },
    message?.text ?? '',
  );

  const showErrors = (err: unknown) => {
    const text = err instanceof Error ? err.message : String(err);
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    editor.setAttribute('aria-invalid', 'true');
    replaceChildren(
      errors,
      h('p', { class: 'error' }, err instanceof ApiError ? `${err.code}:` : 'Error:'),
      h(
        'ul',
        { class: 'error-list' },
        lines.map((l) => h('li', {}, l)),
      ),
    );
  };

  const form = h(
    'form',
    { class: 'editor', 'aria-labelledby': 'editor-h' },
    h(
      'h2',
      { id: 'editor-h' },
      `YAML${shown === undefined ? '' : ` (version ${shown.version}${shown.version === active ? ', active' : ''})`}`,
    ),
    h('label', { for: 'yaml' }, `Strategy ${name} as YAML`),
    editor,
    h(
      'p',
      { id: 'yaml-help', class: 'muted' },
      'Saving stores a new version, checks it on the recent points of its series and makes it active (docs/strategies.md). Tab leaves the editor.',
    ),
    h(
      'div',
      { class: 'field inline' },
      bump,
      h('label', { for: 'bump' }, 'Give it the next version number on save'),
    ),
    errors,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, 'Save and activate')),
    status,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let yaml = editor.value;
    const top = latest?.version ?? 0;
    const v = readVersion(yaml);
    // The raised number is sent, not written into the editor: a refused save leaves the text as typed.
    if (bump.checked && (v === undefined || v <= top)) yaml = withVersion(yaml, top + 1);
    status.textContent = 'Saving…';
    status.className = 'muted';
    api.saveStrategy(name, yaml).then(
      (r) => {
        editor.removeAttribute('aria-invalid');
        errors.replaceChildren();
        void refresh({
          text:
            `Version ${r.version} is ${r.status === 'active' ? 'active' : 'already active'}: ` +
            `health check replayed ${r.check.points} points of ${r.check.series} series, ${r.check.flagged} flagged.`,
          ok: true,
        });
      },
      (err: unknown) => {
        status.textContent = 'Not saved.';
        status.className = 'error';
        showErrors(err);
      },
    );
  });

  const history = h(
    'table',
    { class: 'history' },
    h('caption', { class: 'sr-only' }, 'Version history'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Version', 'Stored', 'State', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      sorted.map((v, i) => {
        const previous = sorted[i + 1];
        return h(
          'tr',
          { 'data-version': String(v.version) },
          h('th', { scope: 'row' }, `v${v.version}`),
          h('td', {}, formatTime(v.created_at)),
          h('td', {}, v.version === active ? h('strong', { class: 'badge active' }, 'active') : ''),
          h(
            'td',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                onclick: () => {
                  editor.value = v.yaml;
                  editor.focus();
                },
              },
              `Edit v${v.version}`,
            ),
            previous === undefined
              ? null
              : h(
                  'button',
                  { type: 'button', onclick: () => showDiff(previous.version, v.version) },
                  `Diff with v${previous.version}`,
                ),
            v.version === active
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    onclick: async () => {
                      const sure = await confirmAction({
                        title: `Roll ${name} back to version ${v.version}?`,
                        changes: [
                          `Version ${v.version} (stored ${formatTime(v.created_at)}) becomes the active version of ${name} and scores every series the strategy matches.`,
                          active === undefined
                            ? `${name} has no active version now.`
                            : `Version ${active}, active now, stops scoring; it stays stored, so you can roll back to it.`,
                        ],
                        confirm: `Roll back to v${v.version}`,
                      });
                      if (!sure) return;
                      status.textContent = `Rolling back to v${v.version}…`;
                      api.rollback(name, v.version).then(
                        (r) =>
                          void refresh({ text: `Version ${r.version} is active again.`, ok: true }),
                        (err: unknown) => {
                          status.textContent = 'Not rolled back.';
                          status.className = 'error';
                          showErrors(err);
                        },
                      );
                    },
                  },
                  `Roll back to v${v.version}`,
                ),
          ),
        );
      }),
    ),
  );

  const diffBox = h('div', { 'aria-live': 'polite' });
  const pick = (id: string, label: string, value: number | undefined) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      h(
        'select',
        { id },
        sorted.map((v) =>
          h('option', { value: String(v.version), selected: v.version === value }, `v${v.version}`),
        ),
      ),
    );
  const fromPick = pick('diff-from', 'From', sorted[1]?.version ?? sorted[0]?.version);
  const toPick = pick('diff-to', 'To', sorted[0]?.version);
  function showDiff(a: number, b: number): void {
    const before = versions.find((v) => v.version === a);
    const after = versions.find((v) => v.version === b);
    if (before === undefined || after === undefined) return;
    (fromPick.querySelector('select') as HTMLSelectElement).value = String(a);
    (toPick.querySelector('select') as HTMLSelectElement).value = String(b);
    replaceChildren(diffBox, diffView(before.yaml, after.yaml, `Changes from v${a} to v${b}`));
  }
  const diffForm = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'diff-h' },
    fromPick,
    toPick,
    h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Show diff')),
  );
  diffForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = Number((fromPick.querySelector('select') as HTMLSelectElement).value);
    const b = Number((toPick.querySelector('select') as HTMLSelectElement).value);
    showDiff(a, b);
  });

  return [
    form,
    h('h2', { id: 'history-h' }, 'History'),
    history,
    h('h2', { id: 'diff-h' }, 'Compare versions'),
    diffForm,
    diffBox,
  ];
}
