/**
 * deploy/ against the real tools and the real service: `promtool check metrics` on the /metrics
 * of a running `vigil serve` that has ingested points (demo, HTTP and remote-write), `promtool
 * check rules|test rules|check config` on deploy/prometheus, and every metric the rules and the
 * Grafana dashboard query is one that /metrics exposes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compressSync } from 'snappy';
import { parse as parseYaml } from 'yaml';
import { encodeWriteRequest } from '../ingest/remote-write/decode.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, '..', 'cli', 'main.js');
const DEPLOY = path.resolve(HERE, '..', '..', 'deploy');
const RULES = path.join(DEPLOY, 'prometheus', 'vigil-rules.yml');

function promtool(args: string[], input?: string) {
  const r = spawnSync('promtool', args, {
    cwd: path.join(DEPLOY, 'prometheus'),
    input,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`promtool ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Metric families from `# TYPE` lines, with a histogram's _bucket/_sum/_count series names. */
function families(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m?.[1]) continue;
    names.add(m[1]);
    if (m[2] === 'histogram' || m[2] === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${suffix}`);
    }
  }
  return names;
}

/** Metric names in a PromQL expression (Vigil's and Node's; not functions, labels or rules). */
function queriedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\b((?:vigil|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1] ?? '');
}

describe('deploy/ artefacts against a running vigil serve', () => {
  let child: ChildProcess;
  let dir: string;
  let metricsText = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-artefacts-'));
    child = spawn(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--grpc-port', '0', '--data-dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let url: string | undefined;
    for await (const line of createInterface({ input: child.stdout! })) {
      const entry = JSON.parse(line) as { msg?: string; http?: string };
      if (entry.msg === 'vigil serving') {
        url = entry.http;
        break;
      }
    }
    assert.ok(url, `no "vigil serving" line; stderr: ${stderr}`);
    child.stdout?.resume();

    // A shadow run, so its metrics are on /metrics for promtool too.
    const shadow = await fetch(`${url}/v1/shadows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        yaml: 'name: default\nversion: 2\ndescription: artefacts candidate\ndetector:\n  kind: ewzscore\nthreshold:\n  kind: static\n',
      }),
    });
    assert.equal(shadow.status, 201, await shadow.text());
    const t0 = Date.UTC(2026, 2, 1);
    const ingest = await fetch(`${url}/v1/points`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        Array.from({ length: 50 }, (_, i) => ({
          timestamp: t0 + i * 1000,
          device_id: 'artefacts',
          metrics: { v: i % 7 },
        })),
      ),
    });
    assert.equal(ingest.status, 200);
    const write = await fetch(`${url}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: compressSync(
        Buffer.from(
          encodeWriteRequest({
            timeseries: [
              {
                labels: [
                  { name: '__name__', value: 'up' },
                  { name: 'instance', value: 'artefacts:9100' },
                ],
                samples: [{ value: 1, timestamp: t0 }],
              },
            ],
          }),
        ),
      ),
    });
    assert.equal(write.status, 204);
    // The demo pumps and the points above get scored: wait for detection latency samples.
    for (let i = 0; i < 100; i++) {
      metricsText = await (await fetch(`${url}/metrics`)).text();
      if (
        /^vigil_detection_latency_seconds_count [1-9]/m.test(metricsText) &&
        /^vigil_shadow_points_total\{[^}]*\} [1-9]/m.test(metricsText)
      ) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("Vigil's /metrics passes promtool check metrics", () => {
    assert.match(metricsText, /^vigil_ingest_points_total\{protocol="remote_write"/m);
    assert.match(metricsText, /^vigil_detection_latency_seconds_count [1-9]/m);
    assert.match(metricsText, /^vigil_shadow_points_total\{run="1",strategy="default@2"\} [1-9]/m);
    assert.match(metricsText, /^vigil_shadow_events_total\{[^}]*side="candidate"\} \d+/m);
    assert.match(metricsText, /^vigil_shadow_scoring_seconds_per_point\{[^}]*side="active"\}/m);
    const r = promtool(['check', 'metrics'], metricsText);
    assert.equal(r.status, 0, r.output);
    assert.equal(r.output.trim(), '');
  });

  test('the rules pass promtool check rules and their unit tests; the example config is valid', () => {
    const rules = promtool(['check', 'rules', RULES]);
    assert.equal(rules.status, 0, rules.output);
    assert.match(rules.output, /SUCCESS: \d+ rules found/);
    const unit = promtool(['test', 'rules', 'vigil-rules.test.yml']);
    assert.equal(unit.status, 0, unit.output);
    const config = promtool(['check', 'config', 'prometheus.yml']);
    assert.equal(config.status, 0, config.output);
  });

  test('every metric the rules and the dashboard query exists in /metrics', async () => {
    const exposed = families(metricsText);
    const rules = parseYaml(await readFile(RULES, 'utf8')) as {
      groups: { rules: { expr: string }[] }[];
    };
    const ruleExprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
    const dashboard = JSON.parse(
      await readFile(path.join(DEPLOY, 'grafana', 'vigil-dashboard.json'), 'utf8'),
    ) as {
      panels: { targets?: { expr: string }[] }[];
      templating: { list: { definition?: string }[] };
    };
    const panelExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    assert.ok(panelExprs.length >= 10, `${panelExprs.length} queries`);
    const variableExprs = dashboard.templating.list.flatMap((v) => v.definition ?? []);
    const missing = [...ruleExprs, ...panelExprs, ...variableExprs]
      .flatMap(queriedMetrics)
      .filter((name) => !exposed.has(name));
    assert.deepEqual([...new Set(missing)], []);
    // And the dashboard covers the operational signals the issue asks for.
    const all = panelExprs.join('\n');
    for (const name of [
      'vigil_ingest_points_total',
      'vigil_engine_queued_points',
      'vigil_detection_latency_seconds_bucket',
      'vigil_store_write_errors_total',
      'vigil_checkpoint_age_seconds',
      'vigil_strategy_reload_failures_total',
    ]) {
      assert.ok(all.includes(name), `dashboard does not query ${name}`);
    }
  });
});
