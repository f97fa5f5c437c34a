/**
 * Where the edge build's files live on disk. The single executable carries, as assets, every
 * file Vigil reads beside its code (proto/, strategies/, the dashboard, PGlite's WebAssembly,
 * snappy's native module, the scoring worker); on first start they are written once to
 * `<cache>/vigil-edge-<build id>/`, laid out as in the repository, and every module's
 * `import.meta.url` is rewritten at bundle time to its place in that tree
 * (scripts/build-edge.mjs). Run as a plain bundle (`node vigil.cjs`), the tree is the `root/`
 * directory beside it, as the build stages it.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { VigilError } from '../errors.js';

/** The asset holding the list of the other assets and the build id. */
export const MANIFEST_ASSET = 'vigil-edge-manifest.json';

export interface EdgeManifest {
  /** Content hash of the build: a new build extracts to a new directory. */
  readonly id: string;
  /** Asset keys, which are also paths relative to the extracted root. */
  readonly files: readonly string[];
}

/** What the extraction reads; node:sea in the executable. */
export interface AssetSource {
  getAsset(key: string): ArrayBuffer;
}

/** `VIGIL_EDGE_DIR`, else `$XDG_CACHE_HOME/vigil`, else `~/.cache/vigil`. */
export function extractBase(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIGIL_EDGE_DIR) return env.VIGIL_EDGE_DIR;
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'vigil');
}

/**
 * Writes the assets under `base` unless this build's directory is already complete; returns it.
 * Written aside and renamed, so a crash or a second process starting at once never leaves a
 * half-written tree in use.
 */
export function extractAssets(source: AssetSource, base: string): string {
  const manifest = JSON.parse(
    Buffer.from(source.getAsset(MANIFEST_ASSET)).toString('utf8'),
  ) as EdgeManifest;
  const root = path.join(base, `vigil-edge-${manifest.id}`);
  if (existsSync(path.join(root, '.complete'))) return root;
  const partial = `${root}.${process.pid}.partial`;
  try {
    rmSync(partial, { recursive: true, force: true });
    for (const key of manifest.files) {
      const target = path.resolve(partial, key);
      if (!target.startsWith(partial + path.sep)) {
        throw new Error(`asset ${key} lies outside the tree`);
      }
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, Buffer.from(source.getAsset(key)));
    }
    writeFileSync(path.join(partial, '.complete'), manifest.id);
    rmSync(root, { recursive: true, force: true });
    renameSync(partial, root);
  } catch (error) {
    removeQuietly(partial);
    if (existsSync(path.join(root, '.complete'))) return root; // another process won the race
    throw new VigilError(
      'VIGIL_ERR_CONFIG',
      `cannot write the edge build's files to ${base} (set VIGIL_EDGE_DIR to a writable directory): ${(error as Error).message}`,
    );
  }
  return root;
}

/** Best effort: under a path that is not a directory, Node 20 throws ENOTDIR even with force. */
function removeQuietly(target: string): void {
  try {
    rmSync(target, { recursive: true, force: true });
  } catch {
    // nothing was written there
  }
}

/** The global the bundle's rewritten `import.meta.url` reads (see the build script). */
declare global {
  var __vigilEdgeRoot: string | undefined;
}

/** The tree's root, once set by the entry point. */
export function edgeRoot(): string {
  const root = globalThis.__vigilEdgeRoot;
  if (root === undefined) throw new Error('edge root read before it was set');
  return root;
}

/** `require` resolving from the tree's root: native modules kept as files. */
export function edgeRequire(id: string): unknown {
  return createRequire(path.join(edgeRoot(), 'package.json'))(id);
}
