/**
 * Shadow runs apply cluster-wide (docs/cluster.md, "Shadow runs"): with 1 ingest + 2 scorer
 * processes over the real nats-server and PostgreSQL, a run started on the ingest node scores on
 * every partition of both scorers, keeps scoring on a partition's new owner when partitions move
 * (a scorer SIGKILLed, another added mid-stream), and GET on any node gives the same comparison as
 * one `--role all` process given the same input and the same request. Promoting on a scorer
 * swaps the candidate in on every partition; discarding stops it everywhere; bad requests get the
 * single process's answers.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { sleep } from '../timing/sleep.js';
import {
  caughtUp,
  dropDatabase,
  freshDatabase,
  postBatch,
  removeStreams,
} from './testing/harness.js';
import { NodeProcess } from './testing/node-process.js';
import { recordedBatches } from './testing/recorded-input.js';
import type { PartitionStatus } from './scorer.js';

const NATS = 'nats://127.0.0.1:4222';
const PARTITIONS = 8;
const TAG = `sh${process.pid}`;
const STREAM = `VIGIL_${TAG}`;
const DATABASES = [`vigil_cluster_${TAG}_all`, `vigil_cluster_${TAG}`];
let dir = '';

const fleet = (version: number, threshold: number, window = 30): string =>
  [
    'name: fleet',
    `version: ${version}`,
    'description: Rolling z-score of the recorded fleet.',
    'detector:',
    '  kind: rolling-zscore',
    `  params: { window: ${window}, threshold: ${threshold} }`,
    'threshold:',
    '  kind: static',
    'trigger_rules:',
    '  - device: dev-*',
  ].join('\n') + '\n';

after(async () => {
  for (const db of DATABASES) await dropDatabase(db).catch(() => undefined);
  await removeStreams(NATS, [STREAM, `KV_${STREAM}_LEASES`, `KV_${STREAM}_STRATEGIES`]).catch(
    () => undefined,
  );
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function call(url: string, method: string, route: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${url}${route}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** What must be equal between the single process and the cluster (timings left out). */
function comparable(answer: Answer): unknown {
  const c = answer.body.comparison as Record<string, unknown>;
  const side = (s: unknown) => ({ ...(s as object), ns_per_point: undefined });
  return { ...c, active: side(c.active), candidate: side(c.candidate) };
}

/**
 * A run's answer once it no longer changes (1 s apart): events are written to the store behind
 * the scoring, so an answer right after the last point may not have all of them yet.
 */
async function settled(url: string, id: number): Promise<Answer> {
  let last = await call(url, 'GET', `/v1/shadows/${id}`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const now = await call(url, 'GET', `/v1/shadows/${id}`);
    if (JSON.stringify(comparable(now)) === JSON.stringify(comparable(last))) return now;
    last = now;
  }
  throw new Error(`shadow run ${id} still changing: ${JSON.stringify(last.body)}`);
}

/** Until every partition of every scorer shadows exactly `runs`. */
async function shadowing(scorers: readonly NodeProcess[], runs: number[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const views = await Promise.all(
      scorers.map((s) => s.get<{ scoring: PartitionStatus[] }>('/v1/cluster')),
    );
    const parts = views.flatMap((v) => v.scoring);
    if (
      parts.length === PARTITIONS &&
      parts.every((p) => JSON.stringify(p.shadows) === JSON.stringify(runs))
    ) {
      return;
    }
    if (Date.now() > deadline) throw new Error(`not shadowing ${runs}: ${JSON.stringify(views)}`);
    await sleep(100);
  }
}

/** Until every partition of every scorer has `label` active. */
async function swapped(scorers: readonly NodeProcess[], label: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const views = await Promise.all(
      scorers.map((s) => s.get<{ scoring: PartitionStatus[] }>('/v1/cluster')),
    );
    const parts = views.flatMap((v) => v.scoring);
    if (parts.length === PARTITIONS && parts.every((p) => p.strategies.includes(label))) return;
    if (Date.now() > deadline) throw new Error(`not swapped to ${label}: ${JSON.stringify(views)}`);
    await sleep(100);
  }
}

/** Requests a single process and a cluster node must answer alike (status and error code). */
const BAD_REQUESTS: readonly [string, string, unknown?][] = [
  ['POST', '/v1/shadows', { strategy: 'nope' }],
  ['POST', '/v1/shadows', { strategy: 'fleet', version: 9 }],
  ['POST', '/v1/shadows', { strategy: 'fleet', version: 1 }],
  ['POST', '/v1/shadows', { strategy: 'fleet', version: 2 }],
  ['POST', '/v1/shadows', { yaml: 'name: fleet\nversion: 5\ndetector: {kind: nope}\n' }],
  ['POST', '/v1/shadows', { yaml: fleet(2, 9) }],
  ['POST', '/v1/shadows', {}],
  ['POST', '/v1/shadows', { yaml: fleet(6, 3), version: 6 }],
  ['GET', '/v1/shadows/abc'],
  ['GET', '/v1/shadows/999'],
  ['POST', '/v1/shadows/999/discard', {}],
];

async function badAnswers(url: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [method, route, body] of BAD_REQUESTS) {
    const { status, body: answer } = await call(url, method, route, body);
    out.push({ route, body, status, code: (answer.error as { code?: string } | undefined)?.code });
  }
  return out;
}

test('a shadow run started on any node scores on every partition and compares cluster-wide', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-cluster-shadow-'));
  const strategies = path.join(dir, 'strategies');
  await mkdir(strategies);
  await writeFile(path.join(strategies, 'fleet.yaml'), fleet(1, 3));
  const config = async (name: string, cluster: boolean): Promise<string> => {
    const file = path.join(dir, `${name}.yaml`);
    const lines = ['shutdown_timeout_s: 30', 'engine:', '  checkpoint_every_ms: 500'];
    if (cluster) {
      lines.push(
        'cluster:',
        `  stream: ${STREAM}`,
        `  partitions: ${PARTITIONS}`,
        '  lease_ttl_ms: 3000',
        `  events_subject: vigil.${TAG}`,
      );
    }
    await writeFile(file, lines.join('\n') + '\n');
    return file;
  };
  const batches = recordedBatches(40, 90);
  const third = Math.floor(batches.length / 3);
  const candidate = { yaml: fleet(2, 2.5, 20) };

  // The reference: one process, the run started before any point.
  const single = await NodeProcess.start({
    role: 'all',
    databaseUrl: await freshDatabase(DATABASES[0] as string),
    dataDir: path.join(dir, 'all'),
    configFile: await config('all', false),
    strategies,
  });
  let reference: Answer;
  let singleBad: unknown[];
  let singleStarted: Record<string, unknown>;
  try {
    const started = await call(single.url, 'POST', '/v1/shadows', candidate);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    singleStarted = started.body;
    for (const batch of batches) await postBatch(single.url, batch);
    reference = await settled(single.url, started.body.id as number);
    singleBad = await badAnswers(single.url);
    assert.equal(await single.stop(), 0, single.log());
  } finally {
    await single.kill();
  }
  const ref = reference.body.comparison as {
    points: number;
    candidate: { events: number };
    active: { events: number };
  };
  assert.equal(ref.points, batches.length * 40 * 2);
  assert.ok(ref.candidate.events > 0 && ref.active.events > 0, JSON.stringify(ref));

  const url = await freshDatabase(DATABASES[1] as string);
  const clusterConfig = await config('cluster', true);
  const nodes: NodeProcess[] = [];
  const start = async (role: 'ingest' | 'scorer'): Promise<NodeProcess> => {
    const node = await NodeProcess.start({
      role,
      nats: NATS,
      databaseUrl: url,
      dataDir: path.join(dir, String(nodes.length)),
      configFile: clusterConfig,
      strategies,
    });
    nodes.push(node);
    return node;
  };
  try {
    const first = await start('scorer');
    let scorers = [first, await start('scorer')];
    const ingest = await start('ingest');
    await swapped(scorers, 'fleet@1');

    const started = await call(ingest.url, 'POST', '/v1/shadows', candidate);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id as number;
    assert.deepEqual(
      { ...started.body, started_at: undefined },
      { ...singleStarted, started_at: undefined },
    );
    await shadowing(scorers, [id]);

    // Partitions move twice on the way: a scorer is killed after a third, another joins after two.
    for (const [i, batch] of batches.entries()) {
      if (i === third) {
        // SIGKILL: its partitions resume on the other from their checkpoints once its leases
        // expire, the candidate's state and counters with them.
        await (scorers[1] as NodeProcess).kill();
        scorers = [first];
      }
      if (i === 2 * third) scorers = [first, await start('scorer')];
      await postBatch(ingest.url, batch);
    }
    await caughtUp(scorers, PARTITIONS);
    const owners = await Promise.all(
      scorers.map((s) => s.get<{ leased: number[] }>('/v1/cluster')),
    );
    for (const o of owners) assert.ok(o.leased.length > 0, JSON.stringify(owners));
    await shadowing(scorers, [id]);

    // GET on a scorer and on the ingest node: the single process's comparison.
    const deadline = Date.now() + 30_000;
    let got: Answer;
    for (;;) {
      got = await call((scorers[1] as NodeProcess).url, 'GET', `/v1/shadows/${id}`);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      const same = JSON.stringify(comparable(got)) === JSON.stringify(comparable(reference));
      if (same || Date.now() > deadline) break;
      await sleep(250);
    }
    assert.deepEqual(comparable(got), comparable(reference));
    assert.deepEqual(
      comparable(await call(ingest.url, 'GET', `/v1/shadows/${id}`)),
      comparable(reference),
    );
    const listed = await call(first.url, 'GET', '/v1/shadows');
    const runs = listed.body.runs as { id: number; counters: { points: number } }[];
    assert.deepEqual(
      runs.map((r) => [r.id, r.counters.points]),
      [[id, ref.points]],
    );

    // Bad requests: the single process's answers (the run in shadow is fleet@2 on both).
    assert.deepEqual(await badAnswers(ingest.url), singleBad);
    assert.deepEqual(await badAnswers((scorers[1] as NodeProcess).url), singleBad);

    // Promote on a scorer: fleet@2 active on every partition, the run ended everywhere.
    const promoted = await call(first.url, 'POST', `/v1/shadows/${id}/promote`, {});
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    assert.equal((promoted.body.run as { status: string }).status, 'promoted');
    assert.deepEqual(
      { ...(promoted.body.reload as object), check: undefined },
      { name: 'fleet', version: 2, status: 'announced', moved: 0, check: undefined },
    );
    await swapped(scorers, 'fleet@2');
    await shadowing(scorers, []);
    const ended = await call(ingest.url, 'GET', `/v1/shadows/${id}`);
    assert.equal((ended.body as { status: string }).status, 'promoted');
    assert.equal((ended.body.comparison as { points: number }).points, ref.points);
    const again = await call(ingest.url, 'POST', `/v1/shadows/${id}/promote`, {});
    assert.equal(again.status, 409);

    // Discard: a run started on a scorer, discarded on the ingest node, stops everywhere.
    const other = await call((scorers[1] as NodeProcess).url, 'POST', '/v1/shadows', {
      yaml: fleet(3, 4),
    });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    const otherId = other.body.id as number;
    await shadowing(scorers, [otherId]);
    const discarded = await call(ingest.url, 'POST', `/v1/shadows/${otherId}/discard`, {});
    assert.equal(discarded.status, 200, JSON.stringify(discarded.body));
    assert.equal(discarded.body.status, 'discarded');
    await shadowing(scorers, []);
    assert.equal((await call(first.url, 'POST', `/v1/shadows/${otherId}/discard`, {})).status, 409);
    await swapped(scorers, 'fleet@2');

    const codes = await Promise.all(nodes.filter((n) => n.alive).map((n) => n.stop()));
    assert.ok(
      codes.every((c) => c === 0),
      nodes.map((n) => n.log().slice(-2000)).join('\n---\n'),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
  }
});
