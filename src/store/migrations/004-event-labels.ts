import type { Migration } from './migration.js';

/**
 * Feedback labels on events (docs/labels.md): what a person said about an event, kept on the
 * event's row so a replayed or re-written event (same id) keeps its label — the event upsert
 * never touches these columns. Depends only on 001's `events` table.
 */
export const eventLabels: Migration = {
  version: 4,
  name: 'event-labels',
  statements: () => [
    `ALTER TABLE events
      ADD COLUMN label text CHECK (label IN ('anomaly', 'false_alarm', 'unsure')),
      ADD COLUMN label_note text,
      ADD COLUMN labelled_at timestamptz,
      ADD COLUMN labelled_by text`,
    'CREATE INDEX events_label_idx ON events (strategy, label) WHERE label IS NOT NULL',
  ],
};
