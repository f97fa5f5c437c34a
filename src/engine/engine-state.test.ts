import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseStrategy } from '../core/strategy/parse.js';
import type { PipelineSnapshot } from '../core/strategy/pipeline.js';
import { openStore } from '../store/open-store.js';
import { ACTIVE_KEY, LEGACY_ACTIVE_KEY } from './active-strategies.js';
import { LOG_CHECKPOINT_KEY } from './checkpointer.js';
import { createEngine } from './create-engine.js';
import type { Engine, IngestPoint } from './engine.js';

const BASE = Date.UTC(2025, 0, 1);
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-engine-state-'));
  dirs.push(dir);
  return dir;
}

const yamlOf = (version: number): string =>
  [
    'name: pumps',
    `version: ${version}`,
    'description: pumps, for the engine state tests',
    'trigger_rules:',
    '  - device: "pump-*"',
    'detector:',
    '  kind: ewzscore',
    '  params:',
    `    alpha: ${version / 100}`,
    'threshold:\n  kind: dynamic',
    '',
  ].join('\n');

const points = (from: number, n: number): IngestPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    timestamp: BASE + (from + i) * 1000,
    device_id: 'pump-1',
    metrics: { temp: 20 + Math.sin((from + i) / 5) },
  }));

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('engine state', () => {
  it('a checkpoint records the log position it covers; the log is trimmed behind it', async () => {
    const store = await openStore();
    const spoolDir = await tempDir();
    try {
      const registry = new Registry();
      const engine = await createEngine({ store, spoolDir, checkpointEveryMs: 0, registry });
      await engine.ingest(points(0, 50), 'test');
      await engine.flush();
      let text = await registry.metrics();
      assert.ok((sample(text, 'vigil_log_bytes') ?? 0) > 0, text);
      assert.equal(sample(text, 'vigil_engine_queued_points'), 0);
      assert.equal(sample(text, 'vigil_engine_series'), 1);
      await engine.checkpoint();
      const first = (await store.engineState.get(LOG_CHECKPOINT_KEY)) as { position: string };
      assert.equal(typeof first.position, 'string');
      text = await registry.metrics();
      assert.equal(sample(text, 'vigil_log_bytes'), 0, 'stored and checkpointed: trimmed');
      assert.ok((sample(text, 'vigil_checkpoint_age_seconds') ?? -1) >= 0);
      await engine.ingest(points(50, 50), 'test');
      await engine.close();
      const last = (await store.engineState.get(LOG_CHECKPOINT_KEY)) as { position: string };
      assert.ok(first.position < last.position, `${first.position} < ${last.position}`);
      assert.deepEqual(await readdir(spoolDir), [], 'nothing left to replay after close');
    } finally {
      await store.close();
    }
  });

  it('moves the active set of an old data dir (a fake checkpoint) to its own record, and resumes it', async () => {
    const store = await openStore();
    try {
      await store.strategies.save({ name: 'pumps', version: 3, yaml: yamlOf(3) });
      const legacy = {
        strategy: LEGACY_ACTIVE_KEY,
        version: 1,
        active: [{ name: 'pumps', version: 3 }],
        fallback: { name: 'default', version: 1 },
      };
      await store.checkpoints.put([
        { key: LEGACY_ACTIVE_KEY, snapshot: legacy as unknown as PipelineSnapshot, eventTime: 0 },
      ]);
      const logs: string[] = [];
      // Given version `given` of pumps, resuming.
      const resume = async (given: number) =>
        createEngine({
          store,
          spoolDir: await tempDir(),
          checkpointEveryMs: 0,
          strategies: [parseStrategy(yamlOf(given))],
          resumeStrategies: true,
          log: (message) => logs.push(message),
        });
      const names = (engine: Engine) =>
        engine.routing.active().strategies.map((s) => `${s.name}@${s.version}`);
      const engine = await resume(1);
      try {
        const active = engine.routing.active();
        assert.deepEqual(names(engine), ['pumps@3'], logs.join('\n'));
        const keys = (await store.checkpoints.getAll()).map((cp) => cp.key);
        assert.ok(!keys.includes(LEGACY_ACTIVE_KEY), 'the fake checkpoint is gone');
        assert.deepEqual(await store.engineState.get(ACTIVE_KEY), {
          version: 1,
          active: [{ name: 'pumps', version: 3 }],
          fallback: { name: active.fallback.name, version: active.fallback.version },
        });
      } finally {
        await engine.close();
      }
      // The next start resumes from the new record alone.
      const again = await resume(2);
      assert.deepEqual(names(again), ['pumps@3']);
      await again.close();
    } finally {
      await store.close();
    }
  });
});
