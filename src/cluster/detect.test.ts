/**
 * Unary gRPC `Detect` on a cluster (docs/cluster.md, "Detect"): with 1 ingest + 2 scorer
 * processes over the real nats-server and PostgreSQL, the ingest node answers Detect from the
 * live state of the scorers that own the points' partitions, with the same scores, in the same
 * order, as one `--role all` process given the same input; a bad point gets the same error; and
 * nothing is stored.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { DataPoint } from '../ingest/grpc/generated/vigil/v1/DataPoint.js';
import type { DetectResponse__Output } from '../ingest/grpc/generated/vigil/v1/DetectResponse.js';
import { loadVigilProto } from '../ingest/grpc/proto.js';
import {
  caughtUp,
  dropDatabase,
  freshDatabase,
  pgQuery,
  postBatch,
  removeStreams,
} from './testing/harness.js';
import { NodeProcess } from './testing/node-process.js';
import { recordedBatches, T0 } from './testing/recorded-input.js';

const NATS = 'nats://127.0.0.1:4222';
const PARTITIONS = 8;
const TAG = `dt${process.pid}`;
const STREAM = `VIGIL_${TAG}`;
const DATABASES = [`vigil_cluster_${TAG}_all`, `vigil_cluster_${TAG}`];
let dir = '';

after(async () => {
  for (const db of DATABASES) await dropDatabase(db).catch(() => undefined);
  await removeStreams(NATS, [STREAM, `KV_${STREAM}_LEASES`, `KV_${STREAM}_STRATEGIES`]).catch(
    () => undefined,
  );
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const proto = loadVigilProto();

type Outcome = { scores: DetectResponse__Output['scores'] } | { code: number; details: string };

function detect(port: number, points: DataPoint[]): Promise<Outcome> {
  const client = new proto.vigil.v1.Ingest(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.Detect({ points }, (error, res) => {
      client.close();
      if (error !== null) resolve({ code: error.code, details: error.details });
      else resolve({ scores: res?.scores ?? [] });
    });
  });
}

test('Detect on a cluster ingest node scores like the single process and stores nothing', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-cluster-detect-'));
  const strategies = path.join(dir, 'strategies');
  await mkdir(strategies);
  await writeFile(
    path.join(strategies, 'fleet.yaml'),
    [
      'name: fleet',
      'version: 1',
      'description: Rolling z-score of the first devices.',
      'detector:',
      '  kind: rolling-zscore',
      '  params: { window: 30, threshold: 3 }',
      'threshold:',
      '  kind: static',
      'trigger_rules:',
      '  - device: dev-0*',
    ].join('\n') + '\n',
  );
  const config = async (name: string, cluster: boolean): Promise<string> => {
    const file = path.join(dir, `${name}.yaml`);
    const lines = ['shutdown_timeout_s: 30'];
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
  const steps = 45;
  const batches = recordedBatches(16, steps);
  // Every device (both strategies, every partition), a spike on some, in mixed order, and a
  // device never seen; then a bad point.
  const probe: DataPoint[] = [];
  for (let d = 15; d >= 0; d--) {
    probe.push({
      timestamp: T0 + steps * 60_000,
      device_id: `dev-${String(d).padStart(3, '0')}`,
      metrics: { temp: d % 3 === 0 ? 80 : 25, load: 0.55 },
    });
  }
  probe.splice(5, 0, { timestamp: T0 + steps * 60_000, device_id: 'new-1', metrics: { temp: 1 } });
  const bad: DataPoint[] = [probe[0] as DataPoint, { timestamp: T0, device_id: '', metrics: {} }];

  const single = await NodeProcess.start({
    role: 'all',
    databaseUrl: await freshDatabase(DATABASES[0] as string),
    dataDir: path.join(dir, 'all'),
    configFile: await config('all', false),
    strategies,
  });
  let expected: Outcome;
  let expectedBad: Outcome;
  try {
    for (const batch of batches) await postBatch(single.url, batch);
    expected = await detect(single.grpcPort, probe);
    expectedBad = await detect(single.grpcPort, bad);
    assert.equal(await single.stop(), 0, single.log());
  } finally {
    await single.kill();
  }
  assert.ok('scores' in expected, JSON.stringify(expected));
  assert.equal(expected.scores.length, 16 * 2 + 1);
  assert.ok(expected.scores.some((s) => s.level !== 'normal'));
  assert.ok('code' in expectedBad && expectedBad.code === grpc.status.INVALID_ARGUMENT);

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
    const scorers = [await start('scorer'), await start('scorer')];
    const ingest = await start('ingest');
    for (const batch of batches) await postBatch(ingest.url, batch);
    await caughtUp(scorers, PARTITIONS);
    const count = async () =>
      (await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM points'))[0]?.n;
    const stored = await count();

    assert.deepEqual(await detect(ingest.grpcPort, probe), expected);
    assert.deepEqual(await detect(ingest.grpcPort, bad), expectedBad);
    // Nothing stored, no state changed: the same answer again.
    assert.deepEqual(await detect(ingest.grpcPort, probe), expected);
    assert.equal(await count(), stored);

    const codes = await Promise.all(nodes.map((n) => n.stop()));
    assert.deepEqual(
      codes,
      nodes.map(() => 0),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
  }
});
