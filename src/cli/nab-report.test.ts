import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultNabDataDir } from './nab.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));
const FILES = [
  'artificialWithAnomaly/art_daily_jumpsup.csv',
  'realKnownCause/ec2_request_latency_system_failure.csv',
  'realAdExchange/exchange-2_cpc_results.csv',
];

describe('vigil nab run --report', () => {
  let dir: string;
  before(async () => {
    // A three-file corpus in NAB's layout, cut from the shared one (which is never written to).
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-nab-report-'));
    const nab = defaultNabDataDir();
    const windows = JSON.parse(
      await readFile(path.join(nab, 'labels', 'combined_windows.json'), 'utf8'),
    ) as Record<string, unknown>;
    for (const rel of FILES) {
      await mkdir(path.join(dir, 'data', path.dirname(rel)), { recursive: true });
      await copyFile(path.join(nab, 'data', rel), path.join(dir, 'data', rel));
    }
    await mkdir(path.join(dir, 'labels'));
    await mkdir(path.join(dir, 'config'));
    await writeFile(
      path.join(dir, 'labels', 'combined_windows.json'),
      JSON.stringify(Object.fromEntries(FILES.map((f) => [f, windows[f]]))),
    );
    await copyFile(
      path.join(nab, 'config', 'profiles.json'),
      path.join(dir, 'config', 'profiles.json'),
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the score table and a plot per file with windows and detections', async () => {
    const report = path.join(dir, 'report');
    const { stderr, stdout } = await run(process.execPath, [
      cli,
      'nab',
      'run',
      '--strategy',
      'fast',
      '--data',
      dir,
      '--workers',
      '1',
      '--report',
      report,
    ]);
    assert.match(stderr, /report: .*index\.html/);
    const scores = JSON.parse(stdout.trimEnd().split('\n').pop()!) as { standard: number };
    const html = await readFile(path.join(report, 'index.html'), 'utf8');
    assert.match(html, /<h1>NAB: fast@1<\/h1>/);
    // The score table: categories, the corpus line with the printed standard score, thresholds.
    for (const c of ['artificialWithAnomaly', 'realAdExchange', 'realKnownCause', 'threshold']) {
      assert.match(html, new RegExp(`<td>${c}</td>`));
    }
    assert.match(
      html,
      new RegExp(`<td>corpus</td><td>3</td><td>${scores.standard.toFixed(2)}</td>`),
    );
    assert.equal((html.match(/class="series-plot"/g) ?? []).length, 3);
    // Every file of the subset has at least one label window.
    assert.ok((html.match(/class="label-window"/g) ?? []).length >= 3);
    assert.equal((html.match(/class="detections" data-name="alarms"/g) ?? []).length, 3);
    assert.equal((html.match(/class="detections" data-name="NAB"/g) ?? []).length, 3);
    assert.doesNotMatch(html, /<script|<link|src=|url\(/);
    assert.deepEqual((await readdir(path.join(report, 'plots'))).sort(), [
      'artificialWithAnomaly__art_daily_jumpsup.svg',
      'realAdExchange__exchange-2_cpc_results.svg',
      'realKnownCause__ec2_request_latency_system_failure.svg',
    ]);
    const svg = await readFile(
      path.join(report, 'plots', 'realKnownCause__ec2_request_latency_system_failure.svg'),
      'utf8',
    );
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<path class="series-line" d="M/);
  });
});
