import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultNabDataDir } from './nab.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));
const data = defaultNabDataDir();

function lastJson(stdout: string): Record<string, number> {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, number>;
}

test('nab score reproduces the published scoreboard from the command line', async () => {
  const published = JSON.parse(
    await readFile(path.join(data, 'results/final_results.json'), 'utf8'),
  ) as Record<string, Record<string, number>>;
  for (const detector of ['numenta', 'windowedGaussian', 'random']) {
    const { stdout } = await run(process.execPath, [
      cli,
      'nab',
      'score',
      '--results',
      path.join(data, 'results', detector),
    ]);
    const scores = lastJson(stdout);
    for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) {
      const expected = published[detector]![profile]!;
      assert.ok(
        Math.abs(scores[profile]! - expected) <= 0.01,
        `${detector} ${profile}: ${scores[profile]} vs published ${expected}`,
      );
    }
  }
});

test('nab run writes NAB-layout results that nab score reads back to the same scores', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'vigil-nab-'));
  const { stdout } = await run(process.execPath, [
    cli,
    'nab',
    'run',
    '--strategy',
    'fast',
    '--out',
    out,
  ]);
  assert.match(stdout, /points\/s per core/);
  const scores = lastJson(stdout);
  assert.ok(scores.standard! > 0, `fast beats the null detector: ${scores.standard}`);
  assert.equal((await readdir(out)).length, 7);
  const rescored = lastJson(
    (await run(process.execPath, [cli, 'nab', 'score', '--results', out])).stdout,
  );
  assert.deepEqual(rescored, scores);
});
