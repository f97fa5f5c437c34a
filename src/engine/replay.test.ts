import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { openPGliteStore } from '../store/pglite-store.js';
import type { Store } from '../store/store.js';
import { createEngine } from './create-engine.js';
import { spooledBatch } from './spool-record.js';
import type { ValidPoint } from './validate.js';

const T = Date.UTC(2024, 0, 1);

async function stored(store: Store, device: string): Promise<number[]> {
  const r = await store.querier.points({ device, metric: 'v', from: 0, to: T + 1e9 });
  assert.equal(r.kind, 'raw');
  return Array.from(r.values);
}

it('replay drops points validation now refuses, stores the rest and does not halt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-replay-'));
  const spoolDir = join(dir, 'spool');
  await mkdir(spoolDir);
  // What an older version spooled: encoded without the surrogate check (copy-text has none).
  const batches: ValidPoint[][] = [
    [{ timestamp: T, device_id: 'a', metrics: { v: 1 } }],
    [
      { timestamp: T + 1, device_id: 'a', metrics: { v: 2 } },
      { timestamp: T + 2, device_id: 'bad', metrics: { v: 3 }, tags: { k: 'x\ud800y' } },
      { timestamp: T + 3, device_id: 'a', metrics: { v: 4 } },
    ],
    [{ timestamp: T + 4, device_id: 'bad', metrics: { v: 5 }, tags: { ['k\udc00']: 'v' } }],
  ];
  const text = batches.map((b) => spooledBatch(b).rows.text + '\n').join('');
  assert.match(text, /\\ud800/); // the lone surrogate is in the segment, as JSON escaped it
  await writeFile(join(spoolDir, 'spool-000000000001.rows'), text);

  const db = await PGlite.create();
  const store = await openPGliteStore({ db });
  const logged: string[] = [];
  try {
    const engine = await createEngine({
      store,
      spoolDir,
      checkpointEveryMs: 0,
      log: (m) => logged.push(m),
    });
    try {
      await engine.flush();
      assert.deepEqual(await stored(store, 'a'), [1, 2, 4]);
      assert.deepEqual(await stored(store, 'bad'), []);
      assert.equal(engine.stats().stored, 3);
      const drops = logged.filter((m) => m.includes('dropping point'));
      assert.equal(drops.length, 2, logged.join('\n'));
      assert.match(
        drops[0] ?? '',
        /^log entry 000000000001:\d+: dropping point 1 on replay: tags\.k: .*lone UTF-16/,
      );
      assert.ok(
        logged.some((m) => /replaying 3 batches .*\(2 points dropped/.test(m)),
        logged.join('\n'),
      );

      // Not stuck: new points are stored and the committed count advances.
      const result = await engine.ingest(
        [{ timestamp: T + 5, device_id: 'a', metrics: { v: 6 } }],
        'test',
      );
      assert.equal(result.errors.length, 0);
      await engine.flush();
      assert.deepEqual(await stored(store, 'a'), [1, 2, 4, 6]);
      assert.equal(engine.stats().stored, 4);
    } finally {
      await engine.close();
    }
  } finally {
    await store.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
