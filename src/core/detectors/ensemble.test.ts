import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDetector, getDetectorFactory } from './registry.js';
import { memberSeed } from './ensemble.js';

const schema = getDetectorFactory('ensemble').paramsSchema;

test('defaults: seasonal ESD and the online z-score, combined by max', () => {
  assert.deepEqual(schema.parse({}), {
    combine: 'max',
    members: [
      {
        kind: 'seasonal-esd',
        weight: 1,
        params: getDetectorFactory('seasonal-esd').paramsSchema.parse({}),
      },
      {
        kind: 'ewzscore',
        weight: 1,
        params: getDetectorFactory('ewzscore').paramsSchema.parse({}),
      },
    ],
  });
});

test('member errors are reported at their full path', () => {
  const r = schema.safeParse({
    members: [{ kind: 'ewzscore' }, { kind: 'rolling-zscore', params: { window: 1 } }],
  });
  assert.equal(r.success, false);
  assert.deepEqual(
    r.error?.issues.map((i) => i.path),
    [['members', 1, 'params', 'window']],
  );
  const unknown = schema.safeParse({ members: [{ kind: 'nope' }] });
  assert.deepEqual(
    unknown.error?.issues.map((i) => i.path),
    [['members', 0, 'kind']],
  );
  assert.equal(schema.safeParse({ members: [] }).success, false);
  assert.equal(schema.safeParse({ combine: 'median' }).success, false);
});

test('combine rules: max, mean and weighted mean of the members', () => {
  const members = [
    { kind: 'ewzscore', weight: 3, params: { warmup: 5 } },
    { kind: 'rolling-zscore', weight: 1, params: { window: 5 } },
  ];
  const runAll = (combine: string): number[] => {
    const e = createDetector('ensemble', { combine, members }, 9);
    const a = createDetector('ewzscore', { warmup: 5 }, 0);
    const b = createDetector('rolling-zscore', { window: 5 }, 0);
    const out: number[] = [];
    for (let i = 0; i < 40; i++) {
      const x = ((i * 7) % 11) + (i === 30 ? 50 : 0);
      const [s, sa, sb] = [e.update(i, x), a.update(i, x), b.update(i, x)];
      const expected =
        combine === 'max'
          ? Math.max(sa, sb)
          : combine === 'mean'
            ? (sa + sb) / 2
            : (3 * sa + sb) / 4;
      assert.ok(Math.abs(s - expected) < 1e-15, `${combine} at ${i}`);
      out.push(s);
    }
    return out;
  };
  for (const c of ['max', 'mean', 'weighted-mean']) runAll(c);
});

test('member seeds differ by position and follow the ensemble seed', () => {
  assert.notEqual(memberSeed(1, 0), memberSeed(1, 1));
  assert.notEqual(memberSeed(1, 0), memberSeed(2, 0));
  assert.equal(memberSeed(1, 0), memberSeed(1, 0));
});
