/**
 * Declared units of metrics (migrations 013, 014): one row per metric name, for every device,
 * with where it came from (`api`, `config`, `metadata`). The routes and the config schema check
 * the unit and description (metric-units.ts); here only what the table needs.
 */
import { checkName, ms, read, storeError } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type { MetricUnit, MetricUnitSource, MetricUnitStore, ReplacedUnit } from './store.js';

interface UnitRow {
  metric: string;
  unit: string;
  description: string | null;
  source: MetricUnitSource;
  t: number;
}

const COLUMNS = `metric, unit, description, source, ${ms('updated_at')} AS t`;

const fromRow = (r: UnitRow): MetricUnit => ({
  metric: r.metric,
  unit: r.unit,
  description: r.description,
  source: r.source,
  updatedAt: r.t,
});

export class SqlMetricUnitStore implements MetricUnitStore {
  constructor(private readonly driver: SqlDriver) {}

  async list(): Promise<MetricUnit[]> {
    const rows = await read<UnitRow>(this.driver, 'reading metric units failed', {
      name: 'vigil_metric_units_list',
      text: `SELECT ${COLUMNS} FROM metric_units ORDER BY metric`,
      values: [],
    });
    return rows.map(fromRow);
  }

  async set(metric: string, unit: string, description: string | null): Promise<MetricUnit> {
    checkName('unit metric', metric);
    try {
      const r = await this.driver.query<UnitRow>({
        name: 'vigil_metric_units_set',
        text: `INSERT INTO metric_units (metric, unit, description, source)
               VALUES ($1, $2, $3, 'api')
               ON CONFLICT (metric) DO UPDATE
                 SET unit = excluded.unit, description = excluded.description,
                     source = 'api', updated_at = now()
               RETURNING ${COLUMNS}`,
        values: [metric, unit, description],
      });
      return fromRow(r.rows[0] as UnitRow);
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'saving a metric unit failed', error);
    }
  }

  async remove(metric: string): Promise<boolean> {
    checkName('unit metric', metric);
    try {
      const r = await this.driver.query<{ metric: string }>({
        name: 'vigil_metric_units_remove',
        text: 'DELETE FROM metric_units WHERE metric = $1 RETURNING metric',
        values: [metric],
      });
      return r.rows.length > 0;
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'removing a metric unit failed', error);
    }
  }

  async applyConfig(
    units: ReadonlyMap<string, { unit: string; description: string | null }>,
  ): Promise<ReplacedUnit[]> {
    for (const metric of units.keys()) checkName('unit metric', metric);
    const metrics = [...units.keys()];
    try {
      return await this.driver.transaction(async (session) => {
        const before = await session.query<{
          metric: string;
          unit: string;
          source: MetricUnitSource;
        }>({
          text: `SELECT metric, unit, source FROM metric_units
                 WHERE metric = ANY($1::text[]) AND source <> 'config'`,
          values: [metrics],
        });
        await session.query({
          text: `DELETE FROM metric_units WHERE source = 'config' AND NOT (metric = ANY($1::text[]))`,
          values: [metrics],
        });
        for (const [metric, { unit, description }] of units) {
          // Unchanged config rows keep their updated_at: a restart is not a new declaration.
          await session.query({
            text: `INSERT INTO metric_units (metric, unit, description, source)
                   VALUES ($1, $2, $3, 'config')
                   ON CONFLICT (metric) DO UPDATE
                     SET unit = excluded.unit, description = excluded.description,
                         source = 'config', updated_at = now()
                     WHERE (metric_units.unit, metric_units.description, metric_units.source)
                       IS DISTINCT FROM (excluded.unit, excluded.description, 'config')`,
            values: [metric, unit, description],
          });
        }
        return before.rows
          .filter((r) => r.unit !== units.get(r.metric)?.unit)
          .map((r) => ({ metric: r.metric, unit: r.unit, source: r.source }));
      });
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', "applying the config file's units failed", error);
    }
  }

  async setInferred(metric: string, unit: string, description: string | null): Promise<boolean> {
    checkName('unit metric', metric);
    try {
      const r = await this.driver.query<{ metric: string }>({
        name: 'vigil_metric_units_set_inferred',
        text: `INSERT INTO metric_units (metric, unit, description, source)
               VALUES ($1, $2, $3, 'metadata')
               ON CONFLICT (metric) DO UPDATE
                 SET unit = excluded.unit, description = excluded.description, updated_at = now()
                 WHERE metric_units.source = 'metadata'
               RETURNING metric`,
        values: [metric, unit, description],
      });
      return r.rows.length > 0;
    } catch (error) {
      throw storeError('VIGIL_ERR_STORE_WRITE', 'saving an inferred metric unit failed', error);
    }
  }
}
