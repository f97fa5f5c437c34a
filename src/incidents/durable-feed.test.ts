/**
 * The durable feed: nothing reaches a listener (the SSE stream, the alert sinks) before the event
 * and the incident it names are committed; order is kept, scores included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IncidentGrouper } from '../alerts/incident.js';
import { feedItem } from '../alerts/event-fixtures.js';
import type { EngineFeedItem } from '../engine/engine.js';
import { openPGliteStore } from '../store/pglite-store.js';
import type { Store, StoredEvent } from '../store/store.js';
import { DurableFeed } from './durable-feed.js';

/** The real store's events, every write held until `release()`: a slow (or hung) database. */
function heldEventWrites(store: Store): { events: Store['events']; release: () => void } {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const events = Object.create(store.events) as Store['events'];
  events.upsert = async (rows: readonly StoredEvent[]) => {
    await held;
    return store.events.upsert(rows);
  };
  return { events, release };
}

describe('durable feed', () => {
  let store: Store;
  before(async () => {
    store = await openPGliteStore({});
  });
  after(async () => store.close());

  it('stores the event and its incident before any listener hears of them', async () => {
    // A slow database.
    const { events, release } = heldEventWrites(store);
    const heard: string[] = [];
    const seenStored: boolean[] = [];
    const feed = new DurableFeed({
      store: { events, incidents: store.incidents },
      grouper: new IncidentGrouper(300_000),
      onIncident: (change) => heard.push(`incident ${change.type}`),
      log: (msg) => assert.fail(msg),
    });
    feed.subscribe((item: EngineFeedItem) => {
      heard.push(item.type === 'event' ? `event ${item.change}` : 'score');
      if (item.type === 'event') {
        void store.events.get(item.event.id).then((e) => seenStored.push(e !== undefined));
      }
    });
    const t0 = Date.UTC(2026, 0, 2);
    const e = { device: 'pump-5', metric: 'pressure', start: t0 };
    const score: EngineFeedItem = {
      type: 'score',
      point: {
        device_id: 'pump-5',
        metric: 'pressure',
        timestamp: t0 + 1,
        value: 1,
        score: 0.1,
        level: 'ok',
        strategy: 'default@1',
      },
    };
    feed.push(score);
    assert.deepEqual(heard, ['score'], 'a score with nothing before it goes out at once');
    feed.push(feedItem(e, 'open', t0));
    feed.push(score);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(heard, ['score'], 'nothing after an unstored event goes out');
    assert.equal(await store.incidents.get(`pump-5|${t0}`), undefined);
    release();
    await feed.idle();
    assert.deepEqual(heard, ['score', 'incident open', 'event open', 'score']);
    const incident = await store.incidents.get(`pump-5|${t0}`);
    assert.equal(incident?.state, 'firing');
    assert.deepEqual(incident?.eventIds, [`pump-5/pressure|default@1|${t0}`]);
    const stored = await store.events.get(`pump-5/pressure|default@1|${t0}`);
    assert.equal(stored?.strategy, 'default');
    assert.equal(stored?.strategyVersion, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(seenStored, [true]);
    await feed.close();
  });
  it('a hung write holds the items at most holdMs, then they go on; the write still lands', async () => {
    const { events, release } = heldEventWrites(store);
    const logged: string[] = [];
    const heard: string[] = [];
    const feed = new DurableFeed({
      store: { events, incidents: store.incidents },
      grouper: new IncidentGrouper(300_000),
      onIncident: (change) => heard.push(change.type),
      log: (msg) => logged.push(msg),
      holdMs: 100,
    });
    const t0 = Date.UTC(2026, 0, 3);
    feed.push(feedItem({ device: 'pump-6', metric: 'flow', start: t0 }, 'open', t0));
    await feed.idle();
    assert.deepEqual(heard, ['open'], 'alerted although the store hangs');
    assert.match(logged.join('\n'), /took over 100 ms/);
    release();
    await feed.close();
    assert.equal((await store.incidents.get(`pump-6|${t0}`))?.state, 'firing');
  });
});
