import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOAT16_VALUES, roundFloat16, toFloat16 } from './float16.js';

test('every half survives encoding, and a double rounds to the nearest half (ties to even)', () => {
  for (let h = 0; h < 65536; h++) {
    const x = FLOAT16_VALUES[h]!;
    if (Number.isNaN(x)) assert.ok(Number.isNaN(FLOAT16_VALUES[toFloat16(x)]!), `NaN ${h}`);
    else if (Number.isFinite(x)) assert.equal(toFloat16(x), h, `half ${h} (${x})`);
  }
  assert.equal(roundFloat16(1 + 2 ** -11), 1, 'halfway between 1 and its successor: to even');
  assert.equal(roundFloat16(1 + 3 * 2 ** -11), 1 + 2 ** -9, 'halfway, odd below: up');
  assert.equal(roundFloat16(1 + 2 ** -11 + 2 ** -20), 1 + 2 ** -10, 'above halfway: up');
  assert.equal(roundFloat16(0.1), 0.0999755859375);
  assert.equal(roundFloat16(-3.14159), -3.140625);
  assert.equal(roundFloat16(2 ** -25), 0, 'half the smallest subnormal: to even, zero');
  assert.equal(roundFloat16(3 * 2 ** -26), 2 ** -24, 'above it: the smallest subnormal');
  // Finite values beyond the range clamp (distances from stored values stay finite).
  assert.equal(roundFloat16(1e6), 65504);
  assert.equal(roundFloat16(-1e6), -65504);
  assert.equal(roundFloat16(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
});

test('the rounding error is at most half a unit in the last place (11 significant bits)', () => {
  for (let i = 0; i < 10_000; i++) {
    const x = Math.sinh((i - 5000) / 600); // magnitudes from 1e-4 to 4e3, both signs
    const r = roundFloat16(x);
    assert.ok(Math.abs(r - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25), `${x} → ${r}`);
  }
});
