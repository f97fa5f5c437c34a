import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicThreshold, dynamicParamsSchema, type DynamicParams } from './dynamic.js';
import { restoreThreshold } from './registry.js';
import type { Level } from './threshold.js';
import { Rng } from '../stats/rng.js';

/** One score per second: the stability window (5 min) then holds 300 points. */
const STEP = 1000;
const T0 = 1_700_000_000_000;

function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Scores of a z-score-like detector: |z| / (|z| + scale), heavier the larger `scale`. */
function scoreStream(seed: number, n: number, scale = 1.5): Float64Array {
  const rng = Rng.fromSeed(seed);
  return Float64Array.from({ length: n }, () => {
    const z = Math.abs(gaussian(rng));
    return z / (z + scale);
  });
}

function make(overrides: Partial<DynamicParams> = {}): DynamicThreshold {
  return new DynamicThreshold(dynamicParamsSchema.parse(overrides));
}

/** Classify `scores` at one per `step` ms (default a second) from T0; returns the levels. */
function feed(d: DynamicThreshold, scores: ArrayLike<number>, step = STEP): Level[] {
  const levels: Level[] = [];
  for (let i = 0; i < scores.length; i++)
    levels.push(d.classify(T0 + i * step, scores[i] as number));
  return levels;
}

/** Exact quantile of the last 1000 scores up to and including `i` (linear interpolation). */
function slidingQuantile(scores: Float64Array, i: number, q: number): number {
  const w = Array.from(scores.subarray(i - 999, i + 1)).sort((a, b) => a - b);
  const pos = q * 999;
  const lo = Math.floor(pos);
  return (w[lo] as number) + ((w[lo + 1] ?? (w[lo] as number)) - (w[lo] as number)) * (pos - lo);
}

describe('dynamic threshold', () => {
  test('warm-up uses the floors, then alert and severe follow q99.5 and q99.9', () => {
    // Floors at 0.6 sit below both quantiles (0.652 and 0.687 in the population), so the
    // thresholds are the quantiles themselves, and 2.4% of warm-up points flag: not volatile.
    const scores = scoreStream(1, 40_000);
    const d = make({ alert_floor: 0.6, severe_floor: 0.6 });
    assert.equal(d.state, 'warmup');
    const alertErr: number[] = [];
    const severeErr: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      d.classify(T0 + i * STEP, scores[i] as number);
      if (i === 298) assert.equal(d.state, 'warmup');
      if (i === 299) assert.equal(d.state, 'stable');
      if (i >= 3000 && i % 101 === 0) {
        assert.equal(d.state, 'stable');
        alertErr.push(Math.abs(d.alertThreshold - slidingQuantile(scores, i, 0.995)));
        severeErr.push(Math.abs(d.severeThreshold - slidingQuantile(scores, i, 0.999)));
      }
    }
    // Tolerance: the decayed histogram and the exact window see different samples of the same
    // tail (q99.9 of 1000 scores is about the 2nd largest), so agreement is statistical: within
    // 2 fine bins (0.021) for q99.5 and 3 (0.031) for q99.9 at 95% of the checkpoints, never
    // more than 0.05 apart.
    const p95 = (xs: number[]): number =>
      [...xs].sort((a, b) => a - b)[Math.floor(0.95 * xs.length)] ?? 1;
    assert.ok(p95(alertErr) <= 0.021, `alert p95 error ${p95(alertErr)}`);
    assert.ok(p95(severeErr) <= 0.031, `severe p95 error ${p95(severeErr)}`);
    assert.ok(Math.max(...alertErr, ...severeErr) <= 0.05);
  });

  test('the flagged share matches the quantiles: about 0.5% alerts, 0.1% severe', () => {
    const scores = scoreStream(2, 100_000);
    const d = make({ alert_floor: 0.6, severe_floor: 0.6 });
    const levels = feed(d, scores).slice(5000);
    const share = (l: Level): number => levels.filter((x) => x === l).length / levels.length;
    const flagged = share('alert') + share('severe');
    assert.ok(flagged > 0.003 && flagged < 0.008, `flagged share ${flagged}`);
    assert.ok(share('severe') > 0.0003 && share('severe') < 0.003, `severe ${share('severe')}`);
  });

  test('floors hold when the detector is quiet', () => {
    const scores = scoreStream(3, 5000, 6); // |z| / (|z| + 6): rarely above 0.4
    const d = make();
    const levels = feed(d, scores);
    assert.equal(d.state, 'stable');
    assert.equal(d.alertThreshold, 0.5);
    assert.equal(d.severeThreshold, 0.8);
    assert.ok(levels.every((l) => l === 'ok'));
  });

  test('a volatile burst freezes the thresholds; calm again, they recalibrate', () => {
    const d = make();
    const before = scoreStream(4, 3000, 3);
    feed(d, before);
    assert.equal(d.state, 'stable');
    // Two minutes of anomalous scores.
    const burst = Float64Array.from({ length: 120 }, (_, i) => 0.85 + 0.1 * Math.sin(i));
    let frozenAt = -1;
    let thresholds: [number, number] = [0, 0];
    for (let i = 0; i < burst.length; i++) {
      d.classify(T0 + (3000 + i) * STEP, burst[i] as number);
      if (d.isFrozen && frozenAt < 0) {
        frozenAt = i;
        thresholds = [d.alertThreshold, d.severeThreshold];
      }
      if (frozenAt >= 0) {
        assert.equal(d.state, 'frozen');
        assert.deepEqual([d.alertThreshold, d.severeThreshold], thresholds);
      }
    }
    // The burst rule: min_flags (3) flags among the last 20 points.
    assert.equal(frozenAt, 2, `froze after ${frozenAt + 1} burst points`);
    // Afterwards the scores are noisier than before: the recalibrated thresholds follow them.
    const after = scoreStream(5, 3000, 1.5);
    const states: string[] = [];
    for (let i = 0; i < after.length; i++) {
      d.classify(T0 + (3120 + i) * STEP, after[i] as number);
      if (states[states.length - 1] !== d.state) states.push(d.state);
    }
    assert.deepEqual(states, ['frozen', 'recalibrating', 'stable']);
    assert.ok(d.alertThreshold > 0.6 && d.alertThreshold < 0.7, `alert ${d.alertThreshold}`);
    // The burst (0.75–0.95) never entered: the histogram's tail is the new normal one (~0.69).
    assert.ok(d.quantile(0.999) < 0.74, `q99.9 ${d.quantile(0.999)}`);
    assert.equal(d.severeThreshold, 0.8); // the floor
  });

  test('a lasting change ends the freeze after max_freeze_ms and becomes the new normal', () => {
    const d = make();
    feed(d, scoreStream(6, 2000, 3));
    // From now on every score is high: flags never stop.
    const high = scoreStream(7, 4000, 0.3); // |z| / (|z| + 0.3): median ≈ 0.7
    const changes: [number, string][] = [];
    for (let i = 0; i < high.length; i++) {
      d.classify(T0 + (2000 + i) * STEP, high[i] as number);
      if (changes[changes.length - 1]?.[1] !== d.state) changes.push([i, d.state]);
    }
    assert.deepEqual(
      changes.map(([, state]) => state),
      ['stable', 'frozen', 'recalibrating', 'stable'],
    );
    const [, frozen, recalibrating] = changes.map(([i]) => i);
    // 30 minutes at one point a second (more than min_normal = 300 points).
    assert.equal((recalibrating ?? 0) - (frozen ?? 0), 1800);
    assert.ok(d.alertThreshold > 0.85, `alert ${d.alertThreshold}`);
  });

  // Steps: a second (30 points per bucket of the stability window), 7 s (buckets of 4 or 5
  // points, the window moving a bucket at a time) and 5 minutes (every point empties the window).
  for (const step of [STEP, 7000, 300_000]) {
    test(`snapshot + JSON round trip continues identically in every state (step ${step} ms)`, () => {
      const scores = new Float64Array([
        ...scoreStream(8, 2000, 3),
        ...Float64Array.from({ length: 60 }, () => 0.9),
        ...scoreStream(9, 3000, 2),
      ]);
      const reference = make();
      const levels = feed(reference, scores, step);
      const seen = new Set<string>();
      // Cuts at every phase of the 16-point re-read cycle, mid-burst and mid-bucket.
      for (const cut of [0, 150, 1000, 1007, 2010, 2061, 2100, 2500, 2900, 3333, 3500, 4000]) {
        const d = make();
        feed(d, scores.subarray(0, cut), step);
        seen.add(d.state);
        const restored = restoreThreshold(
          JSON.parse(JSON.stringify(d.snapshot())),
        ) as DynamicThreshold;
        const rest: Level[] = [];
        for (let i = cut; i < scores.length; i++) {
          rest.push(restored.classify(T0 + i * step, scores[i] as number));
        }
        assert.deepEqual(rest, levels.slice(cut), `cut at ${cut}`);
        assert.deepEqual(restored.snapshot(), reference.snapshot(), `final state, cut at ${cut}`);
      }
      assert.deepEqual([...seen].sort(), ['frozen', 'recalibrating', 'stable', 'warmup']);
    });
  }

  test('stable thresholds are re-read every 16 points', () => {
    const scores = scoreStream(12, 6000);
    const d = make({ alert_floor: 0.6, severe_floor: 0.6 });
    let previous = [d.alertThreshold, d.severeThreshold];
    let changes = 0;
    for (let i = 0; i < scores.length; i++) {
      d.classify(T0 + i * STEP, scores[i] as number);
      const now = [d.alertThreshold, d.severeThreshold];
      if (now[0] !== previous[0] || now[1] !== previous[1]) {
        changes++;
        // Warm-up ends at point 299 (min_normal 300) with a first re-read.
        assert.equal((i - 299) % 16, 0, `thresholds changed at point ${i}`);
      }
      previous = now;
    }
    assert.equal(d.state, 'stable');
    assert.ok(changes > 100, `${changes} changes`);
  });

  test('the stability window counts flags by buckets of a tenth of it, boundaries exact', () => {
    // Buckets of 1 s; 10 points a second. Two flags in the window make the series volatile
    // (the rate rule is max(2, 2 × 0.5% × n) = 2 here), and they are too far apart in points for
    // the burst rule: whether the first flag's bucket has left the window decides.
    const params = {
      stability_window_ms: 10_000,
      min_flags: 2,
      burst_points: 2,
      volatile_factor: 2,
    };
    for (const [before, frozen] of [
      [0.5, true], // second flag in bucket b + 9: both in the window
      [0.001, true], // just below the boundary (inside the margin that rechecks the bucket)
      [0, false], // exactly on it: bucket b + 10, the first flag's bucket has slid out
    ] as const) {
      const d = make(params);
      let t = T0;
      for (let i = 0; i < 1000; i++, t += 100) d.classify(t, 0.1);
      assert.equal(d.state, 'stable');
      const first = t; // a whole second: the first point of bucket b
      d.classify(first, 0.95);
      for (t = first + 100; t < first + 10_000; t += 100) d.classify(t, 0.1);
      assert.equal(d.isFrozen, false);
      d.classify(first + 10_000 - before, 0.95);
      assert.equal(d.isFrozen, frozen, `second flag ${before} ms before the boundary`);
    }
  });

  test('deterministic; non-finite scores are ok and change nothing', () => {
    const scores = scoreStream(10, 3000, 2);
    const a = feed(make(), scores);
    assert.deepEqual(feed(make(), scores), a);
    const d = make();
    feed(d, scores.subarray(0, 1500));
    const before = JSON.stringify(d.snapshot());
    for (const bad of [NaN, Infinity, -Infinity]) assert.equal(d.classify(T0, bad), 'ok');
    assert.equal(JSON.stringify(d.snapshot()), before);
  });

  test('time going backwards or jumping ahead keeps working', () => {
    const d = make();
    const scores = scoreStream(11, 3000, 2);
    let t = T0;
    for (let i = 0; i < scores.length; i++) {
      t += i % 100 === 0 ? -60_000 : i % 777 === 0 ? 86_400_000 : STEP;
      const level = d.classify(t, scores[i] as number);
      assert.ok(level === 'ok' || level === 'alert' || level === 'severe');
    }
    assert.equal(d.state, 'stable');
  });

  test('restore rejects a malformed state', () => {
    const snap = make().snapshot();
    const state = { ...(snap.state as Record<string, unknown>), histogram: [1, 2] };
    assert.throws(() => restoreThreshold({ ...snap, state }), {
      code: 'VIGIL_ERR_STORE_INVALID',
      message: /histogram/,
    });
  });
});
