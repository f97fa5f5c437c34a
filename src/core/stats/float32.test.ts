import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float32Down, float32Up } from './float32.js';

test('outward float32 rounding gives the nearest float32 on the chosen side', () => {
  for (const x of [0.1, -0.1, 1 / 3, -1e-40, 1e-40, 123456789.123, -987654321.5, 1e39, -1e39]) {
    const up = float32Up(x);
    const down = float32Down(x);
    assert.equal(Math.fround(up), up, `${x} up is a float32`);
    assert.equal(Math.fround(down), down, `${x} down is a float32`);
    assert.ok(down <= x && x <= up, `${x} lies in [${down}, ${up}]`);
    assert.ok(down < up, `${x} is not a float32, so it lies strictly between two`);
  }
  for (const x of [0, 1, -2.5, 0.25, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.equal(float32Up(x), x);
    assert.equal(float32Down(x), x);
  }
  assert.equal(float32Up(1e39), Number.POSITIVE_INFINITY);
  assert.equal(float32Down(1e39), 3.4028234663852886e38);
  assert.ok(Number.isNaN(float32Up(Number.NaN)));
});
