/** A level as text and colour together (never colour alone). */
import { h } from './dom.js';
import type { Level } from './types.js';

export function levelBadge(level: Level | undefined): HTMLElement {
  const text = level ?? 'no score yet';
  return h('span', { class: `badge level-${level ?? 'none'}` }, text);
}
