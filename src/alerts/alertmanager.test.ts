/**
 * Against a real Alertmanager (Debian `prometheus-alertmanager`), started here as a child process
 * on a free port with a null receiver. A missing program FAILS the run (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Alerting } from './alerting.js';
import { alertSettings } from './config.js';
import { feedItem } from './event-fixtures.js';
import { sleep } from '../timing/sleep.js';

const PROGRAM = process.env.VIGIL_ALERTMANAGER ?? 'prometheus-alertmanager';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL: string;
  status: { state: string };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

describe('Alertmanager sink against a real Alertmanager', () => {
  let dir: string;
  let am: ChildProcess;
  let base: string;
  let output = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-am-'));
    await writeFile(
      join(dir, 'alertmanager.yml'),
      'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n',
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    am = spawn(
      PROGRAM,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const spawnError = new Promise<never>((_, reject) =>
      am.once('error', (error) =>
        reject(
          new Error(
            `cannot start ${PROGRAM} (${error.message}): install the Debian package ` +
              'prometheus-alertmanager (as .ci/run does) or set VIGIL_ALERTMANAGER',
          ),
        ),
      ),
    );
    am.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    am.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await Promise.race([
      spawnError,
      waitFor('Alertmanager to be ready', async () => {
        if (am.exitCode !== null) throw new Error(`alertmanager exited: ${output}`);
        return (await fetch(`${base}/-/ready`)).ok ? true : undefined;
      }),
    ]);
  });

  after(async () => {
    am?.kill('SIGTERM');
    if (am && am.exitCode === null) await new Promise((r) => am.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  });

  async function alertsOf(device: string): Promise<AmAlert[]> {
    const filter = encodeURIComponent(`device="${device}"`);
    const response = await fetch(`${base}/api/v2/alerts?filter=${filter}`);
    assert.equal(response.status, 200);
    return (await response.json()) as AmAlert[];
  }

  it('fires an incident with its labels and annotations, re-sends it, and resolves it on close', async () => {
    const registry = new Registry();
    const deadPort = await freePort(); // nothing listens: every POST there fails
    const alerting = new Alerting({
      settings: alertSettings(
        {
          public_url: 'http://vigil.test:8080/',
          grouping_window_ms: 300_000,
          flush_timeout_ms: 2_000,
          alertmanager: {
            urls: [base, `http://127.0.0.1:${deadPort}`],
            resend_interval_ms: 300,
            timeout_ms: 2_000,
            labels: { team: 'plant-ops' },
          },
        },
        'http://unused',
      ),
      registry,
      log: () => {},
    });
    const start = Date.now() - 120_000;
    const temp = { device: 'pump-7', metric: 'temperature', start };
    const pressure = { device: 'pump-7', metric: 'pressure', start: start + 1000, score: 0.9 };
    try {
      alerting.handle(feedItem(temp, 'open', start + 5000));
      const [alert] = await waitFor('the alert', async () => {
        const found = await alertsOf('pump-7');
        return found.length > 0 ? found : undefined;
      });
      assert.ok(alert);
      const incident = `pump-7|${start}`;
      assert.deepEqual(alert.labels, {
        alertname: 'VigilAnomaly',
        device: 'pump-7',
        metric: 'temperature',
        strategy: 'default@1',
        severity: 'alert',
        incident,
        team: 'plant-ops',
      });
      assert.equal(alert.status.state, 'active');
      assert.equal(alert.startsAt, new Date(start).toISOString(), 'startsAt is event time');
      assert.ok(Date.parse(alert.endsAt) > Date.now(), 'firing: endsAt in the future');
      const eventId = `pump-7/temperature|default@1|${start}`;
      assert.equal(
        alert.generatorURL,
        `http://vigil.test:8080/#/incidents/${encodeURIComponent(incident)}`,
      );
      assert.equal(alert.annotations.summary, 'pump-7: alert anomaly in temperature');
      assert.equal(alert.annotations.observed, '32.45');
      assert.equal(alert.annotations.expected, '85.76');
      assert.equal(alert.annotations.expected_band, '38.06 … 104.9');
      assert.equal(alert.annotations.score, '0.594');
      assert.equal(alert.annotations.dashboard, alert.generatorURL);
      assert.equal(
        alert.annotations.event,
        `http://vigil.test:8080/#/events/${encodeURIComponent(eventId)}`,
      );
      assert.match(
        alert.annotations.description ?? '',
        /^alert by default@1: temperature = 32.45 \(expected 85.76, normal 38.06 … 104.9\); evidence: extreme-value\/lower-tail 0.594/,
      );

      // Re-sent while firing: Alertmanager's updatedAt moves on.
      await waitFor('a re-send', async () => {
        const [again] = await alertsOf('pump-7');
        return again && again.updatedAt !== alert.updatedAt ? true : undefined;
      });

      // A second metric of the same device joins the incident: still one alert.
      alerting.handle(feedItem(pressure, 'open', start + 6000));
      const joined = await waitFor('the joined metric', async () => {
        const found = await alertsOf('pump-7');
        return found[0]?.annotations.metrics === 'pressure,temperature' ? found : undefined;
      });
      assert.equal(joined.length, 1);
      assert.equal(joined[0]!.annotations.score, '0.9', 'the strongest member speaks');

      // Severity upgrade: the alert with severity=alert ends, one with severity=severe fires.
      alerting.handle(feedItem({ ...pressure, level: 'severe' }, 'update', start + 7000));
      await waitFor('the severe alert alone', async () => {
        const found = await alertsOf('pump-7');
        return found.length === 1 && found[0]!.labels.severity === 'severe' ? true : undefined;
      });

      // Both events close: the incident resolves and leaves the active alerts.
      alerting.handle(feedItem(temp, 'close', start + 9000, start + 8000));
      alerting.handle(
        feedItem({ ...pressure, level: 'severe' }, 'close', start + 9500, start + 8500),
      );
      await waitFor('the resolve', async () =>
        (await alertsOf('pump-7')).length === 0 ? true : undefined,
      );

      const metrics = await registry.getSingleMetricAsString('vigil_alerts_failed_total');
      assert.match(
        metrics,
        /vigil_alerts_failed_total\{sink="alertmanager",kind="alertmanager"\} [1-9]/,
      );
      const sent = await registry.getSingleMetricAsString('vigil_alerts_sent_total');
      assert.match(
        sent,
        /vigil_alerts_sent_total\{sink="alertmanager",kind="alertmanager"\} [1-9]/,
      );
    } finally {
      await alerting.close();
    }
    assert.equal(output.includes('level=error') && /api\/v2/.test(output), false, output);
  });

  it('resolves with the event end when the event time is in the past', async () => {
    const alerting = new Alerting({
      settings: alertSettings(
        { alertmanager: { urls: [base], resend_interval_ms: 10_000 } },
        'http://vigil.test',
      ),
      registry: new Registry(),
      log: () => {},
    });
    const start = Date.now() - 3_600_000;
    const e = { device: 'old-pump', metric: 'flow', start };
    try {
      alerting.handle(feedItem(e, 'open', start));
      await waitFor('the alert', async () =>
        (await alertsOf('old-pump')).length === 1 ? true : undefined,
      );
      alerting.handle(feedItem(e, 'close', start + 60_000, start + 30_000));
      await waitFor('the resolve', async () =>
        (await alertsOf('old-pump')).length === 0 ? true : undefined,
      );
    } finally {
      await alerting.close();
    }
  });
});
