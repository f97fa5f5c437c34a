import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/stats/rng.js';
import {
  compileDeviceStrategy,
  compileStrategy,
  isVectorStrategy,
} from '../core/strategy/compile.js';
import { builtinStrategies, builtinStrategyNames, resolveStrategy } from './load.js';

const SPIKE = 2600;

const REQUIRED = [
  'adaptive-window',
  'default',
  'ewzscore',
  'fast',
  'half-space-trees',
  'multivariate',
  'rolling-zscore',
  'seasonal-esd',
];

/** A noisy cycle (period 48) with one spike at index SPIKE, after every detector's warm-up. */
function series(n: number, seed: number): Float64Array {
  const rng = Rng.fromSeed(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = 10 + 3 * Math.sin((2 * Math.PI * i) / 48) + rng.uniform(-1, 1);
  out[SPIKE] = (out[SPIKE] ?? 0) + 25;
  return out;
}

/** Three metrics that follow that cycle together; at SPIKE the second one breaks away. */
function vectors(n: number, seed: number): Float64Array[] {
  const base = series(n, seed);
  const rng = Rng.fromSeed(seed + 1);
  return Array.from(base, (x, i) => {
    const clean = i === SPIKE ? x - 25 : x;
    const second = 2 * clean + rng.uniform(-0.2, 0.2) + (i === SPIKE ? 8 : 0);
    return Float64Array.from([clean, second, 5 - clean + rng.uniform(-0.2, 0.2)]);
  });
}

function run(pipelineScores: (t: number, x: number) => number, xs: Float64Array): number[] {
  return Array.from(xs, (x, i) => pipelineScores(i * 1000, x));
}

describe('built-in strategies', () => {
  it('include one per seed method plus fast, default and multivariate', () => {
    for (const name of REQUIRED) assert.ok(builtinStrategyNames().includes(name), name);
  });

  it('all load together', async () => {
    const names = (await builtinStrategies()).map((strategy) => strategy.name);
    assert.deepEqual(names, builtinStrategyNames());
  });

  for (const name of builtinStrategyNames()) {
    it(`${name} parses, is named after its file, compiles and scores deterministically`, async () => {
      const strategy = await resolveStrategy(name);
      assert.equal(strategy.name, name);
      let scores: number[];
      let again: number[];
      if (isVectorStrategy(strategy)) {
        const make = compileDeviceStrategy(strategy, ['a', 'b', 'c']);
        const xs = vectors(3000, 7);
        const score = () => {
          const pipeline = make('dev-1');
          return xs.map((x, i) => pipeline.process(i * 1000, x));
        };
        [scores, again] = [score(), score()];
      } else {
        const make = compileStrategy(strategy);
        const xs = series(3000, 7);
        const a = make('dev-1/temp');
        const b = make('dev-1/temp');
        [scores, again] = [run((t, x) => a.process(t, x), xs), run((t, x) => b.process(t, x), xs)];
      }
      for (const s of scores) assert.ok(s >= 0 && s <= 1, `score ${s} out of [0, 1]`);
      assert.ok((scores[SPIKE] ?? 0) > 0, 'the spike gets a positive score');
      assert.deepEqual(again, scores, 'same key, same scores');
    });
  }
});
