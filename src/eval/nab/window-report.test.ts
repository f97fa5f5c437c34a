import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NabCorpus } from './corpus.js';
import { summarizeOutcomes, windowOutcomes } from './window-report.js';

const MINUTE = 60_000;

/** One file of 2,000 rows (probation 300) with windows over rows 1000–1099 and 1500–1599. */
function corpus(): NabCorpus {
  const n = 2000;
  const times = Float64Array.from({ length: n }, (_, i) => i * MINUTE);
  const file = {
    relPath: 'cat/a.csv',
    category: 'cat',
    name: 'a.csv',
    timestamps: Array.from(times, (t) => String(t)),
    times,
    values: new Float64Array(n),
    windows: [
      [1000 * MINUTE, 1099 * MINUTE],
      [1500 * MINUTE, 1599 * MINUTE],
    ] as const,
  };
  const cost = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 };
  return {
    dataDir: '/nowhere',
    files: [file],
    profiles: { standard: cost, reward_low_FP_rate: cost, reward_low_FN_rate: cost },
  };
}

test('per window: the first detection, its depth and reward; misses with their peak', () => {
  const scores = new Float64Array(2000);
  scores[200] = 0.9; // probationary: ignored
  scores[800] = 0.9; // a false positive before both windows
  scores[1050] = 0.7;
  scores[1070] = 0.9; // later than the first: ignored
  scores[1550] = 0.4; // below the threshold: the second window is missed
  const [first, second] = windowOutcomes(corpus(), [scores], 0.5);
  assert.equal(first!.delay, 50);
  assert.equal(first!.rows, 100);
  assert.equal(first!.depth, 0.5);
  assert.ok(first!.reward > 0.8 && first!.reward < 0.9, `reward ${first!.reward}`);
  assert.equal(first!.detectionsBefore, 1);
  assert.equal(second!.delay, null);
  assert.equal(second!.peak, 0.4);
  assert.equal(second!.reward, 0);
  const s = summarizeOutcomes([first!, second!]);
  assert.equal(s.missed, 1);
  assert.equal(s.hits, 1);
  assert.equal(s.medianDepth, 0.5);
  assert.ok(Math.abs(s.lostToLateness - (1 - first!.reward)) < 1e-12);
});
