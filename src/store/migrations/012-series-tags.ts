import type { Migration } from './migration.js';

/**
 * The tags of each series in the catalogue (merged key by key from its points, the newest value
 * winning), so the device and series listings filter by tag without scanning points; and each
 * checkpoint's head (state-codec.ts format 2) in a column of its own, so a start reads the heads
 * without touching the states (a slice of a TOASTed state costs an index probe per row).
 */
export const seriesTags: Migration = {
  version: 12,
  name: 'series-tags',
  statements: () => [
    'ALTER TABLE series ADD COLUMN IF NOT EXISTS tags jsonb',
    'CREATE INDEX IF NOT EXISTS series_tags_idx ON series USING gin (tags jsonb_path_ops)',
    'ALTER TABLE checkpoints ADD COLUMN IF NOT EXISTS head text',
  ],
};
