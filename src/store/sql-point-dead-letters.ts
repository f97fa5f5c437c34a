/** Point rows the database refused (migration 007): insert and list, the same SQL on both backends. */
import { storeError } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type { PointDeadLetterStore, RejectedRow } from './store.js';

const MAX_ERROR = 10_000;

export class SqlPointDeadLetterStore implements PointDeadLetterStore {
  constructor(private readonly driver: SqlDriver) {}

  async save(rows: readonly RejectedRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.driver.query({
        text: `INSERT INTO point_dead_letters (row_text, error)
               SELECT * FROM unnest($1::text[], $2::text[])`,
        // As JSON strings, so what the database refused (NUL, a lone surrogate) is kept escaped.
        values: [
          rows.map((r) => JSON.stringify(r.row)),
          rows.map((r) => JSON.stringify(r.error.slice(0, MAX_ERROR))),
        ],
      });
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'saving refused point rows failed', error);
    }
  }

  async list(limit = 100): Promise<RejectedRow[]> {
    const result = await this.driver.query<{ row_text: string; error: string }>({
      text: 'SELECT row_text, error FROM point_dead_letters ORDER BY id LIMIT $1',
      values: [limit],
    });
    return result.rows.map((r) => ({
      row: JSON.parse(r.row_text) as string,
      error: JSON.parse(r.error) as string,
    }));
  }
}
