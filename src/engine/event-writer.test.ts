import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredEvent } from '../store/store.js';
import { EventWriter } from './event-writer.js';
import { storesInThrowawaySchemas } from './testing/pg-schemas.js';

const store = storesInThrowawaySchemas('vigil_spans_writer');

function event(start: number, end: number | null): StoredEvent {
  return {
    id: `pump-4/temp|default@1|${start}`,
    device: 'pump-4',
    metric: 'temp',
    strategy: 'default',
    strategyVersion: 1,
    start,
    end,
    peak: { time: start, score: 0.7, values: { temp: 90 } },
    level: 'alert',
    points: 1,
    explanation: null,
  };
}

describe('event writer', () => {
  it('runs onStored only once the event can be read back, in the order added', async () => {
    const s = await store();
    try {
      const writer = new EventWriter(s);
      const seen: string[] = [];
      const reads: Promise<void>[] = [];
      for (const e of [event(1000, null), event(5000, null), event(1000, 9000)]) {
        writer.add(e, () => {
          seen.push(`${e.start}-${e.end}`);
          // What a listener (an alert) does first: the event is there, as it was named.
          reads.push(
            s.events.get(e.id).then((stored) => {
              assert.ok(stored, `${e.id} is stored when announced`);
            }),
          );
        });
      }
      assert.equal(seen.length, 0, 'nothing announced before the write');
      await writer.flush();
      assert.deepEqual(seen, ['1000-null', '5000-null', '1000-9000']);
      await Promise.all(reads);
      assert.equal((await s.events.get(event(1000, 9000).id))?.end, 9000);
    } finally {
      await s.close();
    }
  });

  it('a failed write holds its events and their announcements for the next write', async () => {
    const s = await store();
    try {
      const writer = new EventWriter(s);
      const seen: number[] = [];
      // An event the store refuses (an unknown level) makes the upsert fail as a whole.
      const bad = { ...event(1000, null), level: 'nonsense' as StoredEvent['level'] };
      writer.add(bad, () => seen.push(0));
      await assert.rejects(writer.flush());
      assert.equal(seen.length, 0);
      // A newer version of the same event replaces the refused one; both announcements follow.
      writer.add(event(1000, 2000), () => seen.push(1));
      await writer.flush();
      assert.deepEqual(seen, [0, 1]);
      assert.equal((await s.events.get(bad.id))?.end, 2000);
    } finally {
      await s.close();
    }
  });
});
