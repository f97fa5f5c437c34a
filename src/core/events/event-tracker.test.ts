import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Level } from '../thresholds/threshold.js';
import { EventTracker, eventId, replayEvents } from './event-tracker.js';
import {
  DEFAULT_EVENT_PARAMS,
  deprecatedEventKeys,
  eventParamsSchema,
  type EventParamsInput,
} from './params.js';
import type { AnomalyEvent, EventChange, EventExplanation } from './types.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2024, 0, 1);
const LEVEL: Record<string, Level> = { '.': 'ok', a: 'alert', s: 'severe' };

function tracker(params: EventParamsInput = {}): EventTracker {
  return new EventTracker({
    series: 'pump-7/temperature',
    strategy: 'default@1',
    params: eventParamsSchema.parse(params),
  });
}

function explanationAt(i: number, value: number): EventExplanation {
  return {
    metrics: [{ name: 'temperature', share: 1, observed: value, expected: 50, band: [45, 55] }],
    detectors: [{ name: `point-${i}`, score: 0.5 }],
  };
}

/**
 * A scenario: one character per point, a minute apart — `.` ok, `a` alert, `s` severe. Scores
 * are 0.1 for ok, 0.6 for alert, 0.9 for severe unless given. Returns every change, tagged with
 * the index of the point that caused it, and how often `explain` ran.
 */
function play(
  t: EventTracker,
  levels: string,
  scores: readonly number[] = [],
  from = 0,
): { changes: (EventChange & { index: number })[]; explained: number[] } {
  const changes: (EventChange & { index: number })[] = [];
  const explained: number[] = [];
  for (let k = 0; k < levels.length; k++) {
    const i = from + k;
    const level = LEVEL[levels[k] as string] as Level;
    const score = scores[k] ?? (level === 'ok' ? 0.1 : level === 'alert' ? 0.6 : 0.9);
    const change = t.update(T0 + i * MINUTE, score, level, () => {
      explained.push(i);
      return explanationAt(i, 100 + i);
    });
    if (change) changes.push({ ...change, index: i });
  }
  return { changes, explained };
}

const types = (changes: readonly EventChange[]): string[] => changes.map((c) => c.type);

describe('event params', () => {
  test('defaults', () => {
    assert.deepEqual(eventParamsSchema.parse({}), {
      open_level: 'alert',
      close_score: 1 / 3,
      close_after_points: 5,
      close_after_ms: 0,
      min_points: 1,
      min_duration_ms: 0,
      severe_upgrade: true,
    });
    assert.deepEqual(DEFAULT_EVENT_PARAMS, eventParamsSchema.parse({}));
  });

  test('unknown keys, camelCase and bad values are rejected', () => {
    assert.equal(eventParamsSchema.safeParse({ closeAfterPoints: 3 }).success, false);
    assert.equal(eventParamsSchema.safeParse({ open_level: 'ok' }).success, false);
    assert.equal(eventParamsSchema.safeParse({ close_after_points: 0 }).success, false);
    assert.equal(eventParamsSchema.safeParse({ cooldown_ms: -1 }).success, false);
    assert.equal(eventParamsSchema.safeParse({ min_points: 1.5 }).success, false);
    assert.equal(eventParamsSchema.safeParse({ close_score: 1.5 }).success, false);
  });

  test('cooldown_ms still loads (older strategy files) and is reported as deprecated', () => {
    const params = eventParamsSchema.parse({ cooldown_ms: 3_600_000 });
    assert.equal(params.cooldown_ms, 3_600_000);
    assert.match(deprecatedEventKeys(params).join(), /cooldown_ms is deprecated/);
    assert.deepEqual(deprecatedEventKeys(DEFAULT_EVENT_PARAMS), []);
  });
});

describe('event tracker', () => {
  test('hysteresis: a flapping score gives one event, closed after enough ok points', () => {
    const t = tracker({ close_after_points: 3 });
    const { changes } = play(t, '..a.a..a.s...a.....');
    assert.deepEqual(types(changes), ['open', 'update', 'close', 'open', 'close']);
    const [open, upgrade, close, open2] = changes;
    assert.equal(open?.index, 2);
    assert.equal(open?.event.end, null);
    assert.equal(upgrade?.index, 9);
    assert.equal(upgrade?.event.level, 'severe');
    // Closed at the third ok point after the last flagged one; the span ends where the data were
    // back to normal, the first of those ok points.
    assert.equal(close?.index, 12);
    assert.equal(close?.at, T0 + 12 * MINUTE);
    assert.equal(close?.event.start, T0 + 2 * MINUTE);
    assert.equal(close?.event.end, T0 + 10 * MINUTE);
    assert.equal(close?.event.points, 4);
    assert.equal(close?.event.id, eventId('pump-7/temperature', 'default@1', T0 + 2 * MINUTE));
    assert.equal(open2?.index, 13);
    assert.notEqual(open2?.event.id, close?.event.id);
    assert.deepEqual(t.counts, { opened: 2, merged: 0, dropped: 0 });
  });

  test('hysteresis in time: close_after_ms must pass as well', () => {
    const t = tracker({ close_after_points: 1, close_after_ms: 4 * MINUTE });
    const { changes } = play(t, 'a......');
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 0],
        ['close', 4],
      ],
    );
  });

  test('time going backwards counts as none elapsed', () => {
    const t = tracker({ close_after_points: 2 });
    assert.equal(t.update(T0 + 60 * MINUTE, 0.7, 'alert')?.type, 'open');
    assert.equal(t.update(T0, 0.1, 'ok'), null);
    assert.equal(t.update(T0 + MINUTE, 0.1, 'ok')?.type, 'close');
    const u = tracker({ close_after_points: 1, close_after_ms: MINUTE });
    u.update(T0 + 60 * MINUTE, 0.7, 'alert');
    assert.equal(u.update(T0, 0.1, 'ok'), null);
    assert.equal(u.update(T0 + 61 * MINUTE, 0.1, 'ok')?.type, 'close');
  });

  test('an ok point while nothing is open changes nothing', () => {
    const t = tracker();
    assert.equal(t.update(T0, 0.2, 'ok'), null);
    assert.equal(t.current, null);
    assert.deepEqual(t.snapshot().state.draft, null);
  });

  test('minimum points: a shorter blip is dropped, never reported, and counted', () => {
    const t = tracker({ min_points: 3, close_after_points: 2 });
    const { changes, explained } = play(t, 'aa....a.aa...');
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 9],
        ['close', 11],
      ],
    );
    // Reported once it qualifies, but it starts at its first flagged point.
    assert.equal(changes[0]?.event.start, T0 + 6 * MINUTE);
    assert.equal(changes[0]?.event.points, 3);
    assert.deepEqual(t.counts, { opened: 1, merged: 0, dropped: 1 });
    // The dropped blip's peak was still explained when it happened (the detector moves on).
    assert.deepEqual(explained, [0, 6]);
  });

  test('minimum duration is measured from the first to the latest flagged point', () => {
    const t = tracker({ min_duration_ms: 3 * MINUTE, close_after_points: 3 });
    const { changes } = play(t, 'aa.....a.a.a...');
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 11],
        ['close', 14],
      ],
    );
    assert.deepEqual(t.counts, { opened: 1, merged: 0, dropped: 1 });
  });

  test('severe upgrade: the level is the highest seen, announced as an update', () => {
    const on = play(tracker(), 'aasa.....', [0.6, 0.6, 0.6, 0.6]).changes;
    assert.deepEqual(
      on.map((c) => [c.type, c.event.level]),
      [
        ['open', 'alert'],
        ['update', 'severe'],
        ['close', 'severe'],
      ],
    );
    const off = play(tracker({ severe_upgrade: false }), 'aasa.....', [0.6, 0.6, 0.6, 0.6]);
    assert.deepEqual(
      off.changes.map((c) => [c.type, c.event.level]),
      [
        ['open', 'alert'],
        ['close', 'alert'],
      ],
    );
    // Before an event is reported its level still rises: it is reported at the level reached.
    const late = play(tracker({ min_points: 3, severe_upgrade: false }), 'asa.....').changes;
    assert.equal(late[0]?.event.level, 'severe');
  });

  test('open_level severe: alerts alone never open; once open, alerts keep it open', () => {
    const t = tracker({ open_level: 'severe', close_after_points: 2 });
    const { changes } = play(t, 'aa.a..saa.a..a.');
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 6],
        ['close', 12],
      ],
    );
    assert.equal(changes[1]?.event.end, T0 + 11 * MINUTE);
    assert.equal(changes[1]?.event.points, 4);
  });

  test('the explanation is that of the peak, computed only when the peak changes', () => {
    const t = tracker();
    const scores = [0.6, 0.7, 0.65, 0.9, 0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1];
    const { changes, explained } = play(t, 'aaasaa.....', scores);
    // Points 0, 1 and 3 raised the peak; ties and lower scores do not recompute it.
    assert.deepEqual(explained, [0, 1, 3]);
    const closed = changes.at(-1)?.event;
    assert.equal(changes.at(-1)?.type, 'close');
    assert.equal(closed?.peak.time, T0 + 3 * MINUTE);
    assert.equal(closed?.peak.score, 0.9);
    assert.deepEqual(closed?.peak.values, { temperature: 103 });
    assert.deepEqual(closed?.explanation, explanationAt(3, 103));
    // Updates are announced for peak changes only.
    assert.deepEqual(types(changes), ['open', 'update', 'update', 'close']);
  });

  test('wantsExplanation predicts exactly when update calls explain', () => {
    const t = tracker({ min_points: 2, close_after_points: 2 });
    const levels = 'a.aas..a..s.as';
    const scores = [0.6, 0.1, 0.55, 0.7, 0.8, 0.1, 0.1, 0.9, 0.1, 0.1, 0.85, 0.1, 0.5, 0.86];
    for (let i = 0; i < levels.length; i++) {
      const level = LEVEL[levels[i] as string] as Level;
      const score = scores[i] as number;
      const wanted = t.wantsExplanation(score, level);
      let called = false;
      t.update(T0 + i * MINUTE, score, level, () => {
        called = true;
        return explanationAt(i, i);
      });
      assert.equal(called, wanted, `point ${i}`);
    }
  });

  test('without explain, events carry a null explanation and no values', () => {
    const t = tracker();
    const open = t.update(T0, 0.7, 'alert');
    assert.equal(open?.event.explanation, null);
    assert.deepEqual(open?.event.peak.values, {});
  });

  test('emitted events are immutable values', () => {
    const t = tracker();
    const open = play(t, 'a').changes[0]?.event;
    assert.ok(open && Object.isFrozen(open) && Object.isFrozen(open.peak));
    assert.ok(open.explanation && Object.isFrozen(open.explanation.metrics[0]));
    play(t, 's', [], 1);
    assert.equal(open.level, 'alert');
  });

  test('flush closes the open event and drops an unreported one', () => {
    const t = tracker();
    play(t, 'aa.');
    const flushed = t.flush(T0 + 3 * MINUTE);
    assert.equal(flushed?.type, 'close');
    // Back to normal at the ok point; a fault still going on at the end ends at the last point.
    assert.equal(flushed?.event.end, T0 + 2 * MINUTE);
    const going = tracker();
    play(going, 'aa');
    assert.equal(going.flush(T0 + 9 * MINUTE)?.event.end, T0 + MINUTE);
    assert.equal(t.flush(T0 + 4 * MINUTE), null);
    const u = tracker({ min_points: 5 });
    play(u, 'aa');
    assert.equal(u.flush(T0 + 2 * MINUTE), null);
    assert.deepEqual(u.counts, { opened: 0, merged: 0, dropped: 1 });
  });

  test('snapshot round trip: a restored tracker continues exactly', () => {
    const params = { min_points: 2, close_after_points: 2, cooldown_ms: 4 * MINUTE };
    const levels = 'a.aas..a..s.as....aa.a..saa...s.....';
    // Some ok points above close_score, so the span's hysteresis is cut through as well.
    const scores = levels
      .split('')
      .map((c, i) => (c === '.' ? (i % 3 === 0 ? 0.4 : 0.1) : 0.5 + ((i * 7) % 11) / 25));
    const whole = play(tracker(params), levels, scores).changes;
    for (let cut = 0; cut <= levels.length; cut++) {
      const first = tracker(params);
      const before = play(first, levels.slice(0, cut), scores.slice(0, cut)).changes;
      const json: unknown = JSON.parse(JSON.stringify(first.snapshot()));
      const restored = EventTracker.restore(json);
      assert.deepEqual(restored.snapshot(), first.snapshot(), `snapshot at ${cut}`);
      const after = play(restored, levels.slice(cut), scores.slice(cut), cut).changes;
      assert.deepEqual([...before, ...after], whole, `cut at ${cut}`);
    }
  });

  test('restore rejects a malformed snapshot with a clear message', () => {
    const snap = JSON.parse(JSON.stringify(tracker().snapshot())) as { state: { okRun: unknown } };
    snap.state.okRun = -1;
    assert.throws(() => EventTracker.restore(snap), /invalid event tracker snapshot/);
    assert.throws(() => EventTracker.restore(null), {
      code: 'VIGIL_ERR_STORE_INVALID',
      message: /invalid event tracker snapshot/,
    });
  });

  test('replayEvents gives each event in its final form, the last one closed at the end', () => {
    const levels = Uint8Array.from([0, 1, 1, 0, 0, 0, 0, 0, 2, 1, 0]);
    const times = Float64Array.from(levels, (_, i) => T0 + i * MINUTE);
    const scores = Float64Array.from(levels, (l) => [0.1, 0.6, 0.9][l] as number);
    const events = replayEvents(
      { series: 's', strategy: 'x@2', params: DEFAULT_EVENT_PARAMS },
      times,
      scores,
      levels,
      (i) => explanationAt(i, i),
    );
    assert.deepEqual(
      events.map((e) => [e.start, e.end, e.level, e.points, e.peak.time]),
      [
        [T0 + MINUTE, T0 + 3 * MINUTE, 'alert', 2, T0 + MINUTE],
        [T0 + 8 * MINUTE, T0 + 10 * MINUTE, 'severe', 2, T0 + 8 * MINUTE],
      ],
    );
    assert.equal(events[0]?.id, 's|x@2|' + String(T0 + MINUTE));
  });
});

describe('events span the fault', () => {
  const SECOND = 1000;

  /**
   * A 1 Hz series for the tracker: the fault rows' first point is flagged, the rest are ok but
   * keep the detector's evidence high (a detector that alerts once per incident, like
   * `extreme-value`); normal rows score 0.05. Returns the final events.
   */
  function faults(
    rows: number,
    faultRows: readonly (readonly [number, number])[],
    params: EventParamsInput = {},
  ): AnomalyEvent[] {
    const t = new EventTracker({
      series: 'press-2/temperature',
      strategy: 'default@1',
      params: eventParamsSchema.parse(params),
    });
    const events = new Map<string, AnomalyEvent>();
    for (let i = 0; i < rows; i++) {
      const fault = faultRows.find(([from, to]) => i >= from && i < to);
      const onset = fault !== undefined && fault[0] === i;
      const change = onset
        ? t.update(T0 + i * SECOND, 0.8, 'alert', () => explanationAt(i, 90))
        : t.update(T0 + i * SECOND, 0, 'ok', undefined, fault === undefined ? 0.05 : 0.7);
      if (change) events.set(change.event.id, change.event);
    }
    const flushed = t.flush(T0 + (rows - 1) * SECOND);
    if (flushed) events.set(flushed.event.id, flushed.event);
    return [...events.values()];
  }

  test('two 10 s spikes 12 minutes apart are two events of 10 s, whatever the cool-down', () => {
    const gap = 12 * 60;
    for (const cooldown_ms of [undefined, 3_600_000]) {
      const events = faults(
        2000,
        [
          [600, 610],
          [600 + gap, 610 + gap],
        ],
        cooldown_ms === undefined ? {} : { cooldown_ms },
      );
      assert.deepEqual(
        events.map((e) => [e.start - T0, (e.end ?? 0) - e.start]),
        [
          [600 * SECOND, 10 * SECOND],
          [(600 + gap) * SECOND, 10 * SECOND],
        ],
        `cooldown_ms ${cooldown_ms}`,
      );
      assert.notEqual(events[0]?.id, events[1]?.id);
    }
  });

  test('a 10 s overheat is an event of 10 s, not 0 ms (old 60 s cool-down accepted)', () => {
    const [event, ...rest] = faults(1000, [[500, 510]], { cooldown_ms: 60_000 });
    assert.equal(rest.length, 0);
    assert.equal(event?.start, T0 + 500 * SECOND);
    assert.equal(event?.end, T0 + 510 * SECOND);
    assert.equal(event?.points, 1, 'one flagged point; the span is the abnormal data');
    assert.equal(event?.peak.time, T0 + 500 * SECOND);
    assert.equal(event?.device, 'press-2');
    assert.deepEqual(event?.metrics, ['temperature']);
  });

  test('close_score: points below the alert level but not back to normal keep the event', () => {
    const t = tracker({ close_after_points: 2, close_score: 0.3 });
    const { changes } = play(t, 'a.....', [0.7, 0.35, 0.31, 0.29, 0.1, 0.1]);
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 0],
        ['close', 4],
      ],
    );
    assert.equal(changes[1]?.event.end, T0 + 3 * MINUTE);
    assert.equal(changes[1]?.event.points, 1);
  });

  test('minimum duration counts the abnormal span, not only flagged points', () => {
    const t = tracker({ min_duration_ms: 2 * MINUTE, close_after_points: 2 });
    const { changes } = play(t, 'a.....', [0.7, 0.5, 0.5, 0.1, 0.1, 0.1]);
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 2],
        ['close', 4],
      ],
    );
    assert.equal(changes[0]?.event.start, T0);
  });

  test('span reports the open span for callers mapping points to events', () => {
    const t = tracker({ min_points: 2, close_after_points: 3 });
    assert.equal(t.span, null);
    play(t, 'a');
    assert.deepEqual(t.span, { start: T0, reported: false, id: null, normalRun: 0 });
    play(t, 'a.', [], 1);
    const id = eventId('pump-7/temperature', 'default@1', T0);
    assert.deepEqual(t.span, { start: T0, reported: true, id, normalRun: 1 });
    play(t, '..', [], 3);
    assert.equal(t.span, null);
  });

  test('the metrics involved gather every peak explanation, with a share of at least 0.1', () => {
    const t = new EventTracker({
      series: 'rig',
      device: 'rig',
      strategy: 'multivariate@1',
      params: DEFAULT_EVENT_PARAMS,
    });
    const explanation = (names: [string, number][]): EventExplanation => ({
      metrics: names.map(([name, share]) => ({ name, share, observed: 1 })),
      detectors: [{ name: 'pca', score: 0.7 }],
    });
    t.update(T0, 0.6, 'alert', () =>
      explanation([
        ['flow', 0.9],
        ['pressure', 0.05],
      ]),
    );
    const change = t.update(T0 + 1, 0.8, 'alert', () =>
      explanation([
        ['pressure', 0.6],
        ['flow', 0.3],
        ['speed', 0.1],
      ]),
    );
    assert.deepEqual(change?.event.metrics, ['flow', 'pressure', 'speed']);
    assert.equal(change?.event.device, 'rig');
  });

  test('an older snapshot (with its cool-down state) restores and continues', () => {
    const old = {
      series: 'pump-7/temperature',
      strategy: 'default@1',
      params: { ...DEFAULT_EVENT_PARAMS, cooldown_ms: 3_600_000 },
      state: {
        draft: {
          id: 'pump-7/temperature|default@1|0',
          reported: true,
          start: 0,
          last: 60_000,
          points: 2,
          peak: { time: 0, score: 0.7, values: {} },
          explanation: null,
          level: 'alert',
          merge: false,
        },
        okRun: 2,
        closed: null,
        counts: { opened: 1, merged: 1, dropped: 0 },
      },
    };
    const t = EventTracker.restore(old);
    assert.equal(t.device, 'pump-7');
    assert.deepEqual(t.counts, { opened: 1, merged: 0, dropped: 0 });
    const changes = [1, 2, 3].map((k) => t.update(60_000 + (2 + k) * MINUTE, 0.1, 'ok'));
    const close = changes.find((c) => c !== null);
    assert.equal(close?.type, 'close');
    assert.equal(close?.event.end, 60_000, 'its normal run started after its last point');
  });
});
