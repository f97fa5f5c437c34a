import type { Migration } from './migration.js';

/**
 * Alert deliveries that could not be made (retries exhausted, queue overflow, rejected by the
 * receiver, still queued at shutdown): kept so nothing an operator should have seen is lost
 * silently. Rows are only ever inserted; `payload` is the exact JSON body that was to be sent.
 */
export const alertDeadLetters: Migration = {
  version: 3,
  name: 'alert-dead-letters',
  statements: () => [
    `CREATE TABLE alert_dead_letters (
      id bigserial PRIMARY KEY,
      sink text COLLATE "C" NOT NULL,
      delivery_id text COLLATE "C" NOT NULL,
      incident_id text COLLATE "C",
      reason text NOT NULL,
      attempts integer NOT NULL,
      last_error text,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    'CREATE INDEX alert_dead_letters_sink_idx ON alert_dead_letters (sink, id DESC)',
  ],
};
