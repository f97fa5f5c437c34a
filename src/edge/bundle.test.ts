import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = mkdtempSync(path.join(tmpdir(), 'vigil-edge-bundle-'));
after(() => rmSync(out, { recursive: true, force: true }));

/**
 * The edge build's bundle and file tree (scripts/build-edge.mjs --bundle-only), run as a plain
 * script: the code that reads files beside itself finds them in the tree (strategies, the
 * scoring worker, snappy's native module). Making the executable from them (a Node binary and
 * postject) is what `npm run build:edge` adds.
 */
describe('edge build bundle', () => {
  before(() => {
    execFileSync(
      process.execPath,
      [path.join(repo, 'scripts/build-edge.mjs'), '--bundle-only', '--out', out],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  });

  function vigil(args: string[]): string {
    return execFileSync(process.execPath, [path.join(out, 'vigil.cjs'), ...args], {
      cwd: out,
      encoding: 'utf8',
    });
  }

  it('lays out the tree as the repository', () => {
    for (const file of [
      'proto/vigil/v1/ingest.proto',
      'strategies/default.yaml',
      'web/public/index.html',
      'dist/engine/scoring/scoring-worker.js',
      'node_modules/@electric-sql/pglite/dist/pglite.wasm',
      'node_modules/snappy/package.json',
    ]) {
      assert.ok(existsSync(path.join(out, 'root', file)), `${file} in the tree`);
    }
  });

  it('runs the command line, reading the built-in strategies from the tree', () => {
    const listed = vigil(['strategies']);
    assert.match(listed, /^default@\d+\t/m);
    assert.match(listed, /^fast@\d+\t/m);
  });

  it('scores a CSV file', () => {
    const scored = vigil([
      'detect',
      '--input',
      path.join(repo, 'examples/pump.csv'),
      '--strategy',
      'fast',
    ]);
    assert.match(scored.split('\n')[0]!, /score,level,is_anomaly,in_event,event_id$/);
    assert.ok(scored.split('\n').length > 100);
  });
});
