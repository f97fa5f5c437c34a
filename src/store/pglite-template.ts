/**
 * A new PGlite data directory from a template instead of initdb. PGlite's initdb runs in a
 * WebAssembly instance of its own: 5–7 s on a 2-core machine, and ~500 MB of memory the process
 * keeps until a garbage collection it may never need. The first new directory is made by initdb
 * and, once migrated (the schema's 14 migrations take ~2 s of WebAssembly too) and before
 * anything else is written to it, saved as a gzipped tarball (PGlite's `dumpDataDir`); later new
 * directories are unpacked from it by Node (`unpackTemplate`) and then opened like any existing
 * directory, already up to date.
 *
 * The template is a cache keyed by the PGlite version, the schema's name and its version, in the
 * user's cache directory: `$XDG_CACHE_HOME/vigil` or `~/.cache/vigil`, or the file
 * `VIGIL_PGLITE_TEMPLATE` names (`off`: always initdb; a named file is used for any schema, whose
 * missing migrations then run as on any directory). Any failure to read or write it falls back to
 * initdb, silently.
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
import { gunzipSync } from 'node:zlib';
import { SCHEMA_VERSION } from './migrations/index.js';

/** The template file, or undefined when templates are off. */
export function templateFile(
  env: NodeJS.ProcessEnv = process.env,
  schema = 'public',
): string | undefined {
  const configured = env.VIGIL_PGLITE_TEMPLATE;
  if (configured === 'off') return undefined;
  if (configured !== undefined && configured !== '') return configured;
  const version = pgliteVersion();
  if (version === undefined) return undefined;
  const cache = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cache, 'vigil', `pglite-${version}-${schema}-${SCHEMA_VERSION}-datadir.tar.gz`);
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

/** The template's bytes (gzipped), if there is one. */
export function readTemplate(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

const BLOCK = 512;

/** A NUL-terminated text field of a tar header. */
function field(header: Buffer, at: number, length: number): string {
  const raw = header.subarray(at, at + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/**
 * Unpack a template (a gzipped ustar of directories and regular files, as `dumpDataDir` writes)
 * into `dataDir`, with Node's zlib and file writes. PGlite's own `loadDataDir` unpacks through its
 * WebAssembly file system instead, growing that memory by ~70 MB that WebAssembly never gives
 * back, plus ~80 MB of buffers held until a garbage collection an idle service never runs.
 * Directories get mode 0700 and files 0600, as initdb makes them.
 * @throws on anything else in the tarball, or a path outside `dataDir` (the caller falls back).
 */
export function unpackTemplate(gzipped: Uint8Array, dataDir: string): void {
  const tar = gunzipSync(gzipped);
  const root = path.resolve(dataDir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (let at = 0; at + BLOCK <= tar.length;) {
    const header = tar.subarray(at, at + BLOCK);
    const name = field(header, 0, 100);
    if (name === '') break; // the end: zero blocks
    const prefix = field(header, 345, 155);
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const target = path.resolve(
      root,
      `.${path.posix.sep}${prefix === '' ? name : `${prefix}/${name}`}`,
    );
    if (
      !Number.isSafeInteger(size) ||
      (target !== root && !target.startsWith(`${root}${path.sep}`))
    ) {
      throw new Error(`template entry ${JSON.stringify(name)} is not inside the data directory`);
    }
    const data = at + BLOCK;
    if (type === '5') {
      mkdirSync(target, { recursive: true, mode: 0o700 });
    } else if (type === '0' || type === '\0') {
      mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, tar.subarray(data, data + size), { mode: 0o600 });
    } else {
      throw new Error(
        `template entry ${JSON.stringify(name)} has tar type ${JSON.stringify(type)}`,
      );
    }
    at = data + Math.ceil(size / BLOCK) * BLOCK;
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
  if (!existsSync(dataDir)) return; // the template failed before making it
  for (const name of readdirSync(dataDir)) {
    rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
}
