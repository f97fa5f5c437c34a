import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BREAKER_DEFAULTS, CircuitBreaker } from './circuit-breaker.js';

/** The breaker's clock is a parameter, so its timing is checked exactly, without waiting. */
function clocked(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  let now = 1_000_000;
  const breaker = new CircuitBreaker(options, () => now);
  return { breaker, advance: (ms: number) => (now += ms) };
}

function call(breaker: CircuitBreaker, success: boolean): boolean {
  if (!breaker.tryAcquire()) return false;
  breaker.record(success);
  return true;
}

describe('CircuitBreaker', () => {
  it('has the SEED-SPEC §9 defaults: 50 % of the last 100 calls, 60 s open', () => {
    assert.deepEqual(BREAKER_DEFAULTS, {
      windowSize: 100,
      failureRatio: 0.5,
      minCalls: 100,
      openMs: 60_000,
    });
    const { breaker, advance } = clocked();
    // 49 failures in 100 calls: stays closed; the 100-call window then slides.
    for (let i = 0; i < 51; i++) call(breaker, true);
    for (let i = 0; i < 49; i++) call(breaker, false);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(breaker.window, { calls: 100, failures: 49 });
    call(breaker, false); // drops a success, adds a failure: 50 / 100
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tryAcquire(), false, 'rejects while open');
    advance(59_999);
    assert.equal(breaker.tryAcquire(), false);
    advance(1);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true, 'one probe');
    assert.equal(breaker.tryAcquire(), false, 'only one probe at a time');
    breaker.record(true);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(breaker.window, { calls: 0, failures: 0 }, 'a fresh window after closing');
  });

  it('does not open before min_calls calls, and a failed probe opens it again', () => {
    const { breaker, advance } = clocked({ windowSize: 10, minCalls: 4, openMs: 100 });
    call(breaker, false);
    call(breaker, false);
    call(breaker, false);
    assert.equal(breaker.state, 'closed', '3 calls < min_calls');
    call(breaker, true);
    assert.equal(breaker.state, 'open', '3 of 4 failed');
    advance(100);
    assert.equal(breaker.tryAcquire(), true);
    breaker.record(false);
    assert.equal(breaker.state, 'open');
    advance(99);
    assert.equal(breaker.tryAcquire(), false, 'open for the full period again');
    advance(1);
    assert.equal(call(breaker, true), true);
    assert.equal(breaker.state, 'closed');
  });

  it('refuses bad options', () => {
    assert.throws(() => new CircuitBreaker({ windowSize: 0 }), /windowSize/);
    assert.throws(() => new CircuitBreaker({ failureRatio: 0 }), /failureRatio/);
    assert.throws(() => new CircuitBreaker({ windowSize: 5, minCalls: 6 }), /minCalls/);
  });
});
