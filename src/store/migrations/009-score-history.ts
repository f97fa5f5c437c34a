import type { Migration } from './migration.js';

/**
 * The dashboard's score history: per series the highest live score and level in each bucket
 * (one minute, score-history.ts in the dashboard), so a series' score axis survives a restart and
 * covers every series, not only those still in the in-memory ring. `real` and `smallint` keep a
 * row small (≈ 60 bytes with a short device and metric name, plus its key entry). The key is
 * (device, metric, time): a series' range is one index range scan.
 */
export const scoreHistory: Migration = {
  version: 9,
  name: 'score-history',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS score_history (
      device_id text COLLATE "C" NOT NULL,
      metric text COLLATE "C" NOT NULL,
      time timestamptz NOT NULL,
      score real NOT NULL,
      level smallint NOT NULL CHECK (level BETWEEN 0 AND 2),
      PRIMARY KEY (device_id, metric, time)
    )`,
  ],
};
