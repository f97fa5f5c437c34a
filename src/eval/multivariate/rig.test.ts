import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeRig, runToCsv } from './machines.js';
import { countRows, eventRows } from './spans.js';
import { QUIET_ROWS } from './evaluate.js';

/**
 * Issue 16's case, end to end through the CLI: one pump, 8 sensors at 1 Hz, 1,150 rows, a
 * blockage on rows 580–975, scored with the built-in `multivariate` strategy and
 * `--train-rows 400`. The fault must be flagged from its onset and few normal rows.
 */

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

interface Scored {
  readonly flagged: boolean[];
  readonly top: string[];
  readonly header: string;
}

async function detectRig(seed: number, extra: string[] = []): Promise<Scored> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-rig-'));
  const input = path.join(dir, 'rig.csv');
  const output = path.join(dir, 'out.csv');
  await writeFile(input, runToCsv(makeRig(seed)));
  await run(process.execPath, [
    cli,
    'detect',
    '--input',
    input,
    '--time-column',
    'datetime',
    '--strategy',
    'multivariate',
    '--output',
    output,
    ...extra,
  ]);
  const [header = '', ...lines] = (await readFile(output, 'utf8')).trimEnd().split('\n');
  const columns = header.split(',');
  const flaggedAt = columns.indexOf('is_anomaly');
  const topAt = columns.indexOf('top_metrics');
  const cells = lines.map((line) => line.split(','));
  return {
    header,
    flagged: cells.map((c) => c[flaggedAt] === '1'),
    top: cells.map((c) => c[topAt] ?? ''),
  };
}

for (const seed of [16, 17, 18]) {
  test(`the rig's blockage is flagged with --train-rows 400, few normal rows are (seed ${seed})`, async () => {
    const rig = makeRig(seed);
    assert.equal(rig.values.length, 1150);
    assert.equal(rig.metrics.length, 8);
    const { flagged, top } = await detectRig(seed, ['--train-rows', '400']);
    assert.equal(flagged.length, 1150);
    assert.ok(
      flagged.slice(0, 400).every((f) => !f),
      'no training row is flagged',
    );
    const first = flagged.findIndex((f, i) => f && i >= rig.start);
    assert.ok(first >= rig.start && first < rig.start + 30, `first alarm at row ${first}`);
    const counts = countRows(eventRows(flagged, QUIET_ROWS), rig.start, rig.end, 400);
    const recall = counts.truePositives / (rig.end - rig.start);
    const falseAlarms = counts.falsePositives / counts.normalRows;
    assert.ok(recall >= 0.9, `in-event rows cover ${(100 * recall).toFixed(1)} % of the fault`);
    assert.ok(falseAlarms <= 0.05, `${(100 * falseAlarms).toFixed(1)} % of normal rows in events`);
    const inFault = top.filter((t, i) => flagged[i] && i >= rig.start && i < rig.end);
    const named = inFault.filter((t) => /^(flow|pressure):/.test(t)).length;
    assert.ok(
      named >= 0.9 * inFault.length,
      `flow or pressure first at ${named}/${inFault.length}`,
    );
  });
}

test('a training period shorter than d + 2 rows is refused with a clear message', async () => {
  await assert.rejects(detectRig(16, ['--train-rows', '5']), (err: unknown) => {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    assert.match(stderr, /VIGIL_ERR_STRATEGY_INVALID/);
    assert.match(stderr, /training period of 5 rows is too short for detector '\w+' on 8 metrics/);
    assert.match(stderr, /at least 10/);
    return true;
  });
});
