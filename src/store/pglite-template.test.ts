/**
 * New PGlite data directories from the template: the first is made by initdb and saved as the
 * template, the next unpacked from it, both hold a working store that reopens; a corrupt
 * template falls back to initdb. The template file lives in a temporary directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openPGliteStore } from './pglite-store.js';
import { templateFile } from './pglite-template.js';

let dir: string;
let saved: string | undefined;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-pglite-template-'));
  saved = process.env.VIGIL_PGLITE_TEMPLATE;
  process.env.VIGIL_PGLITE_TEMPLATE = path.join(dir, 'template.tar.gz');
});

after(async () => {
  if (saved === undefined) delete process.env.VIGIL_PGLITE_TEMPLATE;
  else process.env.VIGIL_PGLITE_TEMPLATE = saved;
  await rm(dir, { recursive: true, force: true });
});

async function roundTrip(dataDir: string): Promise<void> {
  const point = { devices: ['d'], metrics: ['m'], times: [Date.UTC(2026, 0, 1)], values: [4] };
  let store = await openPGliteStore({ dataDir });
  const appender = store.appender();
  appender.append(point);
  await appender.commit();
  await store.close();
  store = await openPGliteStore({ dataDir });
  try {
    const r = await store.querier.points({ device: 'd', metric: 'm', from: 0, to: 2 ** 42 });
    assert.equal(r.kind, 'raw');
    assert.deepEqual(Array.from(r.kind === 'raw' ? r.values : []), [4]);
  } finally {
    await store.close();
  }
}

test('the template: saved by the first new directory, used by the next; both work and reopen', async () => {
  const file = path.join(dir, 'template.tar.gz');
  await roundTrip(path.join(dir, 'first'));
  assert.ok(existsSync(file), 'template saved');
  const before = (await stat(file)).mtimeMs;
  await roundTrip(path.join(dir, 'second'));
  assert.equal((await stat(file)).mtimeMs, before, 'the second directory came from the template');
});

test('a corrupt template: initdb instead, and the store works', async () => {
  await writeFile(path.join(dir, 'template.tar.gz'), 'not a tarball');
  await roundTrip(path.join(dir, 'third'));
});

test('VIGIL_PGLITE_TEMPLATE=off: no template; by default one per PGlite version', () => {
  assert.equal(templateFile({ VIGIL_PGLITE_TEMPLATE: 'off' }), undefined);
  assert.match(
    templateFile({ XDG_CACHE_HOME: '/c' }) ?? '',
    /^\/c\/vigil\/pglite-\d+\.\d+\.\d+.*-datadir\.tar\.gz$/,
  );
});
