/** Shadow runs (migration 005, docs/shadow.md): the same SQL on both backends. */
import { checkCount, checkName, invalid, ms, read, storeError } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type { JsonValue, ShadowRun, ShadowRunStatus, ShadowRunStore } from './store.js';

const MAX_INT = 2 ** 31 - 1;
const STATUSES: readonly ShadowRunStatus[] = ['running', 'promoted', 'discarded'];

interface ShadowRunRow {
  id: number;
  strategy: string;
  strategy_version: number;
  status: ShadowRunStatus;
  started_ms: number;
  ended_ms: number | null;
  stats: JsonValue | null;
}

const COLUMNS = `id, strategy, strategy_version, status, ${ms('started_at')} AS started_ms,
  ${ms('ended_at')} AS ended_ms, stats`;

function fromRow(row: ShadowRunRow): ShadowRun {
  return {
    id: row.id,
    strategy: row.strategy,
    version: row.strategy_version,
    status: row.status,
    startedAt: row.started_ms,
    endedAt: row.ended_ms,
    stats: row.stats,
  };
}

export class SqlShadowRunStore implements ShadowRunStore {
  constructor(private readonly driver: SqlDriver) {}

  async create(run: { readonly strategy: string; readonly version: number }): Promise<ShadowRun> {
    const strategy = checkName('shadow run strategy', run.strategy);
    const version = checkCount('shadow run version', run.version, MAX_INT);
    return this.#write(`starting a shadow run of ${strategy}@${version} failed`, {
      name: 'vigil_shadow_create',
      text: `INSERT INTO shadow_runs (strategy, strategy_version, status)
             VALUES ($1, $2, 'running') RETURNING ${COLUMNS}`,
      values: [strategy, version],
    }) as Promise<ShadowRun>;
  }

  async get(id: number): Promise<ShadowRun | undefined> {
    const rows = await read<ShadowRunRow>(this.driver, 'reading a shadow run failed', {
      name: 'vigil_shadow_get',
      text: `SELECT ${COLUMNS} FROM shadow_runs WHERE id = $1`,
      values: [checkCount('shadow run id', id, MAX_INT)],
    });
    return rows[0] === undefined ? undefined : fromRow(rows[0]);
  }

  async list(status?: ShadowRunStatus): Promise<ShadowRun[]> {
    if (status !== undefined && !STATUSES.includes(status)) {
      throw invalid(`shadow run status must be one of ${STATUSES.join(', ')}`);
    }
    const rows = await read<ShadowRunRow>(this.driver, 'listing shadow runs failed', {
      name: 'vigil_shadow_list',
      text: `SELECT ${COLUMNS} FROM shadow_runs WHERE ($1::text IS NULL OR status = $1)
             ORDER BY id DESC`,
      values: [status ?? null],
    });
    return rows.map(fromRow);
  }

  saveStats(id: number, stats: JsonValue): Promise<ShadowRun | undefined> {
    return this.#write('saving shadow run counters failed', {
      name: 'vigil_shadow_stats',
      text: `UPDATE shadow_runs SET stats = $2::text::jsonb WHERE id = $1 RETURNING ${COLUMNS}`,
      values: [checkCount('shadow run id', id, MAX_INT), JSON.stringify(stats)],
    });
  }

  async end(
    id: number,
    status: Exclude<ShadowRunStatus, 'running'>,
    stats: JsonValue | null,
  ): Promise<ShadowRun | undefined> {
    if (status !== 'promoted' && status !== 'discarded') {
      throw invalid(`a shadow run ends promoted or discarded, found ${String(status)}`);
    }
    checkCount('shadow run id', id, MAX_INT);
    const ended = await this.#write('ending a shadow run failed', {
      name: 'vigil_shadow_end',
      text: `UPDATE shadow_runs SET status = $2, ended_at = now(),
               stats = coalesce($3::text::jsonb, stats)
             WHERE id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
      values: [id, status, stats === null ? null : JSON.stringify(stats)],
    });
    return ended ?? this.get(id);
  }

  async #write(
    what: string,
    statement: { name: string; text: string; values: unknown[] },
  ): Promise<ShadowRun | undefined> {
    let rows: ShadowRunRow[];
    try {
      rows = (await this.driver.query<ShadowRunRow>(statement)).rows;
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', what, error);
    }
    return rows[0] === undefined ? undefined : fromRow(rows[0]);
  }
}
