import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HalfSpaceTrees,
  halfSpaceTreesFactory,
  halfSpaceTreesParamsSchema,
} from './half-space-trees.js';
import { gaussian, makeSyntheticSeries, ANOMALY_KINDS, type AnomalyKind } from './synthetic.js';
import { Rng } from '../stats/rng.js';

const DEFAULTS = halfSpaceTreesParamsSchema.parse({});
/** Residuals needed before the shingle is trusted, then one full reference window. */
const WARMUP = 20 + DEFAULTS.shingle + DEFAULTS.window_size;

function scores(d: HalfSpaceTrees, values: ArrayLike<number>, times?: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    out.push(d.update(times ? (times[i] as number) : i * 1000, values[i] as number));
  }
  return out;
}

function noise(seed: number, n: number, sd = 1, level = 0): Float64Array {
  const rng = Rng.fromSeed(seed);
  return Float64Array.from({ length: n }, () => level + sd * gaussian(rng));
}

describe('half-space trees', () => {
  test('score 0 until the first reference window is complete, then scores', () => {
    const s = scores(HalfSpaceTrees.create(DEFAULTS, 1), noise(1, 2000));
    assert.ok(s.slice(0, WARMUP).every((x) => x === 0));
    assert.ok(s.slice(WARMUP).some((x) => x > 0));
  });

  test('same seed, same trees and scores; another seed, other trees', () => {
    const xs = noise(2, 1500);
    const a = scores(HalfSpaceTrees.create(DEFAULTS, 9), xs);
    assert.deepEqual(scores(HalfSpaceTrees.create(DEFAULTS, 9), xs), a);
    assert.notDeepEqual(scores(HalfSpaceTrees.create(DEFAULTS, 10), xs), a);
  });

  test('snapshot within a window and after swaps restores exactly', () => {
    const xs = noise(3, 1800, 5, 100);
    const reference = scores(HalfSpaceTrees.create(DEFAULTS, 4), xs);
    for (const cut of [100, WARMUP + 17, 1000]) {
      const d = HalfSpaceTrees.create(DEFAULTS, 4);
      scores(d, xs.subarray(0, cut));
      const restored = halfSpaceTreesFactory.restore(JSON.parse(JSON.stringify(d.snapshot())));
      const rest: number[] = [];
      for (let i = cut; i < xs.length; i++) rest.push(restored.update(i * 1000, xs[i] as number));
      assert.deepEqual(rest, reference.slice(cut), `cut at ${cut}`);
    }
  });

  test('restore rejects arrays that do not fit the params', () => {
    const snap = HalfSpaceTrees.create(DEFAULTS, 1).snapshot();
    const state = { ...(snap.state as Record<string, unknown>), latest: [1, 2, 3] };
    assert.throws(() => halfSpaceTreesFactory.restore({ ...snap, state }), {
      code: 'VIGIL_ERR_STORE_INVALID',
      message: /latest has 3 entries/,
    });
    assert.throws(
      () => halfSpaceTreesFactory.restore({ ...snap, params: { ...DEFAULTS, height: 3 } }),
      /dims has/,
    );
  });

  test('scale-free: the same shape at another scale and offset scores the same', () => {
    const xs = noise(5, 1500);
    const a = scores(HalfSpaceTrees.create(DEFAULTS, 6), xs);
    const b = scores(
      HalfSpaceTrees.create(DEFAULTS, 6),
      xs.map((x) => 1e6 + 1000 * x),
    );
    // Rounding at the larger scale can move a point across a split in a tree or two.
    let total = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs((a[i] as number) - (b[i] as number));
      assert.ok(d < 0.05, `point ${i}: ${a[i]} vs ${b[i]}`);
      total += d;
    }
    assert.ok(total / a.length < 0.005);
  });

  test('quiet on 50,000 points of Gaussian noise: no score reaches 0.5', () => {
    const s = scores(HalfSpaceTrees.create(DEFAULTS, 11), noise(11, 50_000)).slice(WARMUP);
    const max = Math.max(...s);
    assert.ok(max < 0.5, `max score ${max.toFixed(3)}`);
  });

  test('spikes score by rarity and level off instead of saturating at 1', () => {
    const xs = noise(12, 6000);
    const at = [2000, 3000, 4000, 5000];
    // A lone spike fills one of the four shingle slots on its own point; the trees isolate it
    // once it sits in a second slot too (next to the rebound of the residual), one point later.
    const peak = (size: number): number => {
      const ys = Float64Array.from(xs);
      for (const i of at) ys[i] = (ys[i] as number) + size;
      const s = scores(HalfSpaceTrees.create(DEFAULTS, 12), ys);
      return Math.min(...at.map((i) => Math.max(...s.slice(i, i + 4))));
    };
    const small = peak(4);
    const big = peak(20);
    const huge = peak(1e6);
    assert.ok(small < 0.5, `4σ spike ${small}`);
    assert.ok(big >= 0.5, `20σ spike ${big}`);
    assert.ok(huge >= big && huge < 0.9, `huge spike ${huge}`);
  });

  // The rules of the shared conformance quality check, for the kinds this detector claims:
  // spikes, level shifts and variance changes; at most 1e-4 alarms per clean point.
  const CATCHES: readonly AnomalyKind[] = ['spike', 'level-shift', 'variance-change'];
  const SEEDS = [101, 202, 303];
  for (const anomaly of CATCHES) {
    test(`flags ${anomaly} on the synthetic series`, () => {
      for (const seed of SEEDS) {
        const s = makeSyntheticSeries({ seed, anomaly });
        const sc = scores(HalfSpaceTrees.create(DEFAULTS, 7), s.values, s.times);
        const peak = Math.max(...sc.slice(s.start, Math.min(sc.length, s.end + 12)));
        assert.ok(peak >= 0.5, `seed ${seed}: peak ${peak.toFixed(3)}`);
      }
    });
  }

  test('quiet on every clean twin', () => {
    let max = 0;
    for (const seed of SEEDS) {
      for (const anomaly of ANOMALY_KINDS) {
        const s = makeSyntheticSeries({ seed: seed + ANOMALY_KINDS.indexOf(anomaly), anomaly });
        const sc = scores(HalfSpaceTrees.create(DEFAULTS, 7), s.clean, s.times).slice(WARMUP);
        max = Math.max(max, ...sc);
      }
    }
    assert.ok(max < 0.5, `max clean score ${max.toFixed(3)}`);
  });
});
