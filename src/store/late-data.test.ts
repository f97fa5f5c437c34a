import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesce } from './late-data.js';
import { alignedWindow } from './timescale.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY0 = Date.UTC(2026, 0, 5);
const at = (h: number, m: number) => DAY0 + h * HOUR + m * MINUTE;

describe('refresh windows', () => {
  it('align outward to whole buckets: start down, end up', () => {
    // The backfills: 08:31–08:50 and 08:31–10:00 both refresh the 08:00 hour.
    assert.deepEqual(alignedWindow({ from: at(8, 31), to: at(8, 50) }, HOUR), {
      from: at(8, 0),
      to: at(9, 0),
    });
    assert.deepEqual(alignedWindow({ from: at(8, 31), to: at(10, 0) }, HOUR), {
      from: at(8, 0),
      to: at(10, 0),
    });
    assert.deepEqual(alignedWindow({ from: at(8, 31) + 1, to: at(8, 31) + 2 }, MINUTE), {
      from: at(8, 31),
      to: at(8, 32),
    });
    assert.deepEqual(alignedWindow({ from: -Infinity, to: Infinity }, HOUR), {
      from: -Infinity,
      to: Infinity,
    });
  });

  it('never reach below the retention floor, which is rounded up', () => {
    assert.deepEqual(alignedWindow({ from: at(6, 0), to: at(10, 0) }, HOUR, at(8, 31)), {
      from: at(9, 0),
      to: at(10, 0),
    });
    assert.equal(alignedWindow({ from: at(6, 0), to: at(8, 50) }, HOUR, at(8, 31)), null);
    assert.deepEqual(alignedWindow({ from: -Infinity, to: at(10, 0) }, HOUR, at(8, 31)), {
      from: at(9, 0),
      to: at(10, 0),
    });
  });

  it('coalesce overlapping and touching ranges into one refresh each', () => {
    const ranges = [
      { from: at(10, 5), to: at(10, 6) },
      { from: at(8, 31), to: at(8, 50) },
      { from: at(9, 10), to: at(9, 20) }, // touches 08:00–09:00 once aligned
      { from: at(13, 0), to: at(13, 0) + 1 },
    ];
    assert.deepEqual(coalesce(ranges, HOUR), [
      { from: at(8, 0), to: at(11, 0) },
      { from: at(13, 0), to: at(14, 0) },
    ]);
    assert.deepEqual(coalesce(ranges, MINUTE), [
      { from: at(8, 31), to: at(8, 50) },
      { from: at(9, 10), to: at(9, 20) },
      { from: at(10, 5), to: at(10, 6) },
      { from: at(13, 0), to: at(13, 1) },
    ]);
  });
});
