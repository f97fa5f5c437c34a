/**
 * A new PGlite data directory from a template instead of initdb. PGlite's initdb runs in a
 * WebAssembly instance of its own: 5–7 s on a 2-core machine, and ~500 MB of memory the process
 * keeps until a garbage collection it may never need. The first new directory is made by initdb
 * and, before anything else is written to it, saved as a gzipped tarball (PGlite's
 * `dumpDataDir`); later new directories are unpacked from it (PGlite's `loadDataDir`), ~2 s.
 *
 * The template is a cache keyed by the PGlite version, in the user's cache directory:
 * `$XDG_CACHE_HOME/vigil` or `~/.cache/vigil`, or the file `VIGIL_PGLITE_TEMPLATE` names
 * (`off`: always initdb). Any failure to read or write it falls back to initdb, silently.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';

/** The template file, or undefined when templates are off. */
export function templateFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.VIGIL_PGLITE_TEMPLATE;
  if (configured === 'off') return undefined;
  if (configured !== undefined && configured !== '') return configured;
  const version = pgliteVersion();
  if (version === undefined) return undefined;
  const cache = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cache, 'vigil', `pglite-${version}-datadir.tar.gz`);
}

function pgliteVersion(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    // …/node_modules/@electric-sql/pglite/dist/index.cjs → its package.json
    const pkg = JSON.parse(
      readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/** Absent or empty: initdb would make it (a template may, and what fails can be removed). */
export function isNewDataDir(dataDir: string): boolean {
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

/** The template's bytes, if there is one. */
export function readTemplate(file: string | undefined): Blob | undefined {
  if (file === undefined) return undefined;
  try {
    return new Blob([readFileSync(file)]);
  } catch {
    return undefined;
  }
}

/** Save a fresh directory as the template (written aside, then renamed: never half a file). */
export async function saveTemplate(
  db: { dumpDataDir(compression?: 'gzip'): Promise<Blob | File> },
  file: string | undefined,
): Promise<void> {
  if (file === undefined) return;
  const partial = `${file}.${process.pid}.partial`;
  try {
    const blob = await db.dumpDataDir('gzip');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(partial, Buffer.from(await blob.arrayBuffer()), { mode: 0o600 });
    renameSync(partial, file);
  } catch {
    rmSync(partial, { force: true });
  }
}

/** Empty a directory (new before) that a failed template load filled, so initdb can run in it. */
export function clearDataDir(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
}
