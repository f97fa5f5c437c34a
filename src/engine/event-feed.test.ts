/**
 * Nothing names an event before it is stored: every event change on the live feed (what SSE and
 * alerts read) can be read back from the store at the moment the listener receives it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { IngestPoint } from './engine.js';
import { createEngine } from './create-engine.js';
import { storesInThrowawaySchemas } from './testing/pg-schemas.js';

const BASE = Date.UTC(2025, 0, 1);
const openTestStore = storesInThrowawaySchemas('vigil_spans_feed');
const dirs: string[] = [];

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A 1 Hz temperature, 30 degrees hotter for ten seconds from point 400 (a spike at 700 too). */
function points(from: number, n: number): IngestPoint[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const hot = (i >= 400 && i < 410) || i === 700;
    return {
      timestamp: BASE + i * 1000,
      device_id: 'press-2',
      metrics: { temp: 60 + Math.sin(i / 7) + ((i * 13) % 5) * 0.05 + (hot ? 30 : 0) },
    };
  });
}

it('every event change on the feed is already stored when the listener gets it', async () => {
  const store = await openTestStore();
  const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-spans-feed-'));
  dirs.push(spoolDir);
  try {
    const engine = await createEngine({ store, spoolDir, checkpointEveryMs: 0 });
    const reads: Promise<[string, number | null | undefined, number | null]>[] = [];
    engine.subscribe((item) => {
      if (item.type !== 'event') return;
      // The listener's first move, as an alert's link would be followed: read the event.
      const { id, end } = item.event;
      reads.push(store.events.get(id).then((stored) => [id, stored?.end, end]));
    });
    for (let from = 0; from < 1000; from += 100) await engine.ingest(points(from, 100), 'test');
    await engine.flush();
    const seen = await Promise.all(reads);
    assert.ok(seen.length >= 2, `events on the feed: ${seen.length}`);
    for (const [id, stored, end] of seen) {
      assert.notEqual(stored, undefined, `${id} is stored when the feed names it`);
      // Stored as named, or already newer (closed since); never an older state than announced.
      if (end !== null) assert.equal(stored, end, `${id} is stored closed when announced closed`);
    }
    await engine.close();
  } finally {
    await store.close();
  }
});
