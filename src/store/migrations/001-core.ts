import type { Migration } from './migration.js';

/**
 * The tables every backend has. Names are byte-ordered (`COLLATE "C"`): the same order on every
 * server whatever its locale, and cheaper comparisons in the (device, metric, time) key.
 */
export const core: Migration = {
  version: 1,
  name: 'core',
  statements: () => [
    `CREATE TABLE points (
      device_id text COLLATE "C" NOT NULL,
      metric text COLLATE "C" NOT NULL,
      time timestamptz NOT NULL,
      value double precision,
      tags jsonb,
      CONSTRAINT points_pkey PRIMARY KEY (device_id, metric, time)
    )`,
    // The series catalogue, kept by the appender, so listing series never scans points.
    `CREATE TABLE series (
      device_id text COLLATE "C" NOT NULL,
      metric text COLLATE "C" NOT NULL,
      first_time timestamptz NOT NULL,
      last_time timestamptz NOT NULL,
      PRIMARY KEY (device_id, metric)
    )`,
    `CREATE TABLE events (
      id text COLLATE "C" PRIMARY KEY,
      device_id text COLLATE "C" NOT NULL,
      metric text COLLATE "C",
      strategy text COLLATE "C" NOT NULL,
      strategy_version integer NOT NULL,
      start_time timestamptz NOT NULL,
      end_time timestamptz,
      peak_time timestamptz NOT NULL,
      peak_score double precision NOT NULL,
      peak_values jsonb NOT NULL,
      level text NOT NULL CHECK (level IN ('alert', 'severe')),
      points integer NOT NULL,
      explanation jsonb,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    'CREATE INDEX events_start_idx ON events (start_time DESC)',
    'CREATE INDEX events_device_start_idx ON events (device_id, start_time DESC)',
    'CREATE INDEX events_strategy_start_idx ON events (strategy, start_time DESC)',
    `CREATE TABLE strategies (
      name text COLLATE "C" NOT NULL,
      version integer NOT NULL CHECK (version > 0),
      yaml text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (name, version)
    )`,
    `CREATE TABLE checkpoints (
      series_key text COLLATE "C" PRIMARY KEY,
      snapshot jsonb NOT NULL,
      event_time timestamptz NOT NULL,
      wall_time timestamptz NOT NULL
    )`,
  ],
};
