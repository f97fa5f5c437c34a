/**
 * deploy/kubernetes: every object is valid against the Kubernetes OpenAPI schemas
 * (kubernetes-models) and the Prometheus Operator CRD schemas (@kubernetes-models/prometheus-
 * operator), offline; `kubectl kustomize` builds the kustomization; the PrometheusRule carries
 * exactly deploy/prometheus/vigil-rules.yml; every pod runs non-root on a read-only root
 * filesystem with probes on /healthz and /readyz; references between objects resolve; ingest
 * pods run `--role ingest` (a Deployment the HPA scales) and scorers `--role scorer` (a
 * StatefulSet), both with NATS and the shared database; and the mounted configuration,
 * strategies and tokens file are accepted by Vigil's own loaders.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { resolveSettings } from '../cli/serve-settings.js';
import { loadStartStrategies } from '../cli/serve-strategies.js';
import { parseTokensFile } from '../auth/tokens-file.js';
import { hashSecret } from '../auth/token-set.js';
import {
  DEPLOY_DIR,
  documentedVariables,
  isPinnedImage,
  isRecord,
  serveFlags,
  yamlDocuments,
  yamlFiles,
} from './deploy-files.js';

const K8S_DIR = path.join(DEPLOY_DIR, 'kubernetes');

/** A model class: validates its data against the schema of its kind, throwing on a violation. */
type Model = new (data: never) => { validate(): void };

const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  file: string;
}

/** Pod templates of the workloads, with the file they are in. */
interface PodTemplate {
  owner: string;
  labels: Record<string, string>;
  spec: PodSpec;
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: SecretKeyRef } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface SecretKeyRef {
  name: string;
  key: string;
}
interface PodSpec {
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type?: string };
  };
  containers: Container[];
  volumes?: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    emptyDir?: object;
  }[];
}

let objects: K8sObject[] = [];

function named(kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `no ${kind} named ${name} in deploy/kubernetes`);
  return found;
}

function podTemplates(): PodTemplate[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((o) => {
      const template = o.spec?.template as { metadata: { labels: Record<string, string> } } & {
        spec: PodSpec;
      };
      return {
        owner: `${o.kind}/${o.metadata.name}`,
        labels: template.metadata.labels,
        spec: template.spec,
      };
    });
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The object as the file holds it (without the file name this test adds). */
function withoutFile(o: K8sObject): Omit<K8sObject, 'file'> {
  const copy: Partial<K8sObject> = { ...o };
  delete copy.file;
  return copy as Omit<K8sObject, 'file'>;
}

/** The file content of a ConfigMap or Secret key. */
function dataOf(o: K8sObject, key: string): string {
  const value = o.data?.[key] ?? o.stringData?.[key];
  assert.ok(value !== undefined, `${o.kind}/${o.metadata.name} has no key ${key}`);
  return value;
}

before(async () => {
  for (const file of await yamlFiles(K8S_DIR)) {
    if (path.basename(file) === 'kustomization.yaml') continue;
    for (const doc of await yamlDocuments(file)) {
      assert.ok(isRecord(doc), `${file}: a document that is not an object`);
      objects.push({ ...(doc as unknown as K8sObject), file: path.basename(file) });
    }
  }
  objects = objects.sort((a, b) => a.file.localeCompare(b.file));
});

describe('deploy/kubernetes', () => {
  test('every object is valid against the schema of its apiVersion and kind', () => {
    assert.ok(objects.length >= 14, `only ${objects.length} objects`);
    for (const o of objects) {
      const model = MODELS[`${o.apiVersion}/${o.kind}`];
      assert.ok(model, `${o.file}: no schema for ${o.apiVersion} ${o.kind}`);
      assert.doesNotThrow(
        () => new model(withoutFile(o) as never).validate(),
        `${o.file}: ${o.kind}/${o.metadata.name}`,
      );
    }
  });

  test('the schemas refuse a broken object (the validation is not vacuous)', () => {
    const statefulSet = structuredClone(named('StatefulSet', 'vigil-scorer'));
    const data = withoutFile(statefulSet);
    const spec = data.spec as { replicas: unknown; template: { spec: PodSpec } };
    spec.replicas = 'two';
    assert.throws(() => new StatefulSet(data as never).validate(), /replicas/);
    spec.replicas = 1;
    (spec.template.spec.containers[0] as unknown as Record<string, unknown>).image = 10001;
    assert.throws(() => new StatefulSet(data as never).validate(), /image/);
  });

  test('the kind of each workload the issue asks for is there', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const want of [
      'Deployment/vigil-ingest',
      'HorizontalPodAutoscaler/vigil-ingest',
      'StatefulSet/vigil-scorer',
      'PodDisruptionBudget/vigil-scorer',
      'PodDisruptionBudget/vigil-ingest',
      'ConfigMap/vigil-strategies',
      'Secret/vigil-tokens',
      'ServiceMonitor/vigil',
      'PrometheusRule/vigil',
    ]) {
      assert.ok(kinds.includes(want), `missing ${want}`);
    }
  });

  test('every namespaced object is in the vigil namespace', () => {
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
      assert.equal(o.metadata.namespace, 'vigil', `${o.file}: ${o.kind}/${o.metadata.name}`);
    }
  });

  test('kubectl kustomize builds the kustomization from files that all exist', async () => {
    const kustomization = parseYaml(
      await readFile(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8'),
    ) as { resources: string[] };
    const files = new Set(objects.map((o) => o.file));
    for (const r of kustomization.resources) assert.ok(files.has(r), `${r} is not a manifest`);
    // Every manifest is applied: none is left waiting.
    const left = [...files].filter((f) => !kustomization.resources.includes(f)).sort();
    assert.deepEqual(left, []);
    for (const f of ['ingest-deployment.yaml', 'ingest-hpa.yaml', 'scorer-statefulset.yaml']) {
      assert.ok(kustomization.resources.includes(f), `the kustomization applies ${f}`);
    }
    const r = spawnSync('kubectl', ['kustomize', K8S_DIR], { encoding: 'utf8' });
    assert.equal(r.status, 0, `kubectl kustomize: ${r.stderr}`);
    const built = r.stdout.split(/^---$/m).map((d) => parseYaml(d) as K8sObject);
    assert.equal(
      built.length,
      objects.filter((o) => kustomization.resources.includes(o.file)).length,
    );
    const workloads = built
      .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();
    assert.deepEqual(workloads, ['Deployment/vigil-ingest', 'StatefulSet/vigil-scorer']);
    assert.ok(
      built.some((o) => o.kind === 'HorizontalPodAutoscaler'),
      'the HPA is built',
    );
  });

  test('the PrometheusRule carries exactly the groups of deploy/prometheus/vigil-rules.yml', async () => {
    const source = parseYaml(
      await readFile(path.join(DEPLOY_DIR, 'prometheus', 'vigil-rules.yml'), 'utf8'),
    ) as { groups: unknown[] };
    const rule = named('PrometheusRule', 'vigil');
    assert.deepEqual(
      rule.spec?.groups,
      source.groups,
      'deploy/kubernetes/prometheusrule.yaml is out of date; its spec.groups should be:\n' +
        stringify({ groups: source.groups }, { lineWidth: 0 }),
    );
  });

  test('every pod runs as non-root, read-only, without capabilities, under RuntimeDefault seccomp', () => {
    const templates = podTemplates();
    assert.equal(templates.length, 2);
    for (const t of templates) {
      assert.equal(t.spec.securityContext?.runAsNonRoot, true, t.owner);
      assert.equal(t.spec.securityContext?.runAsUser, 10001, t.owner);
      assert.equal(t.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', t.owner);
      for (const c of t.spec.containers) {
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, t.owner);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, t.owner);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], t.owner);
        // Only /data and /tmp are written; both are volumes.
        const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
        assert.ok(mounts.has('/data') && mounts.has('/tmp'), `${t.owner}: /data and /tmp`);
        assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, t.owner);
        assert.ok(c.resources?.limits?.memory, t.owner);
      }
    }
  });

  test('liveness asks /healthz and readiness /readyz on the http port', () => {
    for (const t of podTemplates()) {
      for (const c of t.spec.containers) {
        assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'http' }, t.owner);
        assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http' }, t.owner);
      }
    }
  });

  test('every image is pinned to a version', () => {
    for (const t of podTemplates()) {
      for (const c of t.spec.containers)
        assert.ok(isPinnedImage(c.image), `${t.owner}: ${c.image}`);
    }
  });

  test('every environment variable set is one docs/operations.md documents', async () => {
    const documented = await documentedVariables();
    for (const t of podTemplates()) {
      for (const c of t.spec.containers) {
        for (const e of c.env ?? []) assert.ok(documented.has(e.name), `${t.owner}: ${e.name}`);
      }
    }
  });

  test('volumes, secret keys, selectors and the HPA target resolve to objects that exist', () => {
    const templates = podTemplates();
    for (const t of templates) {
      const volumes = new Set((t.spec.volumes ?? []).map((v) => v.name));
      for (const v of t.spec.volumes ?? []) {
        if (v.configMap) named('ConfigMap', v.configMap.name);
        if (v.secret) named('Secret', v.secret.secretName);
      }
      for (const c of t.spec.containers) {
        for (const m of c.volumeMounts ?? []) {
          // StatefulSet volumes may come from volumeClaimTemplates.
          if (!volumes.has(m.name)) assert.equal(m.name, 'data', `${t.owner}: volume ${m.name}`);
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) dataOf(named('Secret', ref.name), ref.key);
        }
      }
    }
    for (const o of objects.filter((x) => ['Service', 'PodDisruptionBudget'].includes(x.kind))) {
      const selector = (o.spec?.selector as { matchLabels?: Record<string, string> }) ?? {};
      const labels = o.kind === 'Service' ? (o.spec?.selector as Record<string, string>) : {};
      const wanted = o.kind === 'Service' ? labels : (selector.matchLabels ?? {});
      assert.ok(
        templates.some((t) => selects(wanted, t.labels)),
        `${o.kind}/${o.metadata.name} selects no pod`,
      );
    }
    const hpa = named('HorizontalPodAutoscaler', 'vigil-ingest');
    const target = hpa.spec?.scaleTargetRef as { kind: string; name: string };
    named(target.kind, target.name);
    const monitor = named('ServiceMonitor', 'vigil');
    const wanted = (monitor.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
    const services = objects.filter(
      (o) => o.kind === 'Service' && selects(wanted, o.metadata.labels ?? {}),
    );
    assert.deepEqual(
      services.map((s) => s.metadata.name).sort(),
      ['vigil', 'vigil-scorer'],
      "the ServiceMonitor scrapes the API Service and the scorers' Service",
    );
    // Between them, every Vigil pod is scraped.
    for (const t of templates) {
      assert.ok(
        services.some((s) => selects(s.spec?.selector as Record<string, string>, t.labels)),
        `${t.owner} is not scraped`,
      );
    }
    const endpoint = (
      monitor.spec?.endpoints as { authorization: { credentials: SecretKeyRef } }[]
    )[0];
    assert.ok(endpoint);
    dataOf(
      named('Secret', endpoint.authorization.credentials.name),
      endpoint.authorization.credentials.key,
    );
  });

  test('ingest pods run --role ingest in the HPA-scaled Deployment, scorers --role scorer in the StatefulSet', () => {
    const roleOf = (t: PodTemplate) => serveFlags(t.spec.containers[0]?.args ?? []).role;
    const templates = podTemplates();
    assert.deepEqual(
      templates.map((t) => [t.owner, roleOf(t), t.labels['app.kubernetes.io/component']]).sort(),
      [
        ['Deployment/vigil-ingest', 'ingest', 'ingest'],
        ['StatefulSet/vigil-scorer', 'scorer', 'scorer'],
      ],
    );
    // The HPA scales the ingest Deployment, which leaves its replica count to the HPA.
    const hpa = named('HorizontalPodAutoscaler', 'vigil-ingest');
    assert.deepEqual(hpa.spec?.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'vigil-ingest',
    });
    assert.ok((hpa.spec?.minReplicas as number) >= 2, 'at least two ingest nodes');
    assert.equal(named('Deployment', 'vigil-ingest').spec?.replicas, undefined);
    assert.ok((named('StatefulSet', 'vigil-scorer').spec?.replicas as number) >= 2);
    // The API Service sends clients to ingest nodes only: scorers take no points.
    const api = named('Service', 'vigil').spec?.selector as Record<string, string>;
    for (const t of templates) {
      assert.equal(selects(api, t.labels), roleOf(t) === 'ingest', `Service/vigil: ${t.owner}`);
      const ports = (t.spec.containers[0]?.ports ?? []).map((p) => p.name).sort();
      assert.deepEqual(ports, roleOf(t) === 'ingest' ? ['grpc', 'http'] : ['http'], t.owner);
    }
    // Each PodDisruptionBudget covers the pods of one role.
    for (const role of ['ingest', 'scorer']) {
      const pdb = named('PodDisruptionBudget', `vigil-${role}`);
      const selector = (pdb.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
      assert.deepEqual(
        templates.filter((t) => selects(selector, t.labels)).map(roleOf),
        [role],
        `PodDisruptionBudget/vigil-${role}`,
      );
    }
  });

  test('Vigil accepts the mounted configuration, strategies and tokens file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-k8s-'));
    try {
      const config = path.join(dir, 'vigil.yaml');
      await writeFile(config, dataOf(named('ConfigMap', 'vigil-config'), 'vigil.yaml'));
      const strategiesDir = path.join(dir, 'strategies');
      await writeFile(path.join(dir, 'tokens.yaml'), '');
      const strategies = named('ConfigMap', 'vigil-strategies');
      await mkdir(strategiesDir);
      for (const [file, text] of Object.entries(strategies.data ?? {})) {
        await writeFile(path.join(strategiesDir, file), text);
      }
      const loaded = await loadStartStrategies(strategiesDir);
      assert.deepEqual(
        loaded.fromDir.map((s) => s.strategy.name),
        ['pumps'],
      );
      const tokensText = dataOf(named('Secret', 'vigil-tokens'), 'tokens.yaml');
      const tokens = parseTokensFile(tokensText, 'tokens.yaml');
      // The ServiceMonitor's bearer secret is one the tokens file grants `read`.
      const scrape = hashSecret(dataOf(named('Secret', 'vigil-scrape'), 'token'));
      const scraper = tokens.find((t) => t.sha256 === scrape);
      assert.ok(scraper?.scopes.includes('read'), 'the scrape token has the read scope');
      await writeFile(path.join(dir, 'tokens.yaml'), tokensText);
      const database = dataOf(named('Secret', 'vigil-database'), 'url');
      for (const t of podTemplates()) {
        // The container's args and environment (secrets resolved), its paths moved into the
        // temp dir, under the image's own environment (Dockerfile ENV).
        const container = t.spec.containers[0];
        assert.ok(container);
        const env: NodeJS.ProcessEnv = { VIGIL_HOST: '0.0.0.0', VIGIL_DATA_DIR: '/data' };
        for (const e of container.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          env[e.name] = ref ? dataOf(named('Secret', ref.name), ref.key) : e.value;
        }
        env.VIGIL_CONFIG = config;
        env.VIGIL_STRATEGIES = strategiesDir;
        env.VIGIL_AUTH_TOKENS = path.join(dir, 'tokens.yaml');
        const flags = serveFlags(container.args ?? []);
        const settings = await resolveSettings(flags as never, false, env);
        assert.equal(settings.host, '0.0.0.0', t.owner);
        assert.equal(settings.port, 8080, t.owner);
        assert.equal(settings.dataDir, '/data', t.owner);
        assert.equal(settings.demo, false, t.owner);
        assert.equal(settings.insecure, false, t.owner);
        // Both roles: the NATS server, the shared database and the one stream layout.
        assert.equal(settings.cluster.role, t.labels['app.kubernetes.io/component'], t.owner);
        assert.equal(settings.cluster.nats, 'nats://nats.nats:4222', t.owner);
        assert.equal(settings.databaseUrl, database, t.owner);
        assert.equal(settings.cluster.stream, 'VIGIL_POINTS', t.owner);
        assert.equal(settings.cluster.partitions, 64, t.owner);
      }
      // Without the NATS URL a cluster role refuses to start: the check above is not vacuous.
      await assert.rejects(
        resolveSettings({ demo: true, role: 'scorer' }, false, {
          VIGIL_CONFIG: config,
          VIGIL_DATABASE_URL: database,
        }),
        /needs --nats/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
