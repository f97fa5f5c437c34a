import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Detector } from './detector.js';
import { canExplain, type Explanation, type ExplainingDetector } from './explanation.js';
import { createDetector } from './registry.js';
import { ANOMALY_KINDS, makeSyntheticSeries } from './synthetic.js';

/**
 * `explain` on the univariate detectors: it leaves the state untouched, agrees with `score` for
 * the same point, and its expected value and band mean what they say.
 */

type Explaining = Detector & ExplainingDetector;

function explaining(kind: string, params: unknown, seed = 1): Explaining {
  const d = createDetector(kind, params, seed);
  assert.ok(canExplain(d), `${kind} explains`);
  return d;
}

const strongest = (e: Explanation): number => e.evidence[0]?.score ?? 0;

/** Every anomaly kind back to back in one stream, so each kind of evidence gets exercised. */
function stream(): { times: number[]; values: number[] } {
  const times: number[] = [];
  const values: number[] = [];
  for (const [k, anomaly] of ANOMALY_KINDS.entries()) {
    const s = makeSyntheticSeries({ seed: 11 + k, anomaly, length: 288 * 4, start: 288 * 3 });
    const offset = k * 288 * 4 * 300_000;
    s.times.forEach((t, i) => {
      times.push(t + offset);
      values.push(s.values[i] as number);
    });
  }
  return { times, values };
}

const STREAM = stream();

/**
 * `uncooled`: the same detector without its cool-down. The cool-down only gates the output, it
 * never changes what is learnt, so that twin's score is the pre-cool-down evidence.
 */
const CASES: readonly { kind: string; params: unknown; uncooled?: unknown }[] = [
  { kind: 'extreme-value', params: {}, uncooled: { cooldown_points: 0 } },
  { kind: 'extreme-value', params: { season_ms: 0, cooldown_points: 0 } },
  { kind: 'ewzscore', params: {} },
  { kind: 'half-space-trees', params: {} },
  { kind: 'ensemble', params: { members: [{ kind: 'extreme-value' }, { kind: 'ewzscore' }] } },
];

describe('explain', () => {
  for (const { kind, params, uncooled } of CASES) {
    test(`${kind} ${JSON.stringify(params)}: read-only and consistent with score`, () => {
      const explained = explaining(kind, params);
      const twin = createDetector(kind, params, 1);
      const evidence = createDetector(kind, uncooled ?? params, 1);
      const { times, values } = STREAM;
      let flagged = 0;
      for (let i = 0; i < values.length; i++) {
        const t = times[i] as number;
        const x = values[i] as number;
        const before = i % 97 === 0 ? JSON.stringify(explained.snapshot()) : '';
        const e = explained.explain(t, x);
        if (before) assert.equal(JSON.stringify(explained.snapshot()), before, `state at ${i}`);
        const s = explained.update(t, x);
        assert.equal(s, twin.update(t, x), `${kind}: score at ${i} changed by explain`);
        const pre = evidence.update(t, x);
        assert.equal(strongest(e), pre, `${kind}: strongest evidence at ${i}`);
        // The cool-down only ever zeroes a score.
        assert.ok(s === pre || s === 0, `${kind}: score at ${i}`);
        if (s >= 0.5) flagged++;
        for (let j = 1; j < e.evidence.length; j++) {
          assert.ok((e.evidence[j - 1]?.score ?? 0) >= (e.evidence[j]?.score ?? 0), 'sorted');
        }
        if (e.band) assert.ok(e.band[0] <= e.band[1], `band at ${i}`);
      }
      assert.ok(flagged > 0, `${kind}: the stream has anomalies to explain`);
    });
  }

  test('non-finite values explain nothing', () => {
    for (const { kind, params } of CASES) {
      const d = explaining(kind, params);
      for (let i = 0; i < 400; i++) d.update(i * 300_000, Math.sin(i / 10));
      for (const x of [Number.NaN, Number.POSITIVE_INFINITY]) {
        assert.deepEqual(d.explain(400 * 300_000, x), { expected: null, band: null, evidence: [] });
      }
    }
  });

  test('warm-up: no evidence yet (the ensemble lists its members at 0)', () => {
    for (const { kind, params } of CASES) {
      const d = explaining(kind, params);
      d.update(0, 1);
      const e = d.explain(300_000, 1000);
      if (kind === 'ensemble')
        assert.deepEqual(
          e.evidence.map((p) => p.score),
          [0, 0],
        );
      else assert.deepEqual(e.evidence, [], kind);
    }
  });

  test('extreme-value: expected is the seasonal slot mean, the band is where 0.5 is reached', () => {
    const s = makeSyntheticSeries({ seed: 3, anomaly: 'spike', length: 288 * 6, start: 288 * 5 });
    const d = explaining('extreme-value', { cooldown_points: 0 });
    for (let i = 0; i < 288 * 5; i++) d.update(s.times[i] as number, s.values[i] as number);
    const valueBased = new Set(['seasonal-residual', 'upper-tail', 'lower-tail', 'record']);
    let checked = 0;
    for (let i = 288 * 5; i < 288 * 5 + 288; i += 7) {
      const t = s.times[i] as number;
      const e = d.explain(t, s.clean[i] as number);
      assert.ok(e.expected !== null && e.band !== null, `explained at ${i}`);
      // The usual value at this time of day: the clean season within the noise (σ = 1).
      assert.ok(Math.abs(e.expected - (s.clean[i] as number)) < 4, `expected at ${i}`);
      const [lower, upper] = e.band;
      assert.ok(lower < e.expected && e.expected < upper, `band around expected at ${i}`);
      const width = upper - lower;
      const strongestValueBased = (x: number): number =>
        Math.max(
          0,
          ...d
            .explain(t, x)
            .evidence.filter((p) => valueBased.has(p.name))
            .map((p) => p.score),
        );
      for (const edge of [lower, upper]) {
        const outward = edge === upper ? 1 : -1;
        assert.ok(strongestValueBased(edge + outward * 1e-6 * width) >= 0.5 - 1e-6, `outside ${i}`);
        assert.ok(strongestValueBased(edge - outward * 1e-6 * width) < 0.5 + 1e-6, `inside ${i}`);
      }
      checked++;
    }
    assert.ok(checked > 30);
    // The spike itself: far above the band, and the evidence names why.
    const spike = d.explain(s.times[288 * 5] as number, 200);
    assert.ok(spike.band && 200 > spike.band[1]);
    const names = spike.evidence.filter((p) => p.score >= 0.5).map((p) => p.name);
    // A jump to 200 is also a shingle unlike any remembered one.
    assert.deepEqual(names.sort(), ['record', 'seasonal-residual', 'shape', 'upper-tail']);
  });

  test('extreme-value: a stuck sensor is named', () => {
    const d = explaining('extreme-value', { cooldown_points: 0, season_ms: 0 });
    let i = 0;
    for (; i < 2000; i++) d.update(i * 60_000, Math.round(10 * Math.sin(i / 7) + ((i * 13) % 5)));
    // A run learns itself into the run-length tail, so it stands out most after a dozen repeats.
    for (let k = 0; k < 12; k++, i++) d.update(i * 60_000, 3);
    const e = d.explain(i * 60_000, 3);
    assert.equal(e.evidence[0]?.name, 'stuck');
    assert.ok((e.evidence[0]?.score ?? 0) > 0.5);
  });

  test('ewzscore: expected is the mean and the band edges score exactly 0.5', () => {
    const d = explaining('ewzscore', { threshold: 3 });
    for (let i = 0; i < 500; i++) d.update(i, 20 + ((i * 7919) % 13) - 6);
    const e = d.explain(500, 20);
    assert.ok(e.expected !== null && e.band !== null);
    assert.ok(Math.abs(e.expected - 20) < 1);
    for (const edge of e.band) assert.ok(Math.abs(d.score(500, edge) - 0.5) < 1e-12);
    assert.deepEqual(
      d.explain(500, 100).evidence.map((p) => p.name),
      ['zscore'],
    );
  });

  test('ensemble: members by kind, expected and band from the strongest explaining member', () => {
    const params = {
      members: [
        { kind: 'ewzscore', params: { alpha: 0.05 } },
        { kind: 'ewzscore', params: { alpha: 0.001 } },
        { kind: 'rolling-zscore' },
      ],
    };
    const d = explaining('ensemble', params);
    const slow = explaining('ewzscore', { alpha: 0.001 });
    const fast = explaining('ewzscore', { alpha: 0.05 });
    for (let i = 0; i < 300; i++) {
      const x = i < 200 ? Math.sin(i) : 30 + Math.sin(i);
      for (const m of [d, slow, fast]) m.update(i, x);
    }
    const e = d.explain(300, 31);
    assert.deepEqual(e.evidence.map((p) => p.name).sort(), [
      'ewzscore#0',
      'ewzscore#1',
      'rolling-zscore',
    ]);
    // The slow member still expects the old level and is the most surprised.
    assert.equal(e.evidence[0]?.name, 'ewzscore#1');
    assert.deepEqual(
      [e.expected, e.band],
      [slow.explain(300, 31).expected, slow.explain(300, 31).band],
    );
    assert.notDeepEqual(e.band, fast.explain(300, 31).band);
  });

  test('half-space-trees: evidence only', () => {
    const d = explaining('half-space-trees', {});
    for (let i = 0; i < 1000; i++) d.update(i, Math.sin(i / 5));
    const e = d.explain(1000, 50);
    assert.equal(e.expected, null);
    assert.equal(e.band, null);
    assert.deepEqual(
      e.evidence.map((p) => [p.name, p.score]),
      [['rarity', d.score(1000, 50)]],
    );
  });
});

describe('band: the band-only path', () => {
  for (const kind of ['extreme-value', 'ewzscore']) {
    test(`${kind}: band(t, x) equals explain(t, x).band at every point, and changes nothing`, () => {
      const d = explaining(kind, {});
      const twin = explaining(kind, {});
      assert.ok(d.band, `${kind} has a band-only path`);
      let bands = 0;
      for (let i = 0; i < STREAM.times.length; i++) {
        const t = STREAM.times[i]!;
        const x = STREAM.values[i]!;
        const band = d.band(t, x);
        assert.deepEqual(band, d.explain(t, x).band, `point ${i}`);
        if (band !== null) bands++;
        assert.equal(d.score(t, x), twin.score(t, x), `point ${i}: the score is untouched`);
        d.learn(t, x);
        twin.learn(t, x);
      }
      assert.ok(bands > STREAM.times.length / 2, `${bands} bands`);
      assert.equal(d.band(STREAM.times[0]!, Number.NaN), null, 'a missing value has none');
    });
  }
});
