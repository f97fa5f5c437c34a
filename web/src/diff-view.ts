/** A line diff of two YAML texts (jsdiff), marked with +/− and <ins>/<del>, not colour alone. */
import { diffLines } from 'diff';
import { h } from './dom.js';

export function diffView(before: string, after: string, caption: string): HTMLElement {
  const parts = diffLines(before, after);
  const lines: HTMLElement[] = [];
  for (const part of parts) {
    const text = part.value.endsWith('\n') ? part.value.slice(0, -1) : part.value;
    for (const line of text.split('\n')) {
      if (part.added) lines.push(h('ins', {}, `+ ${line}\n`));
      else if (part.removed) lines.push(h('del', {}, `− ${line}\n`));
      else lines.push(h('span', {}, `  ${line}\n`));
    }
  }
  const changed = parts.some((p) => p.added || p.removed);
  return h(
    'figure',
    { class: 'diff' },
    h('figcaption', {}, caption),
    changed ? h('pre', { tabindex: '0' }, lines) : h('p', {}, 'The two versions are identical.'),
  );
}
