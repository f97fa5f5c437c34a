import type { Migration } from './migration.js';

/**
 * The engine's own records (store.ts `EngineStateStore`): the active strategy set and the log
 * position the last checkpoint covers. The active set used to be a fake checkpoint
 * (`r:active-strategies`); the engine moves it here when it first starts on this schema.
 */
export const engineState: Migration = {
  version: 6,
  name: 'engine-state',
  statements: () => [
    `CREATE TABLE engine_state (
      key text COLLATE "C" PRIMARY KEY,
      value jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
};
