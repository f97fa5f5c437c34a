/**
 * A line diff of two YAML texts (jsdiff), marked with +/− and <ins>/<del>, not colour alone.
 * Long unchanged runs fold to their first and last CONTEXT lines around the changes.
 */
import { diffLines } from 'diff';
import { h } from './dom.js';

const CONTEXT = 3;

function linesOf(value: string): string[] {
  return (value.endsWith('\n') ? value.slice(0, -1) : value).split('\n');
}

export function diffView(before: string, after: string, caption: string): HTMLElement {
  const parts = diffLines(before, after);
  const out: HTMLElement[] = [];
  parts.forEach((part, index) => {
    const lines = linesOf(part.value);
    if (part.added) {
      for (const line of lines) out.push(h('ins', {}, `+ ${line}\n`));
    } else if (part.removed) {
      for (const line of lines) out.push(h('del', {}, `− ${line}\n`));
    } else {
      const head = index === 0 ? 0 : CONTEXT;
      const tail = index === parts.length - 1 ? 0 : CONTEXT;
      const keep = (line: string) => out.push(h('span', {}, `  ${line}\n`));
      if (lines.length <= head + tail + 1) {
        lines.forEach(keep);
      } else {
        lines.slice(0, head).forEach(keep);
        const folded = lines.length - head - tail;
        out.push(h('span', { class: 'muted' }, `  ⋯ ${folded} unchanged lines\n`));
        lines.slice(lines.length - tail).forEach(keep);
      }
    }
  });
  const changed = parts.some((p) => p.added || p.removed);
  return h(
    'figure',
    { class: 'diff' },
    h('figcaption', {}, caption),
    changed ? h('pre', { tabindex: '0' }, out) : h('p', {}, 'The two versions are identical.'),
  );
}
