import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extremeValueFactory, extremeValueParamsSchema } from './extreme-value.js';
import type { Detector, DetectorSnapshot } from './detector.js';
import type { ExplainingDetector } from './explanation.js';
import { LevelSeasonModel } from '../stats/level-season.js';
import { makeSyntheticSeries } from './synthetic.js';

const params = extremeValueParamsSchema.parse({});
const { times, values } = makeSyntheticSeries({ seed: 11, length: 900, anomaly: 'spike' });

type Explaining = Detector & ExplainingDetector;
const fresh = (): Explaining => extremeValueFactory.create(params, 1) as Explaining;
const roundTrip = (s: DetectorSnapshot): DetectorSnapshot => JSON.parse(JSON.stringify(s));
const restore = (s: DetectorSnapshot): Explaining =>
  extremeValueFactory.restore(roundTrip(s)) as Explaining;

test('restored before, at and after the point that lays out the seasonal slots, a series continues bit for bit', () => {
  const baseline: number[] = [];
  const d = fresh();
  for (let i = 0; i < times.length; i++) baseline.push(d.update(times[i]!, values[i]!));
  for (const cut of [1, 2, 3]) {
    const a = fresh();
    for (let i = 0; i < cut; i++) a.update(times[i]!, values[i]!);
    const b = restore(a.snapshot());
    const scores: number[] = [];
    for (let i = cut; i < times.length; i++) scores.push(b.update(times[i]!, values[i]!));
    assert.deepEqual(scores, baseline.slice(cut), `cut at ${cut}`);
    assert.deepEqual(roundTrip(b.snapshot()), roundTrip(d.snapshot()), `state, cut at ${cut}`);
  }
});

test('the seasonal models kept in the store follow LevelSeasonModel, also when one was restored without its slots', () => {
  const { season_ms: period, season_alpha: alpha } = params;
  const fast = new LevelSeasonModel(period, alpha, params.level_alpha, params.season_max_slots);
  let slow: LevelSeasonModel | undefined;
  let d = fresh();
  for (let i = 0; i < 400; i++) {
    if (i === 200) {
      // A snapshot whose slow model has seen one point and has no layout yet: the two models'
      // slots are then laid out at different points (the slow one's at its next point).
      const snap = roundTrip(d.snapshot());
      const edited = { firstTime: times[i - 1]!, level: values[i - 1]!, offsets: null };
      (snap.state as Record<string, unknown>).slowSeason = edited;
      d = restore(snap);
      slow = new LevelSeasonModel(period, alpha, params.slow_level_alpha, 1440, edited);
    }
    const expected = fast.expected(times[i]!);
    const got = d.explain(times[i]!, values[i]!).expected;
    assert.equal(got, Number.isNaN(expected) ? null : expected, `point ${i}`);
    d.update(times[i]!, values[i]!);
    fast.learn(times[i]!, values[i]!);
    slow?.learn(times[i]!, values[i]!);
  }
  const state = d.snapshot().state as { season: unknown; slowSeason: unknown };
  assert.deepEqual(
    JSON.parse(JSON.stringify(state.season)),
    JSON.parse(JSON.stringify(fast.state())),
  );
  assert.deepEqual(
    JSON.parse(JSON.stringify(state.slowSeason)),
    JSON.parse(JSON.stringify(slow!.state())),
  );
});
