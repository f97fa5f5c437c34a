/**
 * A worker shard starts its thread on first use: until then it answers a checkpoint's snapshot
 * and dirty marks itself, exactly as a shard holding nothing does; the first other request starts
 * the thread, which then answers everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveStrategy } from '../../strategy-files/load.js';
import { InProcessShard, WorkerShard } from './shard-client.js';

test('a worker shard never started answers snapshots and dirty marks as an empty shard; the first plan starts it', async () => {
  const fallback = await resolveStrategy('default');
  const init = { strategies: [], fallback, shadows: [] };
  const empty = new InProcessShard(init, () => undefined);
  const failures: Error[] = [];
  const worker = new WorkerShard(
    init,
    'vigil-scoring-test',
    () => undefined,
    (error) => failures.push(error),
  );
  try {
    const snapshot = { op: 'snapshot', wallTime: Date.UTC(2026, 0, 1) } as const;
    const dirty = { op: 'dirty', keys: ['pump-1\u0000flow'] } as const;
    assert.deepEqual(await worker.request(snapshot), await empty.request(snapshot));
    assert.deepEqual(await worker.request(dirty), await empty.request(dirty));

    const plan = { op: 'plan', strategies: [fallback], fallback } as const;
    assert.deepEqual(await worker.request(plan), await empty.request(plan));
    // Started now: the thread itself answers, and the same.
    assert.deepEqual(await worker.request(snapshot), await empty.request(snapshot));
    assert.deepEqual(failures, []);
  } finally {
    await worker.close();
    await empty.close();
  }
});

test('a worker shard never started closes without a thread to stop', async () => {
  const fallback = await resolveStrategy('default');
  const worker = new WorkerShard(
    { strategies: [], fallback, shadows: [] },
    'vigil-scoring-test',
    () => undefined,
    () => assert.fail('no thread, no failure'),
  );
  await worker.close();
});
