import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Level } from '../thresholds/threshold.js';
import { EventTracker, eventId, replayEvents } from './event-tracker.js';
import { DEFAULT_EVENT_PARAMS, eventParamsSchema, type EventParamsInput } from './params.js';
import type { EventChange, EventExplanation } from './types.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2024, 0, 1);
const LEVEL: Record<string, Level> = { '.': 'ok', a: 'alert', s: 'severe' };

/** Scenarios are minutes long, so the default hour of cool-down is off unless a test sets it. */
function tracker(params: EventParamsInput = {}): EventTracker {
  return new EventTracker({
    series: 'pump-7/temperature',
    strategy: 'default@1',
    params: eventParamsSchema.parse({ cooldown_ms: 0, ...params }),
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
      close_after_points: 5,
      close_after_ms: 0,
      min_points: 1,
      min_duration_ms: 0,
      cooldown_ms: 3_600_000,
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
    // Closed at the third ok point after the last flagged one; the span ends at that point.
    assert.equal(close?.index, 12);
    assert.equal(close?.at, T0 + 12 * MINUTE);
    assert.equal(close?.event.start, T0 + 2 * MINUTE);
    assert.equal(close?.event.end, T0 + 9 * MINUTE);
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

  test('cool-down: an incident soon after a close continues the same event', () => {
    const t = tracker({ close_after_points: 2, cooldown_ms: 5 * MINUTE });
    // Closes at 4; the incident at 5 is within 5 minutes of that close and merges; it closes
    // again at 7, and the incident at 13 (6 minutes later) is a new event.
    const { changes } = play(t, 'a.s..a.......a..', [0.7, 0.1, 0.95]);
    assert.deepEqual(
      changes.map((c) => [c.type, c.index]),
      [
        ['open', 0],
        ['update', 2],
        ['close', 4],
        ['reopen', 5],
        ['close', 7],
        ['open', 13],
        ['close', 15],
      ],
    );
    const first = changes[2]?.event;
    const reopen = changes[3]?.event;
    assert.equal(reopen?.id, first?.id);
    assert.equal(reopen?.start, T0);
    assert.equal(reopen?.end, null);
    assert.equal(reopen?.points, 3);
    assert.equal(reopen?.level, 'severe');
    // The merged incident's peak (0.6) is lower: the event keeps its own, with its explanation.
    const merged = changes[4]?.event;
    assert.equal(merged?.peak.score, 0.95);
    assert.equal(merged?.peak.time, T0 + 2 * MINUTE);
    assert.deepEqual(merged?.explanation, explanationAt(2, 102));
    assert.equal(merged?.end, T0 + 5 * MINUTE);
    assert.notEqual(changes[5]?.event.id, first?.id);
    assert.deepEqual(t.counts, { opened: 2, merged: 1, dropped: 0 });
  });

  test('cool-down: a stronger merged incident brings its own peak', () => {
    const t = tracker({ close_after_points: 1, cooldown_ms: 10 * MINUTE });
    const { changes } = play(t, 'a.s.', [0.6, 0.1, 0.9]);
    assert.deepEqual(types(changes), ['open', 'close', 'reopen', 'close']);
    assert.equal(changes[2]?.event.peak.time, T0 + 2 * MINUTE);
    assert.equal(changes[2]?.event.level, 'severe');
    assert.deepEqual(changes[3]?.event.explanation, explanationAt(2, 102));
  });

  test('cool-down: a merged incident must still pass the minimum duration', () => {
    const t = tracker({ close_after_points: 1, cooldown_ms: 10 * MINUTE, min_points: 2 });
    const { changes } = play(t, 'aa.a.aa.');
    assert.deepEqual(types(changes), ['open', 'close', 'reopen', 'close']);
    assert.equal(changes[2]?.index, 6);
    assert.equal(changes[3]?.event.points, 4);
    assert.deepEqual(t.counts, { opened: 1, merged: 1, dropped: 1 });
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
    assert.equal(changes[1]?.event.end, T0 + 10 * MINUTE);
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
    assert.equal(flushed?.event.end, T0 + MINUTE);
    assert.equal(t.flush(T0 + 4 * MINUTE), null);
    const u = tracker({ min_points: 5 });
    play(u, 'aa');
    assert.equal(u.flush(T0 + 2 * MINUTE), null);
    assert.deepEqual(u.counts, { opened: 0, merged: 0, dropped: 1 });
  });

  test('snapshot round trip: a restored tracker continues exactly', () => {
    const params = { min_points: 2, close_after_points: 2, cooldown_ms: 4 * MINUTE };
    const levels = 'a.aas..a..s.as....aa.a..saa...s.....';
    const scores = levels.split('').map((c, i) => (c === '.' ? 0.1 : 0.5 + ((i * 7) % 11) / 25));
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
      { series: 's', strategy: 'x@2', params: { ...DEFAULT_EVENT_PARAMS, cooldown_ms: 0 } },
      times,
      scores,
      levels,
      (i) => explanationAt(i, i),
    );
    assert.deepEqual(
      events.map((e) => [e.start, e.end, e.level, e.points, e.peak.time]),
      [
        [T0 + MINUTE, T0 + 2 * MINUTE, 'alert', 2, T0 + MINUTE],
        [T0 + 8 * MINUTE, T0 + 9 * MINUTE, 'severe', 2, T0 + 8 * MINUTE],
      ],
    );
    assert.equal(events[0]?.id, 's|x@2|' + String(T0 + MINUTE));
  });
});

test('the last closed event is let go once its cool-down has passed, not kept for ever', () => {
  const t = tracker({ cooldown_ms: 10 * MINUTE });
  // An event over minutes 0–1, closed at minute 6 (five ok points later).
  play(t, 'aa.....');
  assert.notEqual(t.snapshot().state.closed, null, 'kept during the cool-down (merging needs it)');
  // Ok points up to minute 15: within the cool-down of the close at minute 6.
  play(t, '.........', [], 7);
  assert.notEqual(t.snapshot().state.closed, null);
  // Minute 16: the cool-down is over, and an idle series drops the event.
  play(t, '.', [], 16);
  assert.equal(t.snapshot().state.closed, null);
  // A new incident is a new event, as it would have been anyway.
  const { changes } = play(t, 'a', [], 17);
  assert.equal(changes[0]?.type, 'open');
});
