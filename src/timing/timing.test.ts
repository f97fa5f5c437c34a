import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exponentialDelay } from './backoff.js';
import { sleep } from './sleep.js';

test('exponentialDelay doubles from initialMs and stops at maxMs', () => {
  const b = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((r) => exponentialDelay(b, r)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(exponentialDelay({ ...b, multiplier: 3 }, 2), 900);
  assert.equal(exponentialDelay(b, 5000), 1000); // no overflow past the cap
});

test('sleep waits, and ends at once when its signal aborts', async () => {
  const started = performance.now();
  await sleep(20);
  assert.ok(performance.now() - started >= 15);
  const stop = new AbortController();
  const long = sleep(60_000, stop.signal);
  stop.abort();
  await long;
  await sleep(60_000, stop.signal); // already aborted
});
