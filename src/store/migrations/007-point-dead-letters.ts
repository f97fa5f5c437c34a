import type { Migration } from './migration.js';

/**
 * Point rows the database refused (a data exception: text it cannot hold, say), set aside by the
 * engine's store writer so one bad row never stalls everything after it. `row_text` is the COPY
 * text row as a JSON string (so a lone surrogate or NUL is kept as its escape); rows are only
 * ever inserted.
 */
export const pointDeadLetters: Migration = {
  version: 7,
  name: 'point-dead-letters',
  statements: () => [
    `CREATE TABLE point_dead_letters (
      id bigserial PRIMARY KEY,
      row_text text NOT NULL,
      error text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
};
