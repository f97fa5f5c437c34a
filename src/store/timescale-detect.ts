/**
 * Whether TimescaleDB can be used, decided on a connection of its own (`SqlDriver.isolated`) so
 * that no server state can hurt the pool or the process: not offered, offered but not preloaded
 * (the server answers `CREATE EXTENSION` or the first use of the library with a FATAL and ends the
 * connection), preloaded, or too old. Every failure, a lost connection included, means "not
 * usable", with the reason kept for the log line and for `timescale: 'require'`'s error.
 */
import { errorMessage } from './sql-common.js';
import type { SqlDriver, SqlSession } from './sql-driver.js';

/** The oldest TimescaleDB with `by_range`/`by_hash` dimensions and `_timescaledb_functions`. */
export const MIN_TIMESCALE_VERSION = '2.13';

export type DetectionStep = 'facts' | 'create' | 'verify';

export interface TimescaleDetection {
  readonly usable: boolean;
  /** Whether the server offers the extension at all; null when detection failed before knowing. */
  readonly offered: boolean | null;
  /** The extension version found or installed; null when the server has none. */
  readonly version: string | null;
  /** Why it is not usable; null when it is. */
  readonly reason: string | null;
}

export interface DetectionHooks {
  /**
   * Called on the detection's own connection before each step. Tests use it to end that
   * connection at a chosen point, the way a server without the preloaded library does.
   */
  readonly beforeStep?: (step: DetectionStep, session: SqlSession) => Promise<void>;
}

interface Facts {
  available: string | null;
  installed: string | null;
  preload: string;
}

/** Numeric comparison of dotted versions ("2.23.0-dev" ≥ "2.13"). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string): number[] => v.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  const have = parts(version);
  const need = parts(minimum);
  for (let i = 0; i < need.length; i++) {
    const h = Number.isNaN(have[i] ?? NaN) ? 0 : have[i]!;
    if (h !== need[i]) return h > need[i]!;
  }
  return true;
}

const notUsable = (
  offered: boolean | null,
  version: string | null,
  reason: string,
): TimescaleDetection => ({ usable: false, offered, version, reason });

/** A server loads TimescaleDB only from `shared_preload_libraries`; PGlite loads it at start. */
export function preloaded(backend: SqlDriver['backend'], preload: string): boolean {
  if (backend === 'pglite') return true;
  return preload
    .split(',')
    .map((name) => name.trim().replace(/^"|"$/g, ''))
    .some((name) => name === 'timescaledb' || name.startsWith('timescaledb-'));
}

async function detectOn(
  driver: SqlDriver,
  session: SqlSession,
  hooks: DetectionHooks,
): Promise<TimescaleDetection> {
  let step: DetectionStep = 'facts';
  try {
    await hooks.beforeStep?.(step, session);
    const facts = (
      await session.query<Facts>(
        `SELECT (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb')
                  AS available,
                (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
                current_setting('shared_preload_libraries') AS preload`,
      )
    ).rows[0]!;
    const offered = facts.installed ?? facts.available;
    if (offered === null) {
      return notUsable(false, null, 'the server does not offer the timescaledb extension');
    }
    if (!versionAtLeast(offered, MIN_TIMESCALE_VERSION)) {
      return notUsable(
        true,
        offered,
        `TimescaleDB ${offered} is older than ${MIN_TIMESCALE_VERSION}, the oldest Vigil uses`,
      );
    }
    // Checked before anything loads the library: without the preload, the server would end the
    // connection with FATAL: extension "timescaledb" must be preloaded.
    if (!preloaded(driver.backend, facts.preload)) {
      return notUsable(
        true,
        offered,
        `the timescaledb extension is installed but not in shared_preload_libraries ` +
          `(${JSON.stringify(facts.preload)}); add it and restart the server to use it`,
      );
    }
    let version = facts.installed;
    if (version === null) {
      step = 'create';
      await hooks.beforeStep?.(step, session);
      try {
        await session.query('CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public');
      } catch (error) {
        // Openers starting together race to create it; the loser finds it created. On a lost
        // connection this look fails too, and so does the detection.
        const again = await session.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`,
        );
        if (again.rows[0]?.n !== 1) throw error;
      }
    }
    step = 'verify';
    await hooks.beforeStep?.(step, session);
    // Reading an information view loads the library: the proof that it works here.
    const found = await session.query<{ version: string; jobs: number }>(
      `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS version,
              (SELECT count(*)::int FROM timescaledb_information.jobs) AS jobs`,
    );
    version = found.rows[0]?.version ?? null;
    if (version === null)
      return notUsable(true, offered, 'CREATE EXTENSION timescaledb left no extension');
    if (!versionAtLeast(version, MIN_TIMESCALE_VERSION)) {
      return notUsable(
        true,
        version,
        `TimescaleDB ${version} is older than ${MIN_TIMESCALE_VERSION}, the oldest Vigil uses`,
      );
    }
    return { usable: true, offered: true, version, reason: null };
  } catch (error) {
    // Past the facts, the server offered it.
    const offered = step === 'facts' ? null : true;
    return notUsable(
      offered,
      null,
      `TimescaleDB detection failed (${step}): ${errorMessage(error)}`,
    );
  }
}

/**
 * Find out whether TimescaleDB can be used, installing the extension when the server offers it.
 * Never throws: a failure of any kind, including the connection being ended, is "not usable".
 */
export async function detectTimescale(
  driver: SqlDriver,
  hooks: DetectionHooks = {},
): Promise<TimescaleDetection> {
  try {
    return await driver.isolated((session) => detectOn(driver, session, hooks));
  } catch (error) {
    return notUsable(null, null, `TimescaleDB detection failed (connect): ${errorMessage(error)}`);
  }
}
