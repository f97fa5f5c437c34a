import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { makeSyntheticSeries, type AnomalyKind } from '../detectors/synthetic.js';
import { resolveStrategy } from '../../strategy-files/load.js';
import { compileStrategy, restorePipeline } from './compile.js';
import type { PipelineSnapshot } from './pipeline.js';

// Snapshots written by the code before compact series state (float64 everywhere, one array per
// part), with the scores and levels that code gave for the points after them. Checkpoints of
// that shape must still restore. Fixtures stay in src/.
//
// `default` keeps parts of its state at less than float64 precision: the shape memory in float16,
// the seasonal offsets as 16-bit multiples of a step, the value tails in float32 relative to the
// first value, envelope bounds and other tails in float32. An old checkpoint is rounded to that
// on restore, so it must restore and score sensibly — same levels, same zero/non-zero scores,
// scores within ROUNDED of the old ones (they move by ≤ 2e-5 on this fixture) — but not bit for
// bit. A checkpoint written now restores bit for bit (asserted below and in the conformance suite).
const ROUNDED = 1e-4;
const FIXTURES = new URL('../../../src/core/strategy/fixtures/snapshots/', import.meta.url);

interface Fixture {
  readonly strategy: string;
  readonly series: { seed: number; anomaly: AnomalyKind; length: number };
  readonly cut: number;
  readonly snapshot: PipelineSnapshot;
  readonly scores: number[];
  readonly levels: string[];
}

function load(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`${name}-v1.json`, FIXTURES), 'utf8')) as Fixture;
}

/** The fixture's input: the synthetic series with the spike and shift injected when it was made. */
function input(f: Fixture): { times: Float64Array; values: Float64Array } {
  const { times, values } = makeSyntheticSeries(f.series);
  values[2400] = values[2400]! + 80;
  for (let i = 2600; i < values.length; i++) values[i] = values[i]! + 40;
  return { times, values };
}

function continueFrom(
  f: Fixture,
  pipeline: ReturnType<ReturnType<typeof compileStrategy>>,
): { scores: number[]; levels: string[] } {
  const { times, values } = input(f);
  const scores: number[] = [];
  const levels: string[] = [];
  for (let i = f.cut; i < times.length; i++) {
    scores.push(pipeline.process(times[i]!, values[i]!));
    levels.push(pipeline.lastLevel);
  }
  return { scores, levels };
}

describe('snapshots of the earlier state layout', () => {
  it('fast: restores and continues with the very same scores and levels', async () => {
    const f = load('fast');
    const strategy = await resolveStrategy(f.strategy);
    const { scores, levels } = continueFrom(f, restorePipeline(strategy, f.snapshot));
    assert.deepEqual(scores, f.scores);
    assert.deepEqual(levels, f.levels);
  });

  it('default: restores and continues with the same levels and scores within rounding', async () => {
    const f = load('default');
    const strategy = await resolveStrategy(f.strategy);
    const restored = restorePipeline(strategy, f.snapshot);
    const { scores, levels } = continueFrom(f, restored);
    assert.deepEqual(levels, f.levels);
    assert.equal(scores.length, f.scores.length);
    for (let i = 0; i < scores.length; i++) {
      // The compact parts are rounded on restore (see ROUNDED); a zero stays a zero.
      assert.equal(scores[i] === 0, f.scores[i] === 0, `point ${f.cut + i}: zero or not`);
      assert.ok(Math.abs(scores[i]! - f.scores[i]!) <= ROUNDED, `point ${f.cut + i}`);
    }
    // Its new snapshot restores bit for bit, like any other.
    const again = restorePipeline(strategy, JSON.parse(JSON.stringify(restored.snapshot())));
    const tail = { ...f, cut: f.series.length - 100 };
    const a = continueFrom(tail, again);
    const b = continueFrom(tail, restorePipeline(strategy, restored.snapshot()));
    assert.deepEqual(a, b);
  });

  it('default: a series built now matches the earlier code on the same points within rounding', async () => {
    const f = load('default');
    const pipeline = compileStrategy(await resolveStrategy(f.strategy))('plant/temp');
    const { times, values } = input(f);
    for (let i = 0; i < f.cut; i++) pipeline.process(times[i]!, values[i]!);
    const { scores, levels } = continueFrom(f, pipeline);
    assert.deepEqual(levels, f.levels);
    for (let i = 0; i < scores.length; i++) {
      assert.equal(scores[i] === 0, f.scores[i] === 0, `point ${f.cut + i}: zero or not`);
      assert.ok(Math.abs(scores[i]! - f.scores[i]!) <= ROUNDED, `point ${f.cut + i}`);
    }
  });
});

describe('snapshots of the compact state', () => {
  it('default: restored through JSON every 500 points, a series scores bit for bit as never snapshotted', async () => {
    const strategy = await resolveStrategy('default');
    const compile = compileStrategy(strategy);
    // Values that force every grid to grow: a quiet start (fine steps), then a jump of six orders
    // of magnitude (seasonal offsets, envelope bounds and value tails re-gridded), spikes far
    // beyond the shape memory's ±128 steps, and a flat stretch.
    const times: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < 6000; i++) {
      times.push(Date.UTC(2024, 0, 1) + i * 300_000);
      const daily = Math.sin((2 * Math.PI * i) / 288);
      const base = i < 2000 ? 10 + 0.01 * daily : i < 4000 ? 5e6 + 1e6 * daily : 42;
      values.push(base + (i % 7) * (i < 2000 ? 0.001 : 1000) + (i % 911 === 0 ? 1e7 : 0));
    }
    const straight = compile('plant/temp');
    const expected = times.map((t, i) => straight.process(t, values[i]!));
    let pipeline = compile('plant/temp');
    for (let i = 0; i < times.length; i++) {
      if (i % 500 === 250) {
        pipeline = restorePipeline(strategy, JSON.parse(JSON.stringify(pipeline.snapshot())));
      }
      assert.equal(pipeline.process(times[i]!, values[i]!), expected[i], `point ${i}`);
    }
    // As JSON: the threshold's state may hold a -0 that JSON writes as 0.
    const json = (p: typeof pipeline): unknown => JSON.parse(JSON.stringify(p.snapshot()));
    assert.deepEqual(json(pipeline), json(straight));
  });
});
