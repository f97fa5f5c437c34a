import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addParts, emptyParts, evaluateFile, rawScore } from './evaluate.js';
import { makeCorpus } from './fixtures.js';
import { corpusLayout } from './layout.js';
import { entryAtThreshold, sweepObjective, twiddle } from './optimize.js';
import { pyDictOrder, pyFloatHash } from './pydict.js';
import { curveScore, sweepCorpus } from './sweep.js';

/** `g` on [0, 1], -Infinity outside, like NAB's objective. */
const clip =
  (g: (x: number) => number) =>
  (x: number): number =>
    0 <= x && x <= 1 ? g(x) : -Infinity;

describe('CPython 2 dict order', () => {
  // Expected values below were produced by CPython 2.7.18 (64-bit).
  it('hashes floats as CPython 2.7', () => {
    const cases: [number, bigint][] = [
      [0.5, 1073741824n],
      [-0.5, -1073741824n],
      [0.6, 3006477004n],
      [-0.25, -1073774592n],
      [2.5, 1342242816n],
      [-1, -2n],
      [-3, -3n],
      [1e19, -8446744073709551616n],
      [-1e19, 8446744073709551616n],
      [2 ** 63, -9223372036854775808n],
      [2 ** 64 + 2 ** 40, 1099511627777n],
      [1e300, 8474648701417850880n],
      [5e-324, 1038581760n],
      [Number.POSITIVE_INFINITY, 314159n],
      [Number.NEGATIVE_INFINITY, -271828n],
    ];
    for (const [v, h] of cases) assert.equal(pyFloatHash(v), h, `hash(${v})`);
  });

  it('iterates keys in CPython 2.7 slot order, across a resize', () => {
    const keys = [0.5, 0.6, 0.4, 0.55, 0.45, 0.525, 0.475, 1e19, -3, 0.1, 2.5, -0.25, 0.6, 0.5];
    assert.deepEqual(
      pyDictOrder(keys),
      [0.5, 1e19, 0.4, 0.55, 0.45, 0.6, 0.1, 0.525, 0.475, -0.25, -3, 2.5],
    );
  });
});

describe("NAB's step search (twiddle)", () => {
  it('climbs to the maximum of a unimodal objective', () => {
    const r = twiddle(clip((x) => -Math.abs(x - 0.3)));
    assert.equal(r.x, 0.3);
    assert.ok(r.value === 0);
    assert.equal(r.evaluations, 46);
  });

  it('evaluates each point once', () => {
    const calls: number[] = [];
    const cap = clip((x) => Math.min(x, 0.8));
    const r = twiddle((x) => {
      calls.push(x);
      return cap(x);
    });
    assert.equal(calls.length, r.evaluations);
    assert.equal(new Set(calls).size, calls.length);
  });

  // Outcomes of NAB's original optimiser (run under CPython 2.7) on the same objectives: the
  // exact floating-point path and, among ties, the dict-order pick.
  it('reproduces the original on a plateau, ties included', () => {
    const cap = clip((x) => Math.min(x, 0.8));
    assert.deepEqual(twiddle(cap), { x: 0.8031250000000002, value: 0.8, evaluations: 47 });
    // A bounded domain shrinks the steps that would leave it.
    assert.deepEqual(twiddle(cap, { domain: [0, 1] }), {
      x: 0.8000001907348634,
      value: 0.8,
      evaluations: 43,
    });
  });

  it('stays put when no step is strictly better', () => {
    assert.deepEqual(twiddle(clip(() => 0)), { x: 0.5, value: 0, evaluations: 41 });
    const steps = twiddle(clip((x) => Math.floor(x * 4) / 4));
    assert.equal(steps.x, 0.5);
    // A narrow better plateau away from the start is never seen: the search is local.
    const plateau = twiddle(clip((x) => (0.61 <= x && x <= 0.67 ? 1 : 0)));
    assert.deepEqual(plateau, { x: 0.5, value: 0, evaluations: 41 });
  });

  it('honours the initial guess, step and tolerance', () => {
    const r = twiddle(
      clip((x) => -Math.abs(x - 0.3)),
      {
        initialGuess: 0.9,
        initialDelta: 0.25,
        tolerance: 1e-3,
      },
    );
    assert.ok(Math.abs(r.x - 0.3) < 2e-3, `got ${r.x}`);
    assert.throws(() => twiddle(() => 0, { tolerance: 0 }), /tolerance/);
    assert.throws(() => twiddle(() => 0, { initialDelta: -1 }), /step/);
  });
});

describe('the objective at one threshold', () => {
  const ROWS = 200;
  // Windows on rows 100..119 and 150..159, scores drawn from a small set so many tie.
  const corpus = makeCorpus([
    { rows: ROWS, windows: [[100, 119]] },
    { rows: ROWS, windows: [[150, 159]] },
  ]);
  const layout = corpusLayout(corpus);
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const scores = corpus.files.map(() => {
    const s = new Float64Array(ROWS);
    for (let i = 0; i < ROWS; i++) s[i] = Math.round(rand() * 40) / 40;
    return s;
  });
  const curve = sweepCorpus(layout, scores);

  it('matches scoring every file at that threshold, equal scores detected', () => {
    const cost = corpus.profiles.standard;
    const objective = sweepObjective(curve, cost);
    const probes = [0, 0.3, 0.5, 0.55, 0.975, 1, 0.0125, 0.7 + 1e-12];
    for (let k = 0; k <= 40; k++) probes.push(k / 40);
    for (const x of probes) {
      const parts = emptyParts();
      layout.files.forEach((fl, f) =>
        addParts(parts, evaluateFile(fl, scores[f] as Float64Array, x)),
      );
      const got = objective(x);
      assert.ok(Math.abs(got - rawScore(parts, cost)) <= 1e-9, `x=${x}: ${got}`);
      assert.equal(curve.fpRows[entryAtThreshold(curve, x)], parts.fp);
    }
  });

  it('detects nothing above every score and is -Infinity outside [0, 1]', () => {
    const cost = corpus.profiles.standard;
    assert.equal(entryAtThreshold(curve, 5), 0);
    assert.equal(entryAtThreshold(curve, -5), curve.thresholds.length - 1);
    const objective = sweepObjective(curve, cost);
    assert.equal(objective(-0.01), -Infinity);
    assert.equal(objective(1.0000000000000002), -Infinity);
    assert.equal(objective(1), curveScore(curve, entryAtThreshold(curve, 1), cost));
  });
});
