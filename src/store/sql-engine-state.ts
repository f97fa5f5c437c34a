/** The engine's records (migration 006): one JSON document per key, the same SQL on both backends. */
import { checkName, read, storeError } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type { EngineStateStore, JsonValue } from './store.js';

export class SqlEngineStateStore implements EngineStateStore {
  constructor(private readonly driver: SqlDriver) {}

  async get(key: string): Promise<JsonValue | undefined> {
    const rows = await read<{ value: JsonValue }>(
      this.driver,
      `reading engine state ${key} failed`,
      {
        name: 'vigil_engine_state_get',
        text: 'SELECT value FROM engine_state WHERE key = $1',
        values: [checkName('engine state key', key)],
      },
    );
    return rows[0]?.value;
  }

  async put(key: string, value: JsonValue): Promise<void> {
    checkName('engine state key', key);
    try {
      await this.driver.query({
        name: 'vigil_engine_state_put',
        text: `INSERT INTO engine_state (key, value) VALUES ($1, $2::text::jsonb)
               ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`,
        values: [key, JSON.stringify(value)],
      });
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', `writing engine state ${key} failed`, error);
    }
  }
}
