/**
 * The one entry point the rest of Vigil uses: a database URL means a PostgreSQL server, anything
 * else the embedded PGlite (in a data directory, or in memory without one).
 */
import { VigilError } from '../errors.js';
import { openPGliteStore } from './pglite-store.js';
import type { Store, StoreOptions } from './store.js';

export interface OpenStoreOptions extends StoreOptions {
  /** `postgres://` or `postgresql://` URL; typically from `DATABASE_URL`. Wins over `dataDir`. */
  readonly databaseUrl?: string;
  /** PGlite data directory; neither this nor a URL means an in-memory store. */
  readonly dataDir?: string;
  /** The embedded database's buffer pool in MB (`openPGliteStore`); ignored for a server. */
  readonly sharedBuffersMb?: number;
}

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const { databaseUrl, dataDir, sharedBuffersMb, ...common } = options;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      throw new VigilError(
        'VIGIL_ERR_STORE_UNAVAILABLE',
        'the database URL must start with postgres:// or postgresql://',
      );
    }
    // Imported only for a server: node-postgres is ~0.2 s of every start otherwise.
    const { openPostgresStore } = await import('./postgres-store.js');
    return openPostgresStore({ ...common, databaseUrl });
  }
  return openPGliteStore({
    ...common,
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(sharedBuffersMb === undefined ? {} : { sharedBuffersMb }),
  });
}
