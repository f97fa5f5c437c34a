/**
 * New PGlite data directories from the template: the first is made by initdb and saved as the
 * template, the next unpacked from it, both hold a working store that reopens; a corrupt
 * template falls back to initdb. The template file lives in a temporary directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openPGliteStore } from './pglite-store.js';
import { gzipSync } from 'node:zlib';
import { templateFile, unpackTemplate } from './pglite-template.js';

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

/** A one-entry ustar archive, gzipped. */
function tarball(name: string, type: string, content = ''): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000600\0', 100);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write(type, 156);
  header.write('ustar\0', 257);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  body.write(content);
  return gzipSync(Buffer.concat([header, body, Buffer.alloc(1024)]));
}

test('unpacking a template: its files, nothing outside the directory, nothing but files and directories', async () => {
  const target = path.join(dir, 'unpacked');
  unpackTemplate(tarball('/base/1/PG_VERSION', '0', '18\n'), target);
  assert.deepEqual(await readdir(path.join(target, 'base', '1')), ['PG_VERSION']);
  assert.equal((await stat(path.join(target, 'base', '1', 'PG_VERSION'))).size, 3);
  assert.throws(() => unpackTemplate(tarball('/../escaped', '0', 'x'), target), /not inside/);
  assert.equal(existsSync(path.join(dir, 'escaped')), false);
  assert.throws(() => unpackTemplate(tarball('/link', '2'), target), /tar type/);
});
