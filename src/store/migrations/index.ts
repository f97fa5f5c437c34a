/**
 * Versioned schema migrations. Each runs once per schema, in order, recorded in
 * `schema_migrations`; opening an up-to-date schema applies nothing. All pending migrations run
 * in ONE transaction under an advisory lock keyed by the schema, so processes starting together
 * queue up instead of racing, and a failed migration leaves the schema as it was.
 */
import { VigilError } from '../../errors.js';
import type { SqlDriver, SqlSession } from '../sql-driver.js';
import { core } from './001-core.js';
import { timeSeries } from './002-time-series.js';
import { alertDeadLetters } from './003-alert-dead-letters.js';
import { eventLabels } from './004-event-labels.js';
import { shadowRuns } from './005-shadow-runs.js';
import { engineState } from './006-engine-state.js';
import { pointDeadLetters } from './007-point-dead-letters.js';
import { aggregateUpkeep } from './008-aggregate-upkeep.js';
import { scoreHistory } from './009-score-history.js';
import { binaryCheckpoints } from './010-binary-checkpoints.js';
import { incidents } from './011-incidents.js';
import { seriesTags } from './012-series-tags.js';
import { metricUnits } from './013-metric-units.js';
import { metricUnitSources } from './014-metric-unit-sources.js';
import { scoreThresholds } from './015-score-thresholds.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/**
 * In version order. Each version is applied when missing (versions need not be contiguous), so a
 * schema that somehow holds 1, 2, 4 gets 3 on the next open.
 */
export const migrations: readonly Migration[] = [
  core,
  timeSeries,
  alertDeadLetters,
  eventLabels,
  shadowRuns,
  engineState,
  pointDeadLetters,
  aggregateUpkeep,
  scoreHistory,
  binaryCheckpoints,
  incidents,
  seriesTags,
  metricUnits,
  metricUnitSources,
  scoreThresholds,
];

export const SCHEMA_VERSION = migrations[migrations.length - 1]!.version;

export type TimescaleMode = 'auto' | 'require' | 'off';

export interface MigrationOutcome {
  /** Versions applied by this call, in order (empty when already up to date). */
  readonly applied: number[];
  readonly version: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Schema names go into SQL text and connection options, so only plain identifiers are allowed. */
export function checkSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new VigilError(
      'VIGIL_ERR_STORE_SCHEMA',
      `schema name ${JSON.stringify(schema)} must match ${IDENTIFIER.source}`,
    );
  }
  return schema;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The layout a schema was created with (`schema_migrations.variant`), or null for a schema not
 * created yet. Plain catalogue reads only: safe whatever state TimescaleDB is in.
 */
export async function recordedVariant(
  session: SqlSession,
  schema: string,
): Promise<'timescaledb' | 'plain' | null> {
  checkSchemaName(schema);
  const exists = await session.query<{ found: boolean }>({
    text: 'SELECT to_regclass($1) IS NOT NULL AS found',
    values: [`${schema}.schema_migrations`],
  });
  if (exists.rows[0]?.found !== true) return null;
  const row = await session.query<{ variant: string }>(
    `SELECT variant FROM ${schema}.schema_migrations ORDER BY version LIMIT 1`,
  );
  const variant = row.rows[0]?.variant;
  return variant === undefined ? null : variant === 'timescaledb' ? 'timescaledb' : 'plain';
}

/** What the caller found out about TimescaleDB before migrating (timescale-detect.ts). */
export interface TimescaleChoice {
  readonly mode: TimescaleMode;
  /** TimescaleDB is installed and loads (and `mode` is not `off`). */
  readonly usable: boolean;
  /** Why it is not usable, for `require`'s error. */
  readonly reason: string | null;
}

/**
 * Bring `schema` up to the latest version. Safe to call from several processes at once and
 * any number of times.
 * @throws VIGIL_ERR_STORE_SCHEMA when a migration fails or the schema is newer than this code.
 */
export async function migrate(
  driver: SqlDriver,
  schema: string,
  choice: TimescaleChoice,
): Promise<MigrationOutcome & { readonly timescale: boolean }> {
  checkSchemaName(schema);
  return driver.transaction(async (session) => {
    await session.query({
      text: 'SELECT pg_advisory_xact_lock(hashtext($1))',
      values: [`vigil.migrate.${schema}`],
    });
    await session.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await session.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        variant text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const done = await session.query<{ version: number }>(
      `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
    );
    const appliedBefore = new Set(done.rows.map((r) => r.version));
    const newest = Math.max(0, ...appliedBefore);
    if (newest > SCHEMA_VERSION) {
      throw new VigilError(
        'VIGIL_ERR_STORE_SCHEMA',
        `schema ${schema} is at version ${newest}, newer than this Vigil knows (${SCHEMA_VERSION}); ` +
          'upgrade Vigil or use another schema',
      );
    }
    // A schema keeps the layout it was created with; a new one uses TimescaleDB when usable.
    const recorded = await recordedVariant(session, schema);
    const timescale = recorded === null ? choice.usable : recorded === 'timescaledb';
    if (choice.mode === 'require' && !timescale) {
      throw new VigilError(
        'VIGIL_ERR_STORE_SCHEMA',
        recorded === 'plain'
          ? `TimescaleDB is required but schema ${schema} was created without it`
          : `TimescaleDB is required but cannot be used: ${choice.reason ?? 'not usable'}`,
      );
    }
    const pending = migrations.filter((m) => !appliedBefore.has(m.version));
    if (pending.length === 0) return { applied: [], version: newest, timescale };
    for (const migration of pending) {
      for (const statement of migration.statements({ timescale })) {
        try {
          await session.query(statement);
        } catch (error) {
          throw new VigilError(
            'VIGIL_ERR_STORE_SCHEMA',
            `migration ${migration.version}-${migration.name} failed in schema ${schema}: ` +
              `${message(error)}\n  in: ${statement.split('\n')[0]}`,
            { cause: error },
          );
        }
      }
      await session.query({
        text: `INSERT INTO ${schema}.schema_migrations (version, name, variant) VALUES ($1, $2, $3)`,
        values: [migration.version, migration.name, timescale ? 'timescaledb' : 'plain'],
      });
    }
    return { applied: pending.map((m) => m.version), version: SCHEMA_VERSION, timescale };
  });
}
