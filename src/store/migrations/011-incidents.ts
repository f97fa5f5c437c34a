import type { Migration } from './migration.js';

/**
 * Incidents as stored state (src/incidents): one row per incident, written before any alert
 * names it, with the people's part (acknowledgement, assignee, hand resolution) beside the
 * grouping's part; comments in a table of their own. Plain tables on every backend: incidents
 * are few, and the listing reads them newest first (`first_time DESC, id DESC`, the page key).
 */
export const incidents: Migration = {
  version: 11,
  name: 'incidents',
  statements: () => [
    `CREATE TABLE incidents (
      id text COLLATE "C" PRIMARY KEY,
      device_id text COLLATE "C" NOT NULL,
      metrics jsonb NOT NULL,
      level text NOT NULL,
      state text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
      first_time timestamptz NOT NULL,
      last_time timestamptz NOT NULL,
      end_time timestamptz,
      event_ids jsonb NOT NULL,
      tags jsonb,
      acknowledged_by text,
      acknowledged_at timestamptz,
      assignee text,
      resolved_by text,
      resolved_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    'CREATE INDEX incidents_first_idx ON incidents (first_time DESC, id DESC)',
    'CREATE INDEX incidents_device_idx ON incidents (device_id, first_time DESC)',
    `CREATE INDEX incidents_open_idx ON incidents (first_time DESC) WHERE state <> 'resolved'`,
    `CREATE TABLE incident_comments (
      id bigserial PRIMARY KEY,
      incident_id text COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      author text,
      body text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    'CREATE INDEX incident_comments_incident_idx ON incident_comments (incident_id, id)',
  ],
};
