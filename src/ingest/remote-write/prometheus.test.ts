/**
 * End to end against the real Debian `prometheus`: it scrapes a real `prometheus-node-exporter`
 * and Vigil's own /metrics every second and remote-writes everything to Vigil. The node
 * exporter's series must arrive under device = its `instance` label, be stored and be scored.
 * A small OpenMetrics target declares a unit (`# UNIT`), which must arrive as metadata.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ScoredPoint } from '../../engine/engine.js';
import { startVigil, type RunningVigil } from './running-vigil.js';

/** A port free right now (bind to 0, read, close). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
}

function run(command: string, args: string[]): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => {
    output += `\n${command}: ${err.message}`;
  });
  return { process: child, output: () => output };
}

async function stop(child: Child | undefined): Promise<void> {
  const p = child?.process;
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  context: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      assert.fail(`${what}: not within ${timeoutMs} ms\n${context()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('remote-write from a real Prometheus', () => {
  let vigil: RunningVigil;
  let exporter: Child | undefined;
  let prometheus: Child | undefined;
  let dir: string;
  let promPort: number;
  let nodeInstance: string;
  let openMetrics: Server | undefined;
  const scores: ScoredPoint[] = [];
  let unsubscribe: () => void = () => undefined;

  before(async () => {
    vigil = await startVigil({ units: true });
    // An OpenMetrics target: the only exposition with units (`# UNIT`).
    const omPort = await freePort();
    openMetrics = createHttpServer((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
      });
      response.end(
        [
          '# TYPE bearing_temp_celsius gauge',
          '# UNIT bearing_temp_celsius celsius',
          '# HELP bearing_temp_celsius Bearing temperature.',
          'bearing_temp_celsius 61.5',
          '# EOF',
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((resolve) => openMetrics!.listen(omPort, '127.0.0.1', resolve));
    unsubscribe = vigil.engine.subscribe((item) => {
      if (item.type === 'score' && scores.length < 10_000) scores.push(item.point);
    });
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-prom-'));
    const nodePort = await freePort();
    promPort = await freePort();
    nodeInstance = `127.0.0.1:${nodePort}`;
    exporter = run('prometheus-node-exporter', [
      `--web.listen-address=${nodeInstance}`,
      '--collector.disable-defaults',
      '--collector.loadavg',
      '--collector.meminfo',
      '--collector.cpu',
    ]);
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: node',
      `    static_configs: [{ targets: ["${nodeInstance}"] }]`,
      '  - job_name: bearings',
      `    static_configs: [{ targets: ["127.0.0.1:${omPort}"] }]`,
      '  - job_name: vigil',
      `    static_configs: [{ targets: ["127.0.0.1:${vigil.port}"] }]`,
      'remote_write:',
      `  - url: http://127.0.0.1:${vigil.port}/api/v1/write`,
      '    queue_config:',
      '      batch_send_deadline: 500ms',
      '      max_samples_per_send: 2000',
      '      min_backoff: 100ms',
      '      max_backoff: 1s',
      '    metadata_config:',
      '      send: true',
      '      send_interval: 1s',
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'prometheus.yml'), config);
    prometheus = run('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ]);
  });

  after(async () => {
    unsubscribe();
    await stop(prometheus);
    await stop(exporter);
    await new Promise((resolve) => (openMetrics ? openMetrics.close(resolve) : resolve(undefined)));
    await vigil?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const logs = () =>
    `--- prometheus:\n${prometheus?.output() ?? ''}\n--- node exporter:\n${exporter?.output() ?? ''}`;

  test('node exporter series arrive under device = instance, are stored and scored', async () => {
    const series = await waitFor(
      `series of ${nodeInstance} in the store`,
      45_000,
      async () => {
        const list = await vigil.store.querier.series(nodeInstance);
        const names = list.map((s) => s.metric);
        const wanted = ['node_load1', 'node_memory_MemAvailable_bytes', 'up'];
        const cpu = names.some((n) => /^node_cpu_seconds_total\{cpu="0",mode="idle"\}$/.test(n));
        return wanted.every((w) => names.includes(w)) && cpu ? list : undefined;
      },
      logs,
    );
    assert.ok(series.length > 10, `${series.length} series`);

    // Scored: the live feed carries scores of the node exporter's series by the default strategy.
    const scored = await waitFor(
      'a score of the node exporter series on the live feed',
      20_000,
      async () => scores.find((p) => p.device_id === nodeInstance && p.metric === 'node_load1'),
      logs,
    );
    assert.match(scored.strategy, /^default@\d+$/);
    assert.ok(Number.isFinite(scored.score));
    assert.ok(vigil.engine.stats().scored > 0);

    // Vigil's own /metrics, scraped by Prometheus, came back as device 127.0.0.1:<vigil port>.
    await waitFor(
      "Vigil's own metrics as a device",
      20_000,
      async () => {
        const own = await vigil.store.querier.series(`127.0.0.1:${vigil.port}`);
        return own.some((s) =>
          s.metric.startsWith('vigil_ingest_points_total{protocol="remote_write"'),
        )
          ? true
          : undefined;
      },
      logs,
    );

    // Prometheus itself saw every sample accepted: none failed, none dropped (its own /metrics).
    const text = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
    const total = (name: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    assert.ok(total('prometheus_remote_storage_samples_total') > 0, 'samples sent');
    assert.equal(total('prometheus_remote_storage_samples_failed_total'), 0, 'samples failed');
    assert.equal(total('prometheus_remote_storage_samples_dropped_total'), 0, 'samples dropped');
  });

  test("an OpenMetrics target's unit arrives as metadata and is stored as inferred", async () => {
    const unit = await waitFor(
      'the unit of bearing_temp_celsius from remote-write metadata',
      30_000,
      async () =>
        (await vigil.store.metricUnits.list()).find((u) => u.metric === 'bearing_temp_celsius'),
      logs,
    );
    assert.deepEqual(
      [unit.unit, unit.source, unit.description],
      ['°C', 'metadata', 'Bearing temperature.'],
    );
  });
});
