/**
 * The MQTT crash test's victim: an engine on a PGlite data directory with the MQTT subscriber
 * connected to `url` (subscription `raw/+device`, compact payloads), running until killed.
 * Prints `ready` once subscribed.
 * Usage: node crash-subscriber.js <dataDir> <spoolDir> <url>
 */
import { createEngine } from '../../../engine/create-engine.js';
import { openStore } from '../../../store/open-store.js';
import { startMqttSubscriber } from '../subscriber.js';

async function main(): Promise<void> {
  const [dataDir, spoolDir, url] = process.argv.slice(2);
  if (dataDir === undefined || spoolDir === undefined || url === undefined) {
    throw new Error('usage: crash-subscriber <dataDir> <spoolDir> <url>');
  }
  const store = await openStore({ dataDir });
  const engine = await createEngine({ store, spoolDir, checkpointEveryMs: 200, workers: 0 });
  const subscriber = await startMqttSubscriber({
    engine,
    config: {
      url,
      clientId: 'vigil-crash',
      subscriptions: [{ topic: 'raw/+device', format: 'compact' }],
    },
  });
  await subscriber.ready();
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
