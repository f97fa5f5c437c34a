/**
 * Feedback on an event: anomaly / false alarm / unsure, with an optional note
 * (`PUT /v1/events/:id/label`, the feedback-labels contract). The pressed button shows the
 * current label.
 */
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import type { Label, VigilEvent } from './types.js';

const LABELS: readonly [Label, string][] = [
  ['anomaly', 'Anomaly'],
  ['false_alarm', 'False alarm'],
  ['unsure', 'Unsure'],
];

export function labelButtons(event: VigilEvent): HTMLElement {
  let current = event.label ?? null;
  const status = h('p', { class: 'muted', role: 'status' });
  const note = h('input', {
    id: 'label-note',
    type: 'text',
    maxlength: '500',
    value: event.label_note ?? '',
  });
  const buttons = LABELS.map(([label, text]) =>
    h(
      'button',
      {
        type: 'button',
        'aria-pressed': String(current === label),
        'data-label': label,
        onclick: () => void send(label),
      },
      text,
    ),
  );
  async function send(label: Label): Promise<void> {
    status.textContent = 'Saving…';
    try {
      await api.label(event.id, label, note.value.trim());
      current = label;
      for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.label === current));
      status.textContent = `Labelled ${label.replace('_', ' ')}.`;
    } catch (err) {
      status.textContent =
        err instanceof ApiError && err.status === 404 && err.message.startsWith('no route')
          ? 'Labels are not available on this server (no PUT /v1/events/:id/label).'
          : `Could not save the label: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return h(
    'section',
    { 'aria-labelledby': 'label-h' },
    h('h2', { id: 'label-h' }, 'Your verdict'),
    h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Label this event' }, buttons),
    h('div', { class: 'field' }, h('label', { for: 'label-note' }, 'Note (optional)'), note),
    status,
  );
}
