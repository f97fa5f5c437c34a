import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VigilError } from '../../errors.js';
import { nabDataDir } from '../nab/fixtures.js';
import { globToRegExp, loadDataset, parseLabelledCsv } from './dataset.js';

const T = (s: string) => Date.parse(`${s}Z`);

describe('A/B data sets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-ab-data-'));
    await mkdir(path.join(dir, 'site'), { recursive: true });
    await writeFile(
      path.join(dir, 'site', 'pump.csv'),
      'timestamp,value,label\n' +
        '2026-01-01 00:00:00,1,0\n2026-01-01 00:01:00,2,1\n2026-01-01 00:02:00,3,1\n' +
        '2026-01-01 00:03:00,4,0\n2026-01-01 00:04:00,5,1\n',
    );
    await writeFile(path.join(dir, 'other.csv'), 'timestamp,value\n1767225600000,1\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('turns runs of label 1 into windows, first to last timestamp', () => {
    const { windows, file } = parseLabelledCsv(
      'a.csv',
      'timestamp,value,label\n2026-01-01 00:00:00,1,1\n2026-01-01 00:01:00,2,0\n2026-01-01 00:02:00,3,1\n2026-01-01 00:03:00,3,1\n',
    );
    assert.deepEqual(windows, [
      [T('2026-01-01T00:00:00'), T('2026-01-01T00:00:00')],
      [T('2026-01-01T00:02:00'), T('2026-01-01T00:03:00')],
    ]);
    assert.deepEqual([...file.values], [1, 2, 3, 3]);
  });

  it('names the file, line and field of bad rows', () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(
        () => parseLabelledCsv('x.csv', text),
        (e: unknown) =>
          e instanceof VigilError && e.code === 'VIGIL_ERR_DATASET' && re.test(e.message),
      );
    bad('time,value\n', /x\.csv:1: header needs "timestamp" and "value"/);
    bad('timestamp,value,label\n2026-01-01 00:00:00,1,2\n', /x\.csv:2: label "2" must be 0 or 1/);
    bad('timestamp,value\n2026-01-01 00:00:00,abc\n', /x\.csv:2: value "abc"/);
    bad('timestamp,value\nyesterday,1\n', /x\.csv:2: unparsable timestamp "yesterday"/);
    bad(
      'timestamp,value\n2026-01-01 00:01:00,1\n2026-01-01 00:00:00,1\n',
      /x\.csv:3: .* before the previous row/,
    );
  });

  it('reads a CSV folder, filters by glob and limit, and lets a labels file replace windows', async () => {
    const all = await loadDataset(dir);
    assert.equal(all.layout, 'csv');
    assert.deepEqual(
      all.corpus.files.map((f) => [f.relPath, f.windows.length]),
      [
        ['other.csv', 0],
        ['site/pump.csv', 2],
      ],
    );
    const one = await loadDataset(dir, { files: 'site/*' });
    assert.deepEqual(
      one.corpus.files.map((f) => f.relPath),
      ['site/pump.csv'],
    );
    assert.equal((await loadDataset(dir, { limit: 1 })).corpus.files.length, 1);
    const labels = path.join(dir, 'labels.json');
    await writeFile(
      labels,
      JSON.stringify({ 'other.csv': [['2026-01-01 00:00:00', '2026-01-01 00:00:00.000']] }),
    );
    const relabelled = await loadDataset(dir, { labels, files: '**/*.csv' });
    assert.deepEqual(
      relabelled.corpus.files.map((f) => f.windows.length),
      [1, 0],
    );
    await assert.rejects(loadDataset(dir, { files: 'nothing/*' }), {
      code: 'VIGIL_ERR_DATASET',
      message: /no CSV files under .* match/,
    });
  });

  it('reads the NAB layout with its own windows', async () => {
    const nab = await loadDataset(nabDataDir(), { files: 'realKnownCause/nyc_taxi.csv' });
    assert.equal(nab.layout, 'nab');
    assert.equal(nab.corpus.files.length, 1);
    assert.equal(nab.corpus.files[0]!.windows.length, 5);
    assert.equal(nab.corpus.profiles.standard.fpWeight, 0.11);
  });

  it('globs: * stays in a folder, ** crosses folders', () => {
    assert.ok(globToRegExp('real*/*.csv').test('realTweets/a.csv'));
    assert.ok(!globToRegExp('*.csv').test('realTweets/a.csv'));
    assert.ok(globToRegExp('**/*.csv').test('a/b/c.csv'));
    assert.ok(globToRegExp('**/*.csv').test('c.csv'));
    assert.ok(globToRegExp('a?c.csv').test('abc.csv'));
  });
});
