/**
 * For tests that prove accepted points are stored exactly (storability.test.ts, the fuzz sample):
 * store points as the engine does (spool text, read back as after a restart, appended encoded),
 * read the rows back with SQL, and compare with what the points promised.
 */
import assert from 'node:assert/strict';
import type { Store } from '../../store/store.js';
import { readSpooledBatch, spooledBatch } from '../spool-record.js';
import type { ValidPoint } from '../validate.js';

export interface Row {
  readonly device: string;
  readonly metric: string;
  readonly time: number;
  readonly value: number;
  readonly tags: Record<string, string> | undefined;
}

export type SqlRow = Record<string, unknown>;

const key = (device: string, metric: string, time: number): string =>
  JSON.stringify([device, metric, time]);

/** Accepted points → the rows the store should hold: the first value of a (device, metric, time). */
export function expectedRows(points: readonly ValidPoint[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const p of points) {
    for (const metric of Object.keys(p.metrics)) {
      const k = key(p.device_id, metric, p.timestamp);
      if (rows.has(k)) continue;
      const tags = p.tags === undefined ? undefined : { ...p.tags };
      rows.set(k, {
        device: p.device_id,
        metric,
        time: p.timestamp,
        value: p.metrics[metric] as number,
        tags,
      });
    }
  }
  return rows;
}

/** Every stored row, in the form `assertStoredExactly` reads. */
export const READ_BACK =
  'SELECT device_id, metric, (extract(epoch FROM time) * 1000)::bigint::text AS ms, ' +
  'value, tags::text AS tags FROM points';

export function assertStoredExactly(stored: readonly SqlRow[], expected: Map<string, Row>): void {
  assert.equal(stored.length, expected.size);
  for (const r of stored) {
    const device = r['device_id'] as string;
    const metric = r['metric'] as string;
    const time = Number(r['ms']);
    const want = expected.get(key(device, metric, time));
    assert.ok(want !== undefined, `unexpected row ${key(device, metric, time)}`);
    const value = Number(r['value']);
    assert.ok(
      Object.is(value, want.value),
      `${key(device, metric, time)}: ${value} ≠ ${want.value}`,
    );
    const tags = r['tags'] === null ? undefined : (JSON.parse(r['tags'] as string) as object);
    assert.deepEqual(tags, want.tags, key(device, metric, time));
  }
}

/** As the engine does: the spooled text, read back as after a restart, appended as encoded. */
export async function storeAll(store: Store, accepted: ValidPoint[]): Promise<void> {
  const spooled = spooledBatch(accepted);
  const replayed = readSpooledBatch(spooled.rows.text);
  const appender = store.appender();
  appender.appendEncoded(replayed.rows);
  await appender.commit();
}
