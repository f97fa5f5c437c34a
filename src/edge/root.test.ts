import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { VigilError } from '../errors.js';
import { MANIFEST_ASSET, extractAssets, extractBase, type AssetSource } from './root.js';

const base = mkdtempSync(path.join(tmpdir(), 'vigil-edge-root-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** Assets as the executable holds them, counting reads. */
function assets(id: string, files: Record<string, string>): AssetSource & { reads: number } {
  const all: Record<string, string> = {
    ...files,
    [MANIFEST_ASSET]: JSON.stringify({ id, files: Object.keys(files) }),
  };
  const source = {
    reads: 0,
    getAsset(key: string): ArrayBuffer {
      source.reads++;
      const text = all[key];
      if (text === undefined) throw new Error(`no asset ${key}`);
      const bytes = new TextEncoder().encode(text);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  };
  return source;
}

describe('edge build file tree', () => {
  it('writes every asset at its path under a directory named by the build id', () => {
    const source = assets('b1', { 'proto/a.proto': 'syntax', 'strategies/x.yaml': 'name: x' });
    const root = extractAssets(source, base);
    assert.equal(root, path.join(base, 'vigil-edge-b1'));
    assert.equal(readFileSync(path.join(root, 'proto/a.proto'), 'utf8'), 'syntax');
    assert.equal(readFileSync(path.join(root, 'strategies/x.yaml'), 'utf8'), 'name: x');
    assert.deepEqual(
      readdirSync(base).filter((f) => f.includes('partial')),
      [],
      'nothing half-written left behind',
    );
  });

  it('reuses a complete tree of the same build, and extracts a new build beside it', () => {
    const again = assets('b1', { 'proto/a.proto': 'syntax', 'strategies/x.yaml': 'name: x' });
    writeFileSync(path.join(base, 'vigil-edge-b1', 'proto/a.proto'), 'kept');
    assert.equal(extractAssets(again, base), path.join(base, 'vigil-edge-b1'));
    assert.equal(again.reads, 1, 'only the manifest is read');
    assert.equal(readFileSync(path.join(base, 'vigil-edge-b1', 'proto/a.proto'), 'utf8'), 'kept');

    const next = assets('b2', { 'proto/a.proto': 'v2' });
    const root = extractAssets(next, base);
    assert.equal(readFileSync(path.join(root, 'proto/a.proto'), 'utf8'), 'v2');
  });

  it('redoes a tree a crash left without its completion mark', () => {
    const source = assets('b3', { 'a.txt': 'one' });
    const root = extractAssets(source, base);
    rmSync(path.join(root, '.complete'));
    writeFileSync(path.join(root, 'a.txt'), 'torn');
    extractAssets(source, base);
    assert.equal(readFileSync(path.join(root, 'a.txt'), 'utf8'), 'one');
  });

  it('refuses an asset path leading out of the tree, and an unwritable place, with a coded error', () => {
    assert.throws(
      () => extractAssets(assets('b4', { '../escape.txt': 'x' }), base),
      (error: unknown) =>
        error instanceof VigilError &&
        error.code === 'VIGIL_ERR_CONFIG' &&
        /outside the tree/.test(error.message),
    );
    const file = path.join(base, 'a-file');
    writeFileSync(file, '');
    assert.throws(
      () => extractAssets(assets('b5', { 'a.txt': 'x' }), file),
      (error: unknown) =>
        error instanceof VigilError &&
        error.code === 'VIGIL_ERR_CONFIG' &&
        /VIGIL_EDGE_DIR/.test(error.message),
    );
  });

  it('extracts under VIGIL_EDGE_DIR, else the user cache directory', () => {
    assert.equal(extractBase({ VIGIL_EDGE_DIR: '/opt/vigil' }), '/opt/vigil');
    assert.equal(extractBase({ XDG_CACHE_HOME: '/c' }), path.join('/c', 'vigil'));
  });
});
