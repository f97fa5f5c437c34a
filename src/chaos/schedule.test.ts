import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chaosSchedule, KILL_AFTER_MS, OUTAGE_MS, STARTUP_KILL_MS } from './schedule.js';

test('the same seed gives the same plan; another seed another one', () => {
  assert.deepEqual(chaosSchedule(7, 50, 5), chaosSchedule(7, 50, 5));
  assert.notDeepEqual(chaosSchedule(7, 50, 5), chaosSchedule(8, 50, 5));
});

test('200 kills and 10 outages: every round numbered once, outages spread, delays in range', () => {
  const plan = chaosSchedule(1, 200, 10);
  assert.equal(plan.length, 210);
  assert.deepEqual(
    plan.map((r) => r.round),
    Array.from({ length: 210 }, (_, i) => i + 1),
  );
  const kills = plan.filter((r) => r.kind === 'kill');
  const outages = plan.filter((r) => r.kind === 'pg');
  assert.equal(kills.length, 200);
  assert.equal(outages.length, 10);
  assert.equal(plan[0]!.kind, 'kill');
  // Spread: no two outages back to back, and between any two at least 10 kills.
  const at = plan.flatMap((r, i) => (r.kind === 'pg' ? [i] : []));
  for (let k = 1; k < at.length; k++) assert.ok(at[k]! - at[k - 1]! > 10, String(at));
  for (const r of kills) {
    assert.ok(r.killAfterMs >= KILL_AFTER_MS[0] && r.killAfterMs <= KILL_AFTER_MS[1]);
    if (r.startupKillMs !== null) {
      assert.ok(r.startupKillMs >= STARTUP_KILL_MS[0] && r.startupKillMs <= STARTUP_KILL_MS[1]);
    }
  }
  for (const r of outages) assert.ok(r.outageMs >= OUTAGE_MS[0] && r.outageMs <= OUTAGE_MS[1]);
  // Some restarts are killed during startup, most are not.
  const startup = kills.filter((r) => r.startupKillMs !== null).length;
  assert.ok(startup > 5 && startup < 50, String(startup));
});

test('more outages than kills: all of them still run', () => {
  const plan = chaosSchedule(3, 2, 5);
  assert.equal(plan.filter((r) => r.kind === 'pg').length, 5);
  assert.equal(plan.filter((r) => r.kind === 'kill').length, 2);
});
