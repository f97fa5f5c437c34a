/**
 * Declared units of metrics (migration 013): one row per metric name, for every device. The
 * routes check the unit and description (metric-unit-routes.ts); here only what the table needs.
 */
import { checkName, ms, read, storeError } from './sql-common.js';
import type { SqlDriver } from './sql-driver.js';
import type { MetricUnit, MetricUnitStore } from './store.js';

interface UnitRow {
  metric: string;
  unit: string;
  description: string | null;
  t: number;
}

const fromRow = (r: UnitRow): MetricUnit => ({
  metric: r.metric,
  unit: r.unit,
  description: r.description,
  updatedAt: r.t,
});

export class SqlMetricUnitStore implements MetricUnitStore {
  constructor(private readonly driver: SqlDriver) {}

  async list(): Promise<MetricUnit[]> {
    const rows = await read<UnitRow>(this.driver, 'reading metric units failed', {
      name: 'vigil_metric_units_list',
      text: `SELECT metric, unit, description, ${ms('updated_at')} AS t
             FROM metric_units ORDER BY metric`,
      values: [],
    });
    return rows.map(fromRow);
  }

  async set(metric: string, unit: string, description: string | null): Promise<MetricUnit> {
    checkName('unit metric', metric);
    try {
      const r = await this.driver.query<UnitRow>({
        name: 'vigil_metric_units_set',
        text: `INSERT INTO metric_units (metric, unit, description) VALUES ($1, $2, $3)
               ON CONFLICT (metric) DO UPDATE
                 SET unit = excluded.unit, description = excluded.description, updated_at = now()
               RETURNING metric, unit, description, ${ms('updated_at')} AS t`,
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
}
