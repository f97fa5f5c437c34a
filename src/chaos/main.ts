/**
 * `npm run chaos`: kill -9 rounds and PostgreSQL outages against `vigil serve` while clients
 * stream over every protocol (docs/chaos.md). Not part of CI. Exits 1 when an acknowledged
 * point was lost, the events differ from an uninterrupted run, or the service did not survive
 * a PostgreSQL outage.
 *
 *   node dist/chaos/main.js [--rounds 200] [--pg-rounds 10] [--seed 1] [--store postgres|pglite]
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { VigilError } from '../errors.js';
import { Cleanup, runChaos, summaryText } from './run.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '200' },
    'pg-rounds': { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    store: { type: 'string', default: 'postgres' },
    'checkpoint-ms': { type: 'string', default: '1000' },
    'feed-points': { type: 'string', default: '20000' },
    mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
  },
});

const count = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new VigilError('VIGIL_ERR_USAGE', `--${name}: expected a whole number, got ${text}`);
  }
  return n;
};
const store = args.store;
if (store !== 'postgres' && store !== 'pglite') {
  throw new VigilError('VIGIL_ERR_USAGE', `--store: expected postgres or pglite, got ${store}`);
}
const rounds = count('rounds', args.rounds);
const pgRounds = store === 'postgres' ? count('pg-rounds', args['pg-rounds']) : 0;
const feedPoints = count('feed-points', args['feed-points']);

const cleanup = new Cleanup();
let stopping = false;
const interrupt = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${signal}: cleaning up\n`);
  // The run under way then fails as its children go; its own ending waits for this cleanup.
  void cleanup.run().finally(() => process.exit(130));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

const print = (line: string) => process.stdout.write(line + '\n');
print(
  `chaos: ${new Date().toISOString()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
    `node ${process.version}`,
);
let exitCode = 0;
try {
  const summary = await runChaos(
    {
      rounds,
      pgRounds,
      seed: count('seed', args.seed),
      store,
      mqttUrl: args.mqtt,
      checkpointEveryMs: count('checkpoint-ms', args['checkpoint-ms']),
      feed: {
        pointsPerDevice: feedPoints,
        spikesPerDevice: Math.max(1, Math.floor(feedPoints / 600)),
      },
      print,
    },
    cleanup,
  );
  print('');
  print(summaryText(summary));
  const failed = summary.lost > 0 || !summary.events.equal || summary.outageCrashes.length > 0;
  if (failed) exitCode = 1;
} catch (err) {
  if (!stopping) {
    process.stderr.write(
      `chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  exitCode = 2;
} finally {
  await cleanup.run();
}
process.exit(stopping ? 130 : exitCode);
