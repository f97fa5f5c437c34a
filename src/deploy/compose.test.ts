/**
 * deploy/compose: the compose file's structure (services, pinned images, healthchecks behind
 * every `service_healthy`, files that exist behind every bind mount), Vigil as two ingest and two
 * scorer nodes whose commands, variables and configuration file Vigil accepts (role, NATS, the
 * shared TimescaleDB), Prometheus scraping every node, Prometheus's and
 * Alertmanager's configurations pass `promtool`/`amtool`, and Grafana is provisioned with a
 * Prometheus datasource and the dashboard of deploy/grafana.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveSettings } from '../cli/serve-settings.js';
import { compileTopicPattern } from '../ingest/mqtt/topic-pattern.js';
import {
  DEPLOY_DIR,
  documentedVariables,
  isPinnedImage,
  serveFlags,
  yamlFiles,
} from './deploy-files.js';

const COMPOSE_DIR = path.join(DEPLOY_DIR, 'compose');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  read_only?: boolean;
  tmpfs?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

let compose: Compose;

/** The Vigil services, by the role their command gives them. */
const VIGIL = { ingest: 'vigil-ingest', scorer: 'vigil-scorer' } as const;

/** The host side of a bind mount, resolved against the compose file's directory. */
function bindSource(volume: string): string | undefined {
  const source = volume.split(':')[0] ?? '';
  return source.startsWith('.') ? path.resolve(COMPOSE_DIR, source) : undefined;
}

/** Where a bind mount of a service puts a host path, as [host, container]. */
function mounts(service: string): [string, string][] {
  return (compose.services[service]?.volumes ?? [])
    .map((v) => [bindSource(v), v.split(':')[1] ?? ''] as const)
    .filter((m): m is [string, string] => m[0] !== undefined);
}

function tool(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

before(async () => {
  compose = parseYaml(await readFile(path.join(COMPOSE_DIR, 'compose.yaml'), 'utf8')) as Compose;
});

describe('deploy/compose', () => {
  test('every YAML file of the directory parses', async () => {
    const files = await yamlFiles(COMPOSE_DIR);
    assert.ok(files.length >= 6);
    for (const f of files) assert.doesNotThrow(() => parseYaml(readFileSync(f, 'utf8')), f);
  });

  test('runs Vigil with NATS, TimescaleDB, Prometheus, Alertmanager, Grafana and Mosquitto', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'alertmanager',
      'grafana',
      'mosquitto',
      'nats',
      'prometheus',
      'timescaledb',
      'vigil-ingest',
      'vigil-scorer',
    ]);
    const nats = compose.services.nats;
    assert.ok(nats?.command?.includes('-js'), 'NATS with JetStream');
    assert.match(compose.services.timescaledb?.image ?? '', /^timescale\/timescaledb:/);
  });

  test('every image is pinned to a version; Vigil is built from the Dockerfile', async () => {
    for (const [name, s] of Object.entries(compose.services)) {
      assert.ok(s.image !== undefined && isPinnedImage(s.image), `${name}: ${s.image}`);
    }
    const build = compose.services[VIGIL.ingest]?.build;
    assert.ok(build);
    await stat(path.resolve(COMPOSE_DIR, build.context, build.dockerfile));
    // The scorers run the image the ingest service builds.
    assert.equal(compose.services[VIGIL.scorer]?.image, compose.services[VIGIL.ingest]?.image);
  });

  test('depends_on names services, and service_healthy only those with a healthcheck', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const target = compose.services[dep];
        assert.ok(target, `${name} depends on unknown ${dep}`);
        assert.ok(['service_started', 'service_healthy'].includes(condition), condition);
        if (condition === 'service_healthy') assert.ok(target.healthcheck, `${dep}: healthcheck`);
      }
    }
    for (const name of Object.values(VIGIL)) {
      const deps = compose.services[name]?.depends_on;
      assert.equal(deps?.timescaledb?.condition, 'service_healthy', name);
      assert.equal(deps?.nats?.condition, 'service_healthy', name);
    }
  });

  test('every bind-mounted file exists and every named volume is declared', async () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = bindSource(v);
        if (source !== undefined) await stat(source).catch(() => assert.fail(`${name}: ${v}`));
        else assert.ok(compose.volumes && v.split(':')[0]! in compose.volumes, `${name}: ${v}`);
      }
    }
  });

  test('Vigil runs as two ingest and two scorer nodes, read-only with /data and /tmp writable', () => {
    for (const [role, name] of Object.entries(VIGIL)) {
      const vigil = compose.services[name];
      assert.equal(serveFlags(vigil?.command ?? []).role, role, name);
      assert.equal(vigil?.deploy?.replicas, 2, name);
      assert.equal(vigil?.read_only, true, name);
      assert.deepEqual(vigil?.tmpfs, ['/tmp', '/data'], name);
    }
    // Only ingest nodes take points: they alone publish the API ports, a host port per replica.
    assert.deepEqual(compose.services[VIGIL.ingest]?.ports, [
      '8080-8081:8080',
      '50051-50052:50051',
    ]);
    assert.equal(compose.services[VIGIL.scorer]?.ports, undefined);
  });

  test("Vigil's commands and variables are documented and accepted with its configuration file", async () => {
    const documented = await documentedVariables();
    for (const [role, name] of Object.entries(VIGIL)) {
      const env = compose.services[name]?.environment ?? {};
      for (const variable of Object.keys(env)) assert.ok(documented.has(variable), variable);
      const [config] = mounts(name).filter(([, inside]) => inside === env.VIGIL_CONFIG);
      assert.ok(config, `${name}: VIGIL_CONFIG is a mounted file`);
      // The image's own environment (Dockerfile ENV) under the compose file's.
      const flags = serveFlags(compose.services[name]?.command ?? []);
      const settings = await resolveSettings(flags as never, false, {
        VIGIL_HOST: '0.0.0.0',
        VIGIL_DATA_DIR: '/data',
        ...env,
        VIGIL_CONFIG: config[0],
      });
      assert.equal(settings.host, '0.0.0.0', name);
      assert.equal(settings.insecure, true, name);
      assert.equal(settings.cluster.role, role, name);
      assert.equal(settings.cluster.nats, 'nats://nats:4222', name);
      assert.equal(settings.cluster.partitions, 64, name);
      assert.equal(settings.databaseUrl, 'postgres://vigil:vigil@timescaledb:5432/vigil', name);
      assert.equal(settings.file.mqtt?.url, 'mqtt://mosquitto:1883', name);
      assert.deepEqual(settings.file.alerts?.alertmanager?.urls, ['http://alertmanager:9093']);
      // A shared subscription and no fixed client id: replicas share the topic, not a session.
      assert.equal(settings.file.mqtt?.client_id, undefined);
      for (const s of settings.file.mqtt?.subscriptions ?? []) {
        const pattern = compileTopicPattern(s.topic);
        assert.match(pattern.filter, /^\$share\/vigil\//, s.topic);
      }
    }
  });

  test('promtool accepts the Prometheus configuration with the deploy/prometheus rules beside it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-compose-prom-'));
    try {
      // Lay the files out as the container sees them.
      for (const [host, inside] of mounts('prometheus')) {
        await copyFile(host, path.join(dir, path.basename(inside)));
      }
      const r = tool('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS: 1 rule files found/);
      const prom = parseYaml(await readFile(path.join(dir, 'prometheus.yml'), 'utf8')) as {
        scrape_configs: {
          job_name: string;
          dns_sd_configs?: { names: string[]; type: string; port: number }[];
        }[];
      };
      // Every replica of every Vigil service: each service name resolves to all its replicas.
      const vigil = prom.scrape_configs.find((j) => j.job_name === 'vigil');
      assert.deepEqual(
        (vigil?.dns_sd_configs ?? []).map((d) => [d.names, d.type, d.port]),
        Object.values(VIGIL).map((name) => [[name], 'A', 8080]),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('amtool accepts the Alertmanager configuration', () => {
    const [file] = mounts('alertmanager');
    assert.ok(file);
    const r = tool('amtool', ['check-config', file[0]]);
    assert.equal(r.status, 0, r.output);
  });

  test('Mosquitto listens on 1883 and Vigil subscribes there', async () => {
    const [conf] = mounts('mosquitto');
    assert.ok(conf);
    const text = await readFile(conf[0], 'utf8');
    assert.match(text, /^listener 1883 0\.0\.0\.0$/m);
    assert.ok(compose.services.mosquitto?.ports?.includes('1883:1883'));
  });

  test('Grafana is provisioned with the Prometheus service and the deploy/grafana dashboard', async () => {
    const grafana = mounts('grafana');
    const provisioning = grafana.find(([, inside]) => inside === '/etc/grafana/provisioning');
    const dashboard = grafana.find(([host]) => host.endsWith('vigil-dashboard.json'));
    assert.ok(provisioning && dashboard);
    const ds = parseYaml(
      await readFile(path.join(provisioning[0], 'datasources', 'prometheus.yaml'), 'utf8'),
    ) as { datasources: { type: string; url: string }[] };
    assert.deepEqual(
      ds.datasources.map((d) => [d.type, d.url]),
      [['prometheus', 'http://prometheus:9090']],
    );
    const providers = parseYaml(
      await readFile(path.join(provisioning[0], 'dashboards', 'vigil.yaml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    assert.equal(providers.providers[0]?.options.path, path.dirname(dashboard[1]));
    assert.equal(
      path.resolve(dashboard[0]),
      path.join(DEPLOY_DIR, 'grafana', 'vigil-dashboard.json'),
    );
    JSON.parse(await readFile(dashboard[0], 'utf8'));
  });
});
