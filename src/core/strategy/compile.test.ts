import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../stats/rng.js';
import { compileStrategy, restorePipeline } from './compile.js';
import { parseStrategy, resolveStrategy } from './load.js';
import type { Level, PipelineSnapshot, SeriesPipeline } from './pipeline.js';

function noise(n: number, seed: number, level = 0): Float64Array {
  const rng = Rng.fromSeed(seed);
  return Float64Array.from({ length: n }, () => level + rng.uniform(-1, 1));
}

function feed(pipeline: SeriesPipeline, xs: Float64Array, start: number) {
  const scores: number[] = [];
  const levels: Level[] = [];
  xs.forEach((x, i) => {
    scores.push(pipeline.process((start + i) * 1000, x));
    levels.push(pipeline.lastLevel);
  });
  return { scores, levels };
}

const shiftStrategy = (learnOnFlagged: boolean) =>
  parseStrategy(`
name: shift
version: 1
description: z-score with a static threshold.
detector:
  kind: ewzscore
  params: { alpha: 0.05 }
threshold:
  kind: static
learn_on_flagged: ${learnOnFlagged}
`);

describe('compiled pipelines', () => {
  for (const name of ['default', 'fast', 'half-space-trees']) {
    it(`${name}: snapshot → JSON → restore continues with identical scores and levels`, async () => {
      const strategy = await resolveStrategy(name);
      const original = compileStrategy(strategy)('dev/metric');
      const xs = noise(1200, 3, 20);
      xs[700] = 40;
      feed(original, xs.subarray(0, 600), 0);
      const snapshot = JSON.parse(JSON.stringify(original.snapshot())) as PipelineSnapshot;
      const restored = restorePipeline(strategy, snapshot);
      assert.equal(restored.lastLevel, original.lastLevel);
      assert.deepEqual(
        feed(restored, xs.subarray(600), 600),
        feed(original, xs.subarray(600), 600),
      );
    });
  }

  it('refuses a snapshot of another strategy version', async () => {
    const strategy = await resolveStrategy('fast');
    const snapshot = compileStrategy(strategy)('a').snapshot();
    assert.throws(
      () => restorePipeline({ ...strategy, version: strategy.version + 1 }, snapshot),
      /snapshot belongs to strategy fast@1, not fast@2/,
    );
  });

  it('holds learning on flagged points unless learn_on_flagged, for max_unlearned_points', () => {
    const xs = Float64Array.from([...noise(300, 5, 0), ...noise(300, 6, 10)]);
    const flagged = (learnOnFlagged: boolean) =>
      feed(compileStrategy(shiftStrategy(learnOnFlagged))('s'), xs, 0)
        .levels.slice(300)
        .filter((level) => level !== 'ok').length;
    const gated = flagged(false);
    const ungated = flagged(true);
    assert.ok(gated >= 100, `the held detector keeps flagging the shift (${gated} flagged)`);
    assert.ok(gated < 300, `then learns the lasting shift (${gated} flagged)`);
    assert.ok(ungated < 100, `the learning detector adapts (${ungated} flagged)`);
  });

  it('a non-finite value scores 0, is ok and leaves the state untouched', () => {
    const make = compileStrategy(shiftStrategy(false));
    const a = make('s');
    const b = make('s');
    const xs = noise(200, 9);
    feed(a, xs, 0);
    feed(b, xs, 0);
    b.process(200_000, 50);
    assert.notEqual(b.lastLevel, 'ok');
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      assert.equal(b.process(200_000, bad), 0);
      assert.equal(b.lastLevel, 'ok');
    }
    assert.deepEqual(b.snapshot().detector, a.snapshot().detector);
  });

  it('train learns without classifying; process then flags relative to what was trained', () => {
    const pipeline = compileStrategy(shiftStrategy(false))('s');
    noise(200, 11).forEach((x, i) => pipeline.train(i * 1000, x));
    assert.equal(pipeline.lastLevel, 'ok');
    assert.ok(pipeline.process(200_000, 30) > 0.5);
    assert.notEqual(pipeline.lastLevel, 'ok');
  });

  it('series get independent, reproducible seeds', async () => {
    const make = compileStrategy(await resolveStrategy('half-space-trees'));
    const xs = noise(400, 13);
    const one = feed(make('dev-a/x'), xs, 0).scores;
    assert.deepEqual(feed(make('dev-a/x'), xs, 0).scores, one);
    assert.notDeepEqual(feed(make('dev-b/x'), xs, 0).scores, one);
  });
});
