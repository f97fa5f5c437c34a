/**
 * A private `mosquitto` on a free port with a config file of its own in `dir` (the machine's
 * broker and its settings stay untouched), for tests and benches that need other settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../../../net/free-port.js';

/** The broker settings docs/integrations-influx-mqtt.md gives for a fleet. */
export const FLEET_BROKER_SETTINGS: readonly string[] = [
  'max_inflight_messages 1000',
  'max_queued_messages 1000000',
  'max_queued_bytes 0',
];

export interface PrivateMosquitto {
  readonly url: string;
  stop(): void;
}

/** Start it and wait until it takes connections. */
export async function startPrivateMosquitto(
  dir: string,
  settings: readonly string[],
): Promise<PrivateMosquitto> {
  const port = await freePort();
  const conf = path.join(dir, `mosquitto-${port}.conf`);
  await writeFile(
    conf,
    [
      // Run as root, mosquitto would switch to its own user and not read the private temp dir.
      'user root',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      ...settings,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 });
      await c.endAsync();
      return { url, stop: () => child.kill('SIGTERM') };
    } catch (err) {
      if (i > 50) {
        child.kill('SIGTERM');
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
