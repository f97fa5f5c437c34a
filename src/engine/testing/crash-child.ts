/**
 * The crash test's victim: runs an engine on a PGlite data directory and ingests numbered
 * batches for ever, printing `ack <id>` once each batch is acknowledged. Points of batch `id`
 * are `crashBatch(id)`, so the test knows exactly what every printed ack promised.
 * Usage: node crash-child.js <dataDir> <spoolDir> <firstId> [workers] [shadow] [lazy]  (scoring
 * workers, default 0; `shadow`: shadow run 1 scores `CRASH_CANDIDATE_YAML` beside the active
 * strategy; `lazy`: every checkpointed series is restored lazily, on its next point)
 */
import { parseStrategy } from '../../core/strategy/parse.js';
import { openStore } from '../../store/open-store.js';
import { createEngine } from '../create-engine.js';
import type { IngestPoint } from '../engine.js';

/** The shadow candidate of the shadow crash test: a new version of the default strategy. */
export const CRASH_CANDIDATE_YAML = `name: default
version: 2
description: crash test candidate
detector:
  kind: ewzscore
  params:
    alpha: 0.05
threshold:
  kind: static
`;

export const CRASH_BASE = Date.UTC(2025, 0, 1);
export const CRASH_POINTS_PER_BATCH = 20;

export function crashBatch(id: number): IngestPoint[] {
  return Array.from({ length: CRASH_POINTS_PER_BATCH }, (_, j) => ({
    timestamp: CRASH_BASE + id * CRASH_POINTS_PER_BATCH + j,
    device_id: `dev${j % 4}`,
    metrics: { v: Math.sin(id + j) },
  }));
}

async function main(): Promise<void> {
  const [dataDir, spoolDir, first, workers = '0', ...options] = process.argv.slice(2);
  if (dataDir === undefined || spoolDir === undefined || first === undefined) {
    throw new Error('usage: crash-child <dataDir> <spoolDir> <firstId> [workers] [shadow] [lazy]');
  }
  const store = await openStore({ dataDir });
  const engine = await createEngine({
    store,
    spoolDir,
    checkpointEveryMs: 200,
    workers: Number(workers),
    ...(options.includes('lazy') ? { lazyRestoreAbove: 0 } : {}),
    ...(options.includes('shadow')
      ? { shadows: [{ run: 1, strategy: parseStrategy(CRASH_CANDIDATE_YAML) }] }
      : {}),
  });
  process.stdout.write('ready\n');
  let next = Number(first);
  const worker = async (): Promise<void> => {
    for (;;) {
      const id = next++;
      await engine.ingest(crashBatch(id), 'test');
      process.stdout.write(`ack ${id}\n`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

if (process.argv[1]?.endsWith('crash-child.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
