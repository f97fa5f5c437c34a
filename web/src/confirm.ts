/**
 * A confirmation before a change that is hard to undo (promote, discard, roll back): a modal
 * `<dialog>` saying what will change, with an optional warning, *Cancel* focused first (Enter on
 * a stray key press keeps things as they are) and Escape as cancel.
 */
import { h } from './dom.js';

export interface Confirmation {
  readonly title: string;
  /** What changes, one sentence a line. */
  readonly changes: readonly string[];
  /** Why it may be too early (a warming-up candidate, too few points). */
  readonly warnings?: readonly string[];
  readonly confirm: string;
}

export function confirmAction(c: Confirmation): Promise<boolean> {
  return new Promise((resolve) => {
    const warnings = c.warnings ?? [];
    const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
    const ok = h(
      'button',
      { type: 'button', value: 'confirm', class: warnings.length > 0 ? 'danger' : 'primary' },
      c.confirm,
    );
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-h', 'aria-describedby': 'confirm-what' },
      h('h2', { id: 'confirm-h' }, c.title),
      h(
        'ul',
        { id: 'confirm-what' },
        c.changes.map((line) => h('li', {}, line)),
      ),
      warnings.length === 0
        ? null
        : h(
            'div',
            { class: 'warning', role: 'alert' },
            h('strong', {}, 'Warning: '),
            h(
              'ul',
              {},
              warnings.map((w) => h('li', {}, w)),
            ),
          ),
      h('div', { class: 'toolbar' }, cancel, ok),
    );
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    let answered = false;
    const finish = (yes: boolean) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(yes);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dialog.addEventListener('close', () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
