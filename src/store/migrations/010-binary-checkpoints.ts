import type { Migration } from './migration.js';

/**
 * Checkpoints in the binary, versioned form of state-codec.ts (`state`), beside the JSON
 * snapshots written before it (`snapshot`, kept readable: a row has one or the other).
 */
export const binaryCheckpoints: Migration = {
  version: 10,
  name: 'binary-checkpoints',
  statements: () => [
    'ALTER TABLE checkpoints ADD COLUMN IF NOT EXISTS state bytea',
    'ALTER TABLE checkpoints ALTER COLUMN snapshot DROP NOT NULL',
  ],
};
