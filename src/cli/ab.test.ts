import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultNabDataDir } from './nab.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));

describe('vigil ab', () => {
  let out: string;
  before(async () => {
    out = await mkdtemp(path.join(tmpdir(), 'vigil-ab-'));
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('compares two built-in strategies on a NAB subset and writes the HTML/SVG report', async () => {
    const report = path.join(out, 'nab');
    const { stdout, stderr } = await run(process.execPath, [
      cli,
      'ab',
      '--a',
      'default',
      '--b',
      'fast',
      '--data',
      defaultNabDataDir(),
      '--files',
      'realKnownCause/*',
      '--limit',
      '2',
      '--out',
      report,
    ]);
    assert.match(stdout, /A: default@1 \(default\) {3}B: fast@1 \(fast\)/);
    assert.match(stdout, /2 files, 25317 points/);
    for (const row of ['precision', 'recall', 'F1', 'false-positive rate', 'NAB standard']) {
      assert.match(stdout, new RegExp(`^${row} `, 'm'));
    }
    assert.match(stdout, /^latency \(ns\/point\) +\d+ +\d+$/m);
    assert.match(stdout, /^verdict: .*wins on/m);
    assert.match(stderr, /report: .*report\.html/);

    const json = JSON.parse(await readFile(path.join(report, 'report.json'), 'utf8')) as {
      overall: { a: { nab: { standard: number }; counts: { windows: number } } };
      files: unknown[];
    };
    assert.equal(json.files.length, 2);
    assert.equal(json.overall.a.counts.windows, 3);
    assert.ok(json.overall.a.nab.standard > 0);

    const html = await readFile(path.join(report, 'report.html'), 'utf8');
    assert.match(html, /<p class="verdict">verdict: /);
    assert.equal((html.match(/<svg /g) ?? []).length, 2 + 6);
    assert.equal((html.match(/class="series-plot"/g) ?? []).length, 2);
    assert.ok((html.match(/class="label-window"/g) ?? []).length >= 3);
    assert.equal((html.match(/class="detections"/g) ?? []).length, 4);
    assert.ok((html.match(/class="bar"/g) ?? []).length >= 10);
    // Self-contained: nothing is fetched.
    assert.doesNotMatch(html, /<script|<link|src=|url\(/);
    const plots = (await readdir(path.join(report, 'plots'))).sort();
    assert.ok(plots.includes('realKnownCause__ambient_temperature_system_failure.svg'));
    assert.ok(plots.includes('quality.svg') && plots.includes('nab.svg'));
    assert.equal(plots.length, 8);
  });

  it('reads a CSV folder with a label column and prints JSON', async () => {
    const data = path.join(out, 'csv');
    const rows = ['timestamp,value,label'];
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 2000; i++) {
      const spike = i === 1500;
      const t = new Date(t0 + i * 60_000).toISOString().slice(0, 19).replace('T', ' ');
      rows.push(
        `${t},${spike ? 100 : Math.sin(i / 20) + (i % 7) * 0.01},${i >= 1495 && i <= 1510 ? 1 : 0}`,
      );
    }
    await run('mkdir', ['-p', data]);
    await writeFile(path.join(data, 'spike.csv'), rows.join('\n') + '\n');
    const { stdout } = await run(process.execPath, [
      cli,
      'ab',
      '--a',
      'fast',
      '--b',
      'rolling-zscore',
      '--data',
      data,
      '--json',
    ]);
    const json = JSON.parse(stdout) as {
      meta: { layout: string; points: number };
      overall: { a: { counts: { windows: number; detectedWindows: number } } };
    };
    assert.equal(json.meta.layout, 'csv');
    assert.equal(json.meta.points, 2000);
    assert.equal(json.overall.a.counts.windows, 1);
    assert.equal(json.overall.a.counts.detectedWindows, 1);
  });

  it('fails clearly on a missing data folder', async () => {
    await assert.rejects(
      run(process.execPath, [cli, 'ab', '--a', 'fast', '--b', 'fast', '--data', '/nonexistent']),
      (e: { stderr: string; code: number }) =>
        /VIGIL_ERR_DATASET: cannot read data folder \/nonexistent/.test(e.stderr) && e.code === 5,
    );
  });
});
