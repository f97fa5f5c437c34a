/**
 * What the cluster tests and bench share: throwaway databases on the local PostgreSQL, the
 * stream and lease bucket removed afterwards, sending a recording through ingest nodes, waiting
 * until the scorers hold every partition and have read all of it, and reading back what the
 * store holds (every column but write times).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import type { IngestPoint } from '../../engine/engine.js';
import { sleep } from '../../timing/sleep.js';
import type { PartitionStatus } from '../scorer.js';
import type { NodeProcess } from './node-process.js';

export const PG_ADMIN = 'postgresql://postgres@127.0.0.1:5432/postgres';
export const pgUrl = (database: string): string =>
  `postgresql://postgres@127.0.0.1:5432/${database}`;

export async function pgQuery<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

export async function freshDatabase(name: string): Promise<string> {
  await pgQuery(PG_ADMIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await pgQuery(PG_ADMIN, `CREATE DATABASE ${name}`);
  return pgUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await pgQuery(PG_ADMIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Remove the stream and the lease bucket (KV_<bucket>) if they exist. */
export async function removeStreams(nats: string, names: readonly string[]): Promise<void> {
  const nc = await connect({ servers: nats });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** POST one batch; retried while the node answers 503 (JetStream not reachable). */
export async function postBatch(url: string, batch: readonly IngestPoint[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${url}/v1/points`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    const body = await res.text();
    if (res.status === 200) {
      const result = JSON.parse(body) as { accepted: number };
      if (result.accepted !== batch.length) throw new Error(`accepted only: ${body}`);
      return;
    }
    if (res.status !== 503 || attempt > 600) throw new Error(`ingest: ${res.status} ${body}`);
    await sleep(100);
  }
}

interface ClusterView {
  readonly leased?: number[];
  readonly scoring?: PartitionStatus[];
}

/** Until the live scorers lease every partition between them and have read all of each. */
export async function caughtUp(
  scorers: readonly NodeProcess[],
  partitions: number,
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const views = await Promise.all(scorers.map((s) => s.get<ClusterView>('/v1/cluster')));
    const scoring = views.flatMap((v) => v.scoring ?? []);
    const leased = new Set(views.flatMap((v) => v.leased ?? []));
    const done =
      leased.size === partitions &&
      scoring.length === partitions &&
      scoring.every((s) => s.pending === 0 && s.queued === 0);
    if (done) return;
    last = JSON.stringify(views);
    if (Date.now() > deadline) {
      throw new Error(
        `scorers not caught up: ${last}\n${scorers.map((s) => s.log().slice(-3000)).join('\n---\n')}`,
      );
    }
    await sleep(200);
  }
}

export interface Stored {
  readonly points: unknown[];
  readonly events: unknown[];
}

/** Every point and event the store holds, in a fixed order, without write times. */
export async function storedContents(url: string): Promise<Stored> {
  const points = await pgQuery(
    url,
    `SELECT device_id, metric, (extract(epoch FROM time) * 1000)::bigint AS t, value, tags
       FROM points ORDER BY device_id, metric, time`,
  );
  const events = await pgQuery(
    url,
    `SELECT id, device_id, metric, strategy, strategy_version, start_time, end_time, peak_time,
            peak_score, peak_values, level, points, explanation
       FROM events ORDER BY id`,
  );
  return { points, events };
}
