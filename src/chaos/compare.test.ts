import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDevice, slotTime } from './compare.js';
import { diffEvents } from './event-diff.js';
import { ackedOnDevice, batchAt, BASE_TIME, DEVICES_PER_PROTOCOL, pointAt } from './points.js';
import type { StoredEvent } from './store-reader.js';

const value = (slot: number) => slot + 0.5;
const slots = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('all acked slots stored with their values: equal, verified through the last', () => {
  const s = slots(0, 5);
  const r = checkDevice(0, 5, s.map(slotTime), s.map(value), value);
  assert.deepEqual(r, {
    stored: 5,
    missing: 0,
    wrongValue: 0,
    extra: 0,
    duplicates: 0,
    verifiedThrough: 5,
  });
});

test('a gap, a wrong value, a duplicate and a point never acked are each counted', () => {
  const times = [0, 1, 3, 3, 4, 7].map(slotTime);
  const values = [0, 1, 3, 3, 99, 7].map(value);
  values[4] = 99;
  const r = checkDevice(0, 5, times, values, value);
  assert.equal(r.stored, 3); // 0, 1, 3
  assert.equal(r.missing, 1); // 2
  assert.equal(r.wrongValue, 1); // 4
  assert.equal(r.duplicates, 1); // 3 twice
  assert.equal(r.extra, 1); // 7 was never acked
  assert.equal(r.verifiedThrough, 2, 'the next check starts at the first gap');
});

test('checked from a verified slot: earlier points are not read again; off-grid times are extra', () => {
  const s = slots(10, 12);
  const times = [...s.map(slotTime), BASE_TIME + 10_500];
  const r = checkDevice(10, 12, times, [...s.map(value), 1], value);
  assert.equal(r.stored, 2);
  assert.equal(r.extra, 1);
  assert.equal(r.verifiedThrough, 12);
});

test("a protocol's sequence: round-robin devices, 1 s apart, the acked prefix per device", () => {
  const batch = batchAt('run', 'influx', 0, 9);
  assert.deepEqual(
    batch.map((p) => p.device),
    ['run-influx-0', 'run-influx-1', 'run-influx-2', 'run-influx-3', 'run-influx-0'].concat([
      'run-influx-1',
      'run-influx-2',
      'run-influx-3',
      'run-influx-0',
    ]),
  );
  assert.equal(batch[4]!.time, BASE_TIME + 1000);
  assert.equal(batch[0]!.metric, 'chaos.v');
  assert.equal(pointAt('run', 'remote_write', 6).device, 'run-rw-2');
  assert.equal(DEVICES_PER_PROTOCOL, 4);
  assert.deepEqual(
    [0, 1, 2, 3].map((d) => ackedOnDevice(9, d)),
    [3, 2, 2, 2],
  );
});

const event = (id: string, points: number): StoredEvent => ({
  id,
  device: 'd',
  metric: 'level',
  start: 1,
  end: 2,
  level: 'alert',
  points,
  peak: { time: 1, score: 0.9 },
});

test('events: equal runs, and each kind of difference', () => {
  assert.equal(diffEvents([event('a', 1)], [event('a', 1)]).equal, true);
  const d = diffEvents([event('a', 1), event('b', 1)], [event('a', 2), event('c', 1)]);
  assert.equal(d.equal, false);
  assert.deepEqual(
    d.onlyInChaos.map((e) => e.id),
    ['b'],
  );
  assert.deepEqual(
    d.onlyInReference.map((e) => e.id),
    ['c'],
  );
  assert.deepEqual(
    d.differing.map((x) => [x.chaos.points, x.reference.points]),
    [[1, 2]],
  );
});
