import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSettings } from '../cli/serve-settings.js';

const base = { demo: false };

test('the role is all by default, with the cluster defaults', async () => {
  const settings = await resolveSettings(base, false, {});
  assert.equal(settings.cluster.role, 'all');
  assert.equal(settings.cluster.partitions, 64);
  assert.equal(settings.cluster.stream, 'VIGIL_POINTS');
});

test('--role and --nats, or their environment variables', async () => {
  const db = 'postgresql://postgres@127.0.0.1/vigil';
  const flags = await resolveSettings(
    { ...base, role: 'scorer', nats: 'nats://a:4222', databaseUrl: db },
    false,
    {},
  );
  assert.equal(flags.cluster.role, 'scorer');
  assert.equal(flags.cluster.nats, 'nats://a:4222');
  const env = await resolveSettings(base, false, {
    VIGIL_ROLE: 'ingest',
    VIGIL_NATS_URL: 'nats://b:4222',
    DATABASE_URL: db,
  });
  assert.equal(env.cluster.role, 'ingest');
  assert.equal(env.cluster.nats, 'nats://b:4222');
});

test('a cluster role without NATS or a shared store, or an unknown role, is refused', async () => {
  await assert.rejects(
    resolveSettings({ ...base, role: 'ingest' }, false, {}),
    (err: Error) =>
      /--role ingest: needs --nats/.test(err.message) &&
      /needs a shared PostgreSQL store/.test(err.message),
  );
  await assert.rejects(
    resolveSettings({ ...base, role: 'leader' }, false, {}),
    /--role: expected one of all, ingest, scorer, found "leader"/,
  );
});
