/**
 * A strategy change on a cluster node applies cluster-wide (docs/cluster.md, "Strategy
 * changes"): with 1 ingest + 2 scorer processes over the real nats-server and PostgreSQL, a new
 * version PUT on the ingest node is stored, announced, health-checked and swapped in on every
 * partition of both scorers, and the events after the change carry the new version; a file
 * changed in the strategies directory every node watches goes the same way.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { partitionOf } from '../engine/log/jetstream-log-codec.js';
import { sleep } from '../timing/sleep.js';
import {
  caughtUp,
  dropDatabase,
  freshDatabase,
  pgQuery,
  postBatch,
  removeStreams,
} from './testing/harness.js';
import { NodeProcess } from './testing/node-process.js';
import { recordedBatches } from './testing/recorded-input.js';
import type { PartitionStatus } from './scorer.js';

const NATS = 'nats://127.0.0.1:4222';
const PARTITIONS = 8;
const TAG = `sc${process.pid}`;
const STREAM = `VIGIL_${TAG}`;
const DB = `vigil_cluster_${TAG}`;
let dir = '';

const fleet = (version: number, threshold: number): string =>
  [
    'name: fleet',
    `version: ${version}`,
    'description: Rolling z-score of the recorded fleet.',
    'detector:',
    '  kind: rolling-zscore',
    `  params: { window: 30, threshold: ${threshold} }`,
    'threshold:',
    '  kind: static',
    'trigger_rules:',
    '  - device: dev-*',
  ].join('\n') + '\n';

after(async () => {
  await dropDatabase(DB).catch(() => undefined);
  await removeStreams(NATS, [STREAM, `KV_${STREAM}_LEASES`, `KV_${STREAM}_STRATEGIES`]).catch(
    () => undefined,
  );
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function put(url: string, yaml: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/v1/strategies/fleet`, {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml' },
    body: yaml,
  });
  return { status: res.status, body: await res.json() };
}

/** Until every partition of every scorer scores with `label` active. */
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

test('a strategy version PUT on an ingest node is scored by every partition of every scorer', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-cluster-strategy-'));
  const strategies = path.join(dir, 'strategies');
  await mkdir(strategies);
  await writeFile(path.join(strategies, 'fleet.yaml'), fleet(1, 3));
  const configFile = path.join(dir, 'vigil.yaml');
  await writeFile(
    configFile,
    [
      'shutdown_timeout_s: 30',
      'engine:',
      '  checkpoint_every_ms: 500',
      'cluster:',
      `  stream: ${STREAM}`,
      `  partitions: ${PARTITIONS}`,
      '  lease_ttl_ms: 3000',
      `  events_subject: vigil.${TAG}`,
    ].join('\n') + '\n',
  );
  const url = await freshDatabase(DB);
  const batches = recordedBatches(40, 90);
  const half = Math.floor(batches.length / 2);
  const nodes: NodeProcess[] = [];
  const start = async (role: 'ingest' | 'scorer'): Promise<NodeProcess> => {
    const node = await NodeProcess.start({
      role,
      nats: NATS,
      databaseUrl: url,
      dataDir: path.join(dir, String(nodes.length)),
      configFile,
      strategies,
    });
    nodes.push(node);
    return node;
  };
  try {
    const scorers = [await start('scorer'), await start('scorer')];
    const ingest = await start('ingest');
    for (const batch of batches.slice(0, half)) await postBatch(ingest.url, batch);
    await caughtUp(scorers, PARTITIONS);
    await swapped(scorers, 'fleet@1');

    // Version 2 on the ingest node: validated, stored, announced.
    const changed = await put(ingest.url, fleet(2, 3.5));
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual(
      { ...(changed.body as object), check: undefined },
      { name: 'fleet', version: 2, status: 'announced', moved: 0, check: undefined },
    );
    // The same version again is unchanged; an older one or other YAML is refused.
    assert.equal(
      ((await put(ingest.url, fleet(2, 3.5))).body as { status: string }).status,
      'unchanged',
    );
    const older = await put(ingest.url, fleet(1, 3));
    assert.equal(older.status, 409, JSON.stringify(older.body));
    assert.equal((await put(ingest.url, fleet(2, 4))).status, 409);
    const invalid = await put(ingest.url, 'name: fleet\nversion: 3\ndetector: {kind: nope}\n');
    assert.equal(invalid.status, 422, JSON.stringify(invalid.body));

    await swapped(scorers, 'fleet@2');
    const active = await ingest.get<{ strategies: { name: string; version: number }[] }>(
      '/v1/strategies/active',
    );
    assert.deepEqual(active.strategies, [{ name: 'fleet', version: 2 }]);
    const changedAt = (batches[half - 1]?.[0]?.timestamp as number) + 1;

    for (const batch of batches.slice(half)) await postBatch(ingest.url, batch);
    await caughtUp(scorers, PARTITIONS);
    const leased = await Promise.all(
      scorers.map((s) => s.get<{ leased: number[] }>('/v1/cluster')),
    );

    const events = await pgQuery<{ device_id: string; strategy_version: number; t: string }>(
      url,
      `SELECT device_id, strategy_version, (extract(epoch FROM start_time) * 1000)::bigint AS t
         FROM events WHERE strategy = 'fleet'`,
    );
    const before = events.filter((e) => Number(e.t) < changedAt);
    const afterChange = events.filter((e) => Number(e.t) >= changedAt);
    assert.ok(before.length > 0, 'no event before the change');
    assert.ok(
      // (An event open at the swap may be finished by the warmed-up version 2 pipeline.)
      before.some((e) => e.strategy_version === 1),
      'no version 1 event before the change',
    );
    assert.ok(afterChange.length > 0, 'no event after the change');
    assert.deepEqual(
      afterChange.filter((e) => e.strategy_version !== 2),
      [],
      'events after the change carry version 2',
    );
    // Both scorers scored some of them.
    for (const [i, view] of leased.entries()) {
      const own = afterChange.filter((e) =>
        view.leased.includes(partitionOf(e.device_id, PARTITIONS)),
      );
      assert.ok(own.length > 0, `scorer ${i} (partitions ${view.leased.join(',')}): no event`);
    }

    // A rollback on a scorer node goes the same way.
    const back = await fetch(`${(scorers[1] as NodeProcess).url}/v1/strategies/fleet/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1 }),
    });
    assert.equal(back.status, 200, await back.text());
    await swapped(scorers, 'fleet@1');

    // A file changed in the mounted directory every node watches is announced once and scored
    // everywhere; the nodes that lose the race to announce it find it announced, not refused.
    const failures = async () =>
      Promise.all(
        nodes.map(async (n) =>
          (await (await fetch(`${n.url}/metrics`)).text())
            .split('\n')
            .filter((l) => l.startsWith('vigil_strategy_reload_failures_total'))
            .join('\n'),
        ),
      );
    const failuresBefore = await failures();
    await writeFile(path.join(strategies, 'fleet.yaml'), fleet(3, 3));
    await swapped(scorers, 'fleet@3');
    assert.deepEqual(await failures(), failuresBefore);

    const codes = await Promise.all(nodes.map((n) => n.stop()));
    assert.deepEqual(
      codes,
      nodes.map(() => 0),
      nodes.map((n) => n.log().slice(-2000)).join('\n---\n'),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
  }
});
